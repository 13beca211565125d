"""``trader-app serve``: the REST API and the web dashboard over a database of bots (docs/api.md).

Loopback by default. ``TRADER_API__TOKEN`` (never a flag: a command line is visible to every user) guards
every command and, when bound beyond loopback, every request; beyond loopback without it, refused.
"""

from __future__ import annotations

import gc
import ipaddress
import os
from typing import Any

from trader_app.heap import freeze_startup_heap
from trader_core.model import ConfigError

__all__ = ["TOKEN_ENV", "check_bind", "register", "serve_command", "settle_heap"]

TOKEN_ENV = "TRADER_API__TOKEN"  # noqa: S105 - a variable name, not a secret
_MIN_TOKEN = 16
_YOUNG_OBJECTS = 10_000  # the collector's first threshold in the server (700 by default)


def register(sub: Any) -> None:
    """Add ``serve``."""
    serve = sub.add_parser("serve", help="serve the REST API and the web dashboard over a database of bots")
    serve.add_argument("--db", default=os.environ.get("TRADER_DB", "sqlite:///trader.db"), help="database URL")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    serve.set_defaults(handler=lambda args: serve_command(args.db, args.host, args.port))


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, port: int, token: str | None) -> bool:
    """Validate the bind and the token; True when every request needs the token (beyond loopback)."""
    if not 0 < port < 65536:
        raise ConfigError(f"--port must be 1..65535, got {port}")
    if token is not None and len(token) < _MIN_TOKEN:
        raise ConfigError(f"{TOKEN_ENV} is too short: use at least {_MIN_TOKEN} characters")
    if token is not None and not all("!" <= c <= "~" for c in token):
        # HTTP drops a header's surrounding spaces and a browser cannot send other characters: such a token
        # would never match, and every command would be refused as "wrong token".
        raise ConfigError(f"{TOKEN_ENV} must be ASCII letters, digits and punctuation, without spaces "
                          "(as `openssl rand -hex 24` prints): a client could not send it as it is")
    if is_loopback(host):
        return False
    if token is None:
        raise ConfigError(f"refusing to bind {host} beyond loopback without {TOKEN_ENV}")
    return True


def settle_heap() -> None:
    """Keep the collector's full passes off the request path: the objects alive once the app is built
    (modules, tables, compiled code) are frozen out of every collection, and a young collection waits for
    10,000 new objects (a request's rows die by reference count long before). With the defaults, a full
    pass over the server's heap took 50-100 ms every few dozen requests (docs/api.md, benchmark)."""
    freeze_startup_heap()
    gc.set_threshold(_YOUNG_OBJECTS, *gc.get_threshold()[1:])


def serve_command(db: str, host: str, port: int) -> int:
    """Serve until interrupted."""
    import uvicorn

    from trader_adapters.clock import SystemClock
    from trader_app.api import create_app
    from trader_app.api.fleet import Fleet
    from trader_app.api.sources import StoreLlm, StoreReports
    from trader_app.storage import check_url, schema_state

    token = os.environ.get(TOKEN_ENV) or None
    strict = check_bind(host, port, token)
    check_url(db)
    state = schema_state(db)
    if state.status != "head":
        raise ConfigError(f"database schema is at {state.current or 'nothing'}, not {state.head}: "
                          "run trader-app db upgrade")
    fleet = Fleet(db)
    app = create_app(fleet, token, require_token_for_reads=strict, report=StoreReports(fleet.store),
                     llm=StoreLlm(fleet.store, SystemClock().now))
    settle_heap()
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, server_header=False)
    return 0
