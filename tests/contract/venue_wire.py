"""A recording transport for request-level tests with the real ccxt client and no network.

``Wire(routes)`` replaces ccxt's HTTP ``fetch`` (``CcxtExchange.create(..., transport=wire)``): every request is
recorded, and answered from the first route whose method matches and whose text occurs in the URL. An answer is
a JSON-able payload (HTTP 200) or ``(status, payload)``; a callable answer gets the request. Answers go through
the venue's own ccxt error handling (``handle_errors``, then the HTTP status map), as a real response would, so
a venue's documented error payload reaches the adapter's one error table as it would in production.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import attrs

if TYPE_CHECKING:
    from trader_adapters.ccxt import CcxtExchange
    from trader_core.model import OrderRequest, Symbol

__all__ = ["Request", "Wire", "limit_buy", "run"]

_T = TypeVar("_T")


@attrs.frozen
class Request:
    """One recorded request."""

    method: str
    url: str
    headers: dict[str, str]
    body: str | None

    @property
    def path(self) -> str:
        """The URL's path."""
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, str]:
        """The URL's query parameters."""
        return dict(parse_qsl(urlsplit(self.url).query))

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body or "null")

    def form(self) -> dict[str, str]:
        """The body decoded as a form."""
        return dict(parse_qsl(self.body or ""))


_NONE = object()
Answer = Any  # a payload, (status, payload), or a callable(Request) returning either
Route = tuple[str, str, Answer]


class Wire:
    """Records requests and answers them from ``routes`` (method, URL fragment, answer)."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = list(routes)
        self.requests: list[Request] = []

    def answer_first(self, method: str, fragment: str, answer: Answer) -> None:
        """Put a route ahead of the others (an error case for one call)."""
        self.routes.insert(0, (method, fragment, answer))

    def sent(self, method: str, fragment: str) -> list[Request]:
        """Recorded requests whose method matches and whose URL contains ``fragment``."""
        return [r for r in self.requests if r.method == method and fragment in r.url]

    def bind(self, client: Any) -> Callable[..., Any]:
        """ccxt's ``fetch`` for ``client``."""

        async def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
            request = Request(method, url, dict(headers or {}), body)
            self.requests.append(request)
            answer = next((a for m, fragment, a in self.routes if m == method and fragment in url), _NONE)
            if answer is _NONE:
                raise AssertionError(f"unexpected request {method} {url}")
            if callable(answer):
                answer = answer(request)
            status, payload = answer if isinstance(answer, tuple) else (200, answer)
            text = json.dumps(payload)
            client.last_response_headers = {}
            client.last_http_response = text
            client.handle_errors(status, "", url, method, {}, text, payload, headers, body)
            client.handle_http_status_code(status, "", url, method, text)
            return payload

        return fetch


def run(adapter: CcxtExchange, coro: Coroutine[Any, Any, _T]) -> _T:
    """Run one adapter call in a fresh event loop, closing the adapter after it (its client lives in that loop)."""
    async def go() -> _T:
        try:
            return await coro
        finally:
            await adapter.close()

    return asyncio.run(go())


def limit_buy(client_id: str, symbol: Symbol) -> OrderRequest:
    """The request every venue's placement test sends: a limit buy of 0.001 at 30,000 under ``client_id``."""
    from trader_core.model import ClientOrderId, OrderRequest, OrderType, Price, Quantity, Side

    return OrderRequest(client_order_id=ClientOrderId(client_id), symbol=symbol, side=Side.BUY,
                        order_type=OrderType.LIMIT, quantity=Quantity("0.001"), price=Price("30000"))
