"""Helpers for tests: a context manager that runs a sandbox, and ccxt clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from trader_sandbox.sandbox import Sandbox, start_sandbox

__all__ = ["CCXT_OPTIONS", "ccxt_client", "point_ccxt_at", "running_sandbox"]

# Options that keep load_markets to one exchangeInfo call and avoid sapi/fapi/dapi endpoints.
CCXT_OPTIONS: dict[str, Any] = {
    "fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False,
    "warnOnFetchOpenOrdersWithoutSymbol": False,
}


@contextmanager
def running_sandbox(**kwargs: Any) -> Iterator[Sandbox]:
    """Run a sandbox for the ``with`` block (keywords as :func:`start_sandbox`), then stop it."""
    sandbox = start_sandbox(**kwargs)
    try:
        yield sandbox
    finally:
        sandbox.stop()


def point_ccxt_at(exchange: Any, base_url: str) -> Any:
    """Switch a ccxt binance client to sandbox mode, then send every API group to ``base_url`` (the order
    matters: ``set_sandbox_mode`` replaces ``urls['api']``)."""
    production = dict(exchange.urls["api"])
    exchange.set_sandbox_mode(True)
    api = exchange.urls["api"]
    api.update({key: value for key, value in production.items() if key not in api})  # /sapi: no testnet URL
    for key, value in list(api.items()):
        if isinstance(value, str):
            api[key] = base_url + "/" + value.split("/", 3)[3]
    return exchange


def ccxt_client(sandbox: Sandbox, *, asynchronous: bool = False, **config: Any) -> Any:
    """A real ``ccxt.binance`` (or ``ccxt.async_support.binance``) with the sandbox's keys and URL.

    ``config`` is merged over the defaults; its ``options`` over :data:`CCXT_OPTIONS`."""
    if asynchronous:
        import ccxt.async_support as ccxt_async  # type: ignore[import-untyped,unused-ignore]

        cls: Any = ccxt_async.binance
    else:
        import ccxt  # type: ignore[import-untyped,unused-ignore]

        cls = ccxt.binance
    options = {**CCXT_OPTIONS, **config.pop("options", {})}
    merged = {"apiKey": sandbox.api_key, "secret": sandbox.secret, "enableRateLimit": False, "timeout": 10_000,
              **config, "options": options}
    return point_ccxt_at(cls(merged), sandbox.url)
