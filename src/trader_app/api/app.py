"""The Starlette application: JSON endpoints, the token check, JSON errors and the static dashboard.

Reads run in a worker thread (the store is synchronous). Every error is a JSON body ``{"error": ...}``
with a 4xx status; an unexpected failure is a 500 with a one-line message, never a trace.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
from loguru import logger
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from trader_adapters.sql.round_trips import RoundTripFilter
from trader_app.api.fleet import ConflictError, Fleet, NotFoundError
from trader_app.api.openapi import openapi_schema
from trader_app.api.sources import LlmSource, ReportSource, UnavailableLlm, UnavailableReport
from trader_core.model import InvalidValueError, StoreError, Symbol, TraderError, parse_time
from trader_core.model.commands import CommandName

__all__ = ["CSP", "TOKEN_HEADER", "Endpoints", "create_app"]

TOKEN_HEADER = "X-Trader-Token"  # noqa: S105 - a header name, not a secret
_STATIC = Path(__file__).parent / "static"
Handler = Callable[[Request], Awaitable[Response]]


class BadRequestError(ValueError):
    """Bad input (a 400)."""


@attrs.frozen
class Endpoints:
    """The handlers: each takes the request and returns JSON-ready data (run in a worker thread)."""

    fleet: Fleet
    reports: ReportSource
    llms: LlmSource

    def bots(self, _: Request) -> Any:
        """Bot ids."""
        return {"bots": self.fleet.bots()}

    def status(self, request: Request) -> Any:
        """As ``trader-app status --json``, with ``llm_budget``."""
        bot = request.path_params["bot"]
        result = self.fleet.status(bot)
        result["llm_budget"] = self.llms.budget(bot)
        return result

    def section(self, name: str) -> Callable[[Request], Any]:
        """One list of the status (positions, plans, orders)."""
        return lambda request: {name: self.fleet.status(request.path_params["bot"])[name]}

    def trades(self, request: Request) -> Any:
        """Round trips, filtered by symbol and time (as the metrics count them), paged (in the database)."""
        q = request.query_params
        start, end = _range(request)
        # As BASE/QUOTE, any case: "BTCUSDT" or an empty value would match nothing and read as "no trades".
        symbol = None if q.get("symbol") is None else str(Symbol.parse(q["symbol"]))
        where = RoundTripFilter(symbol=symbol, start=start, end=end)
        offset, limit = _int(q.get("offset"), 0, 0, 10**9), _int(q.get("limit"), 100, 1, 1000)
        return self.fleet.trades(request.path_params["bot"], q.get("run"), where, offset, limit)

    def equity_curve(self, request: Request) -> Any:
        """Realized equity and drawdown points (encoded JSON)."""
        return self.fleet.equity(request.path_params["bot"], request.query_params.get("run"))

    def metrics(self, request: Request) -> Any:
        """The report's metrics (404 while not available)."""
        q = request.query_params
        bot = request.path_params["bot"]
        self.fleet.store(bot)
        found = self.reports.metrics(bot, q.get("run"), *_range(request))
        if found is None:
            raise NotFoundError("report metrics are not available")
        return found

    def llm_calls(self, request: Request) -> Any:
        """The latest LLM calls."""
        bot = request.path_params["bot"]
        self.fleet.store(bot)
        return {"calls": self.llms.calls(bot, _int(request.query_params.get("limit"), 50, 1, 500))}

    def llm_trace(self, request: Request) -> Any:
        """One LLM call's trace."""
        found = self.llms.trace(request.path_params["bot"], request.path_params["call_id"])
        if found is None:
            raise NotFoundError("no such LLM trace")
        return found

    def commands(self, request: Request) -> Any:
        """The command queue and audit log."""
        limit = _int(request.query_params.get("limit"), 50, 1, 500)
        return {"commands": self.fleet.commands(request.path_params["bot"], limit)}

    def one_command(self, request: Request) -> Any:
        """One command."""
        return self.fleet.command(request.path_params["bot"], request.path_params["command_id"])

    def send(self, request: Request) -> Any:
        """Queue a command; with ``?wait=N``, wait up to N seconds for the bot's result."""
        body: dict[str, Any] = request.state.body
        bot = request.path_params["bot"]
        # A bad ?wait= is refused before anything is queued: a 400 must mean "not sent", or a script that retries
        # on a 400 would send the command twice.
        _wait_seconds(request)
        try:
            name = CommandName(request.path_params["name"])
        except ValueError:
            raise NotFoundError(f"no command {request.path_params['name']!r}; one of "
                                + ", ".join(n.value for n in CommandName)) from None
        minutes = body.get("minutes")
        if "minutes" in body and (name is not CommandName.PAUSE or not isinstance(minutes, int)
                                  or isinstance(minutes, bool) or minutes <= 0):
            # An explicit null is refused too: it is what a browser sends for a number it could not read
            # ("30 min"), and no minutes means a pause until resumed.
            raise BadRequestError("minutes: a positive integer, with pause only (leave it out to pause until resumed)")
        try:
            return self.fleet.queue(bot, name, minutes)
        except InvalidValueError as exc:  # the command's own bounds (minutes up to a year)
            raise BadRequestError(str(exc)) from None

    async def awaited(self, request: Request, queued: Any) -> Any:
        """With ``?wait=N``: the command once the bot has answered, or as it stands after N seconds. Waits on the
        event loop (a worker thread only for each look), so waiting clients cannot use up the worker threads."""
        wait = _wait_seconds(request)
        if wait is None:
            return queued
        deadline = time.monotonic() + wait
        bot = request.path_params["bot"]
        while queued["status"] == "pending" and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            try:
                queued = await run_in_threadpool(self.fleet.command, bot, queued["command_id"])
            except (StoreError, NotFoundError) as exc:
                # The command is queued: an error status would read as "not sent" and a retry would send it
                # twice. The answer is the command as last seen (pending); its log says how it ended.
                logger.warning("api: stopped waiting for {}: {}", queued["command_id"], exc)
                break
        return queued

    def schema(self, _: Request) -> Any:
        """The OpenAPI schema."""
        return openapi_schema()


def create_app(fleet: Fleet, token: str | None, *, require_token_for_reads: bool = False,
               report: ReportSource | None = None, llm: LlmSource | None = None) -> ASGIApp:
    """The app over ``fleet``; ``token`` guards commands (and every request with ``require_token_for_reads``)."""
    api = Endpoints(fleet, report or UnavailableReport(), llm or UnavailableLlm())

    def authorised(request: Request) -> bool:
        given = request.headers.get(TOKEN_HEADER, "")
        return token is not None and hmac.compare_digest(given.encode(), token.encode())

    def endpoint(func: Callable[[Request], Any], *, write: bool = False,
                 then: Callable[[Request, Any], Awaitable[Any]] | None = None) -> Handler:
        async def handle(request: Request) -> Response:
            if (write or require_token_for_reads) and not authorised(request):
                why = f"missing or wrong {TOKEN_HEADER}" if token else "no token is configured (TRADER_API__TOKEN)"
                return _error(401, f"unauthorised: {why}")
            try:
                try:
                    body = await request.json() if write and await request.body() else {}
                except ValueError as exc:  # form data (curl -d minutes=5), bad UTF-8, broken JSON
                    raise BadRequestError(f"the body is not JSON ({exc}): send a JSON object such as "
                                          '{"minutes": 30}, or no body') from None
                if not isinstance(body, dict):
                    raise BadRequestError("the body must be a JSON object")
                request.state.body = body
                result = await run_in_threadpool(func, request)
                return _json(result if then is None else await then(request, result))
            except (NotFoundError, ConflictError) as exc:
                return _error(404 if isinstance(exc, NotFoundError) else 409, str(exc))
            except (BadRequestError, InvalidValueError, ValueError) as exc:
                return _error(400, str(exc))
            except StoreError as exc:
                # The detail names the database (its URL, its file): the server's log has it, the answer not.
                logger.warning("api: the store failed: {}", exc)
                return _error(503, "the store failed (the server's log says why)")
            except TraderError as exc:
                return _error(400, str(exc))
        return handle

    b = "/api/v1/bots/{bot}"
    routes = [
        Route("/", _index),
        Route("/openapi.json", endpoint(api.schema)),
        Route("/api/v1/bots", endpoint(api.bots)),
        Route(b + "/status", endpoint(api.status)),
        Route(b + "/positions", endpoint(api.section("positions"))),
        Route(b + "/plans", endpoint(api.section("plans"))),
        Route(b + "/orders", endpoint(api.section("orders"))),
        Route(b + "/trades", endpoint(api.trades)),
        Route(b + "/equity", endpoint(api.equity_curve)),
        Route(b + "/metrics", endpoint(api.metrics)),
        Route(b + "/llm/calls", endpoint(api.llm_calls)),
        Route(b + "/llm/calls/{call_id}", endpoint(api.llm_trace)),
        Route(b + "/commands", endpoint(api.commands)),
        Route(b + "/commands/{command_id}", endpoint(api.one_command)),
        Route(b + "/commands/{name}", endpoint(api.send, write=True, then=api.awaited), methods=["POST"]),
        Mount("/static", StaticFiles(directory=_STATIC), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        fleet.close()

    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error, Exception: _failed},
                    lifespan=lifespan)
    return _Guarded(app, loopback_only=not require_token_for_reads)


_LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
# Only this server's own files run, fetch and style the page: no inline script or handler, no form posted
# elsewhere, no framing. The dashboard writes every stored text with textContent; this holds should one slip.
CSP = "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
_HEADERS = [(b"x-frame-options", b"DENY"), (b"content-security-policy", CSP.encode()),
            (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]


def _loopback_host(name: str) -> bool:
    """``localhost`` or a loopback address (``serve --host 127.0.0.2`` is reached as that): a rebinding page can
    only send a name, and an address in ``Host`` is the one the browser connected to."""
    if name.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


@attrs.frozen
class _Guarded:
    """The app behind two guards. On loopback (reads need no token) a request must name a loopback host: a web page
    that rebinds its own name to 127.0.0.1 sends its name as ``Host`` and is refused (421), so it cannot read the
    bots' data. And every answer forbids framing and content sniffing."""

    app: Starlette
    loopback_only: bool

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.loopback_only:
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if not _loopback_host(name):
                await _error(421, f"host {host[:100]!r} is not this machine: the server answers localhost "
                                  "and loopback addresses (127.0.0.1, [::1]) only")(scope, receive, send)
                return

        # The page and its script are asked again (a cheap 304) each load, so an upgrade shows at once, not after
        # the hours a browser may keep a file on its own; the bots' data is never written to the browser's cache.
        cache = b"no-store" if scope["path"].startswith("/api/") else b"no-cache"

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *_HEADERS,
                                                   (b"cache-control", cache)]}
            await send(message)

        await self.app(scope, receive, with_headers)


async def _index(_: Request) -> Response:
    return FileResponse(_STATIC / "index.html")


async def _http_error(_: Request, exc: Exception) -> Response:
    code = exc.status_code if isinstance(exc, HTTPException) else 500
    return _error(code, "not found" if code == 404 else "method not allowed" if code == 405 else "failed")


async def _failed(_: Request, exc: Exception) -> Response:
    return _error(500, f"internal error: {type(exc).__name__}")


def _json(result: Any) -> Response:
    """A handler's answer: JSON-ready data, or JSON it already encoded (bytes)."""
    if isinstance(result, bytes):
        return Response(result, media_type="application/json")
    return JSONResponse(result)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


_INTEGER = re.compile(r"-?[0-9]+")


def _int(text: str | None, default: int, low: int, high: int) -> int:
    if text is None:
        return default
    # Plain ASCII digits only (int() also takes "1_000", " 5" and other scripts' digits); the answer quotes at most
    # 20 characters of what was sent, so a megabyte of digits is not echoed back.
    shown = text if len(text) <= 20 else text[:20] + "..."
    if not _INTEGER.fullmatch(text):
        raise BadRequestError(f"not an integer: {shown!r}")
    if len(text) > 20:
        raise BadRequestError(f"{shown} is outside {low}..{high}")
    value = int(text)
    if not low <= value <= high:
        raise BadRequestError(f"{value} is outside {low}..{high}")
    return value


def _range(request: Request) -> tuple[datetime | None, datetime | None]:
    """``?start=&end=``; a start after the end is refused (swapped, they would match nothing, silently)."""
    q = request.query_params
    start, end = _time(q.get("start"), "start"), _time(q.get("end"), "end")
    if start is not None and end is not None and start > end:
        raise BadRequestError(f"start {q['start']} is after end {q['end']}")
    return start, end


def _wait_seconds(request: Request) -> int | None:
    """``?wait=N`` of a command (1-60 s), or ``None`` without it."""
    wait = request.query_params.get("wait")
    return None if wait is None else _int(wait, 10, 1, 60)


def _time(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_time(text, name, assume_utc=False)
    except InvalidValueError as exc:
        raise BadRequestError(str(exc)) from None
