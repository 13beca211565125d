"""Exchange ports: public market data and the bot's trading at a venue. Both are async.

Errors (from ``trader_core.model.errors``) are the whole vocabulary a caller needs:
``ExchangeUnavailableError`` (not applied, safe to retry; ``RateLimitedError`` says for how long to
wait), ``AuthenticationError``, ``OrderRejectedError`` (definitive), ``OrderNotFoundError``,
``OutcomeUnknownError`` (may have been applied: look the order up by client order id first),
``UnknownSymbolError`` and ``InvalidDataError`` (the venue sent something malformed). An adapter
raises; it never returns empty data to mean an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from trader_core.model.ids import ClientOrderId, Symbol
from trader_core.model.instrument import InstrumentRules
from trader_core.model.market import Candle, Quote, Timeframe
from trader_core.model.orders import Balance, ExitBracket, Fill, Order, OrderRequest
from trader_core.model.records import TrackedOrder

__all__ = ["ExecutionListener", "ExecutionReports", "MarketData", "OrderIdMemory", "Reconnectable", "Trading"]


class MarketData(Protocol):
    """Public market data for a set of symbols."""

    async def fetch_quote(self, symbol: Symbol) -> Quote:
        """Top of book and last price. Raises ``UnknownSymbolError`` for a symbol the venue lacks."""
        ...

    async def fetch_candles(
        self, symbol: Symbol, timeframe: Timeframe, *, since: datetime | None = None, limit: int = 500
    ) -> tuple[Candle, ...]:
        """Closed candles, oldest first, with ``open_time >= since`` (or the latest ones when ``since``
        is None), at most ``limit``. The forming candle is never returned. Empty means no new
        candle yet, never an error. Malformed bars raise ``MalformedCandlesError``, which carries the
        well-formed candles of the answer."""
        ...

    async def fetch_instrument(self, symbol: Symbol) -> InstrumentRules:
        """The venue's trading rules for ``symbol``. Raises ``UnknownSymbolError``."""
        ...

    async def close(self) -> None:
        """Release connections. Idempotent."""
        ...


class Trading(Protocol):
    """Orders, fills and balances of the account. Orders are known by the bot's client order id."""

    @property
    def venue(self) -> str:
        """The venue's name (part of every fill's identity)."""
        ...

    @property
    def holds_protective_exits(self) -> bool:
        """True when the venue holds stop/target brackets itself (they survive the bot being down)."""
        ...

    @property
    def holds_protective_stops(self) -> bool:
        """True when the venue holds a stop order by itself (it survives the bot being down). Where it holds no
        bracket, the stop rests at the venue and the bot watches the target (the strongest form available)."""
        ...

    @property
    def acceptance_window(self) -> timedelta | None:
        """How long after a placement was sent, in real time, the venue may still accept it, the adapter's
        margin for the venue's own lag included: a placement whose outcome was unknown, that the venue does not
        know once this long has passed since the call returned, never will be placed (Binance forwards no
        request older than its ``recvWindow`` to the matching engine). None where the venue bounds nothing:
        then only repeated not-found answers prove an order absent."""
        ...

    async def place_order(self, request: OrderRequest) -> Order:
        """Send ``request``; return the order as acknowledged (it may already be filled).

        Raises ``OrderRejectedError`` (definitive: rules, funds, a client id in use by an open
        order), ``ExchangeUnavailableError`` (not sent), ``OutcomeUnknownError`` (maybe sent).
        """
        ...

    async def place_exit_bracket(self, bracket: ExitBracket) -> tuple[Order, Order]:
        """Place a stop-loss and a take-profit that cancel each other when either fills (even in part).

        Returns (stop leg, target leg). Both legs or neither: one all-or-nothing venue call (Binance's OCO
        order list), so a leg proven absent proves the other absent. Same errors as ``place_order``; raises
        ``OrderRejectedError`` when the venue cannot hold protective exits (see ``holds_protective_exits``).
        """
        ...

    async def cancel_order(self, symbol: Symbol, client_order_id: ClientOrderId) -> Order:
        """Cancel an open order and return its final state.

        Raises ``OrderNotFoundError`` when the venue does not know the order or it is no longer open
        (after a lost response this may mean the cancel already happened: reconcile).
        """
        ...

    async def fetch_order(self, symbol: Symbol, client_order_id: ClientOrderId) -> Order:
        """The order's current state. Raises ``OrderNotFoundError``."""
        ...

    async def fetch_open_orders(self, symbol: Symbol) -> tuple[Order, ...]:
        """Every open order in ``symbol``, the bot's and anyone else's."""
        ...

    async def fetch_fills(
        self, symbol: Symbol, *, since: datetime | None = None, limit: int = 500
    ) -> tuple[Fill, ...]:
        """The account's fills in ``symbol`` with ``time >= since``, oldest first, at most ``limit``.
        Page by calling again with ``since`` = the last fill's time (duplicates are the caller's to drop)."""
        ...

    async def fetch_balances(self) -> tuple[Balance, ...]:
        """Every non-zero balance of the account."""
        ...

    async def close(self) -> None:
        """Release connections. Idempotent."""
        ...


@runtime_checkable
class Reconnectable(Protocol):
    """An optional capability of a venue adapter: rebuild its connection (a new session) after failures.

    ``CcxtExchange`` has it; the ExchangeHealthManager calls it at most once per cooldown.
    """

    async def reconnect(self) -> None:
        """Drop the connection and open a new one. Raises an ``ExchangeError`` when the venue cannot be
        reached."""
        ...


ExecutionListener = Callable[[Symbol], None]


@runtime_checkable
class ExecutionReports(Protocol):
    """An optional capability of a ``Trading`` venue: it reports executions as they happen.

    The paper and replay venues have it: they call each listener with the symbol whose orders changed at
    the venue (a fill, an OCO leg cancelled, an order expired) as soon as the change happens. The resync
    then visits only the symbols it was told about, and every symbol at a cadence (the safety net).
    Live venues do not have it: their fills arrive by the sync poll alone.
    """

    def subscribe_executions(self, listener: ExecutionListener) -> None:
        """Call ``listener(symbol)`` after each change of an order of ``symbol`` made by the venue itself."""
        ...


@runtime_checkable
class OrderIdMemory(Protocol):
    """An optional capability of a ``Trading`` adapter that learns, in its process, which venue order ids are the
    bot's and what type each was asked as (Binance's trade list names the venue's order id alone: the adapter
    looks an unknown one up before it can say a fill is the bot's).

    At start-up the bot hands it the orders it stored, so a restarted bot recognises its own fills and orders
    without a lookup each: fewer requests in the first tick after a restart, fewer chances for one to fail.
    ``CcxtExchange`` has it; venues whose fills carry the client order id need not.
    """

    def remember_orders(self, orders: Iterable[TrackedOrder]) -> None:
        """Take ``orders`` (stored intents; those with a venue order id) as the bot's own."""
        ...
