"""``FakeExchange``: ``MarketData`` and ``Trading`` in memory for unit tests of services.

Prices are set by the test; orders obey the same rules, funds and id semantics as the paper venue
(they share its book); any method can be made to fail, before or after applying its request.
"""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal

import attrs

from trader_adapters.paper.book import SimBook, SimOrder
from trader_adapters.paper.instruments import default_rules
from trader_core.model.errors import ExchangeUnavailableError, OrderRejectedError, UnknownSymbolError
from trader_core.model.ids import Asset, ClientOrderId, Symbol
from trader_core.model.instrument import InstrumentRules
from trader_core.model.market import Candle, Quote, Timeframe
from trader_core.model.numbers import ZERO, to_decimal
from trader_core.model.orders import (
    Balance,
    ExitBracket,
    Fill,
    Liquidity,
    Order,
    OrderRequest,
    OrderType,
    Side,
)
from trader_core.ports.clock import Clock

__all__ = ["FakeExchange"]

_METHODS = frozenset({
    "fetch_quote", "fetch_candles", "fetch_instrument", "place_order", "place_exit_bracket",
    "cancel_order", "fetch_order", "fetch_open_orders", "fetch_fills", "fetch_balances", "close",
})


def _open_time(candle: Candle) -> datetime:
    return candle.open_time


@attrs.define(init=False, eq=False)
class FakeExchange:
    """A venue whose prices the test sets.

    * A symbol is listed once it has a quote or candles (or is passed in ``symbols``).
    * MARKET orders fill at once (taker) at the ask (buy) or bid (sell) and come back FILLED.
    * LIMIT / TAKE_PROFIT orders rest and fill (maker) at their price when a new last price reaches
      them; STOP_LOSS legs trigger when the last price reaches the stop and fill (taker) at the bid
      (sell) or ask (buy). Brackets are OCO. Only :meth:`set_quote` / :meth:`set_price` move prices.
      With ``stop_limit_offset`` a stop is a stop-limit (what the ccxt adapter sends where a symbol has no
      market stop): once triggered it fills only while the bid (sell) or ask (buy) is within its limit, the
      stop moved by that fraction; a price that gaps beyond the limit leaves it resting unfilled.
    * ``fail_next(name, error)`` makes the next call of ``name`` raise ``error`` without doing anything;
      ``apply_then_fail(name, error)`` lets it take effect, then raises (a lost response);
      ``fail_then_apply_later(name, error)`` raises at once and keeps the placement, which
      :meth:`apply_held` carries out later (a request queued at the venue past the client's answer).
    * ``calls`` records every port call as ``(method, *str(args))``.
    """

    calls: list[tuple[str, ...]]
    _clock: Clock
    _book: SimBook = attrs.field(repr=False)
    _rules: Callable[[Symbol], InstrumentRules] = attrs.field(repr=False)
    _venue: str
    _holds_exits: bool
    _holds_stops: bool | None
    _answers_with_fills: bool
    _acceptance_window: timedelta | None
    _stop_limit_offset: Decimal | None
    _thin_book: bool
    _listed: set[Symbol]
    _quotes: dict[Symbol, Quote]
    _candles: dict[tuple[Symbol, Timeframe], list[Candle]] = attrs.field(repr=False)
    _fail_before: dict[str, list[Exception]]
    _fail_after: dict[str, list[Exception]]
    _hold: dict[str, list[Exception]]
    _held: list[OrderRequest | ExitBracket]
    closed: bool

    def __init__(
        self,
        *,
        clock: Clock,
        balances: Mapping[Asset, Decimal] | None = None,
        fee_rate: Decimal = Decimal("0.001"),
        rules: Callable[[Symbol], InstrumentRules] = default_rules,
        symbols: Iterable[Symbol] = (),
        holds_protective_exits: bool = True,
        venue: str = "fake",
        holds_protective_stops: bool | None = None,
        answers_with_fills: bool = False,
        acceptance_window: timedelta | None = None,
        stop_limit_offset: Decimal | None = None,
        fee_in: tuple[Asset, Decimal] | None = None,
        thin_book: bool = False,
    ) -> None:
        """An empty venue (no prices yet) holding ``balances``. ``answers_with_fills``: a market order's answer
        carries its fill (``Order.fills``), as Binance's FULL response does. ``acceptance_window``: what the
        venue promises about late placements (see the port), None by default. ``fee_in``: fees charged in a
        third asset worth the given quote per unit, while the account holds enough of it (``SimBook``).
        ``thin_book``: a market order takes at most the quote's size at the touch (``ask_size`` for a buy,
        ``bid_size`` for a sell) and EXPIRES with the rest unfilled."""
        self.calls, self.closed = [], False
        self._clock, self._rules, self._venue, self._holds_exits = clock, rules, venue, holds_protective_exits
        self._holds_stops, self._answers_with_fills = holds_protective_stops, answers_with_fills
        self._acceptance_window = acceptance_window
        self._stop_limit_offset = stop_limit_offset
        self._thin_book = thin_book
        self._book = SimBook(venue=venue, fee_rate=fee_rate, rules=rules, fee_in=fee_in)
        self._book.deposit_all(balances)
        self._listed, self._quotes, self._candles = set(symbols), {}, {}
        self._fail_before, self._fail_after = {}, {}
        self._hold, self._held = {}, []

    # -- test controls ----------------------------------------------------------------------------

    def set_quote(
        self, symbol: Symbol, bid: Decimal, ask: Decimal, last: Decimal | None = None, *,
        bid_size: Decimal = Decimal(1), ask_size: Decimal = Decimal(1), venue_time: datetime | None = None,
    ) -> Quote:
        """Set the top of book (``last`` defaults to the mid) and match resting orders against ``last``."""
        bid, ask = to_decimal(bid), to_decimal(ask)
        last = (bid + ask) / 2 if last is None else to_decimal(last)
        quote = Quote(
            symbol=symbol, bid=bid, ask=ask, last=last, bid_size=to_decimal(bid_size),
            ask_size=to_decimal(ask_size), observed_at=self._clock.now(), venue_time=venue_time,
        )
        self._listed.add(symbol)
        self._quotes[symbol] = quote
        self._match(quote)
        return quote

    def set_price(self, symbol: Symbol, price: Decimal) -> Quote:
        """Set bid = ask = last = ``price`` and match resting orders."""
        return self.set_quote(symbol, price, price, price)

    def add_candles(self, candles: Iterable[Candle]) -> None:
        """Add candles (a candle at an existing open time replaces it); lists their symbols."""
        for candle in candles:
            series = self._candles.setdefault((candle.symbol, candle.timeframe), [])
            index = bisect.bisect_left(series, candle.open_time, key=_open_time)
            if index < len(series) and series[index].open_time == candle.open_time:
                series[index] = candle
            else:
                series.insert(index, candle)
            self._listed.add(candle.symbol)

    def deposit(self, asset: Asset, amount: Decimal) -> None:
        """Credit ``amount`` of ``asset`` (negative to debit)."""
        self._book.deposit(asset, to_decimal(amount))

    def fail_next(self, method_name: str, error: Exception) -> None:
        """The next call of ``method_name`` raises ``error`` and does nothing (queued per method)."""
        self._fail_before.setdefault(self._checked(method_name), []).append(error)

    def apply_then_fail(self, method_name: str, error: Exception) -> None:
        """The next call of ``method_name`` takes effect, then raises ``error`` (e.g. OutcomeUnknownError)."""
        self._fail_after.setdefault(self._checked(method_name), []).append(error)

    def fail_then_apply_later(self, method_name: str, error: Exception) -> None:
        """The next placement (``place_order`` or ``place_exit_bracket``) raises ``error`` and does nothing yet:
        the venue still holds the request, and :meth:`apply_held` places it."""
        if method_name not in ("place_order", "place_exit_bracket"):
            raise ValueError(f"only placements can be held, not {method_name!r}")
        self._hold.setdefault(method_name, []).append(error)

    def apply_held(self) -> int:
        """Place every held request now, oldest first, as the venue would have when it was sent; how many were
        placed (a request the venue refuses now, for want of balance say, is dropped unheard)."""
        held, self._held = self._held, []
        placed = 0
        for request in held:
            with contextlib.suppress(OrderRejectedError):
                if isinstance(request, ExitBracket):
                    self._place_bracket(request)
                else:
                    self._place(request)
                placed += 1
        return placed

    def _held_back(self, method: str, request: OrderRequest | ExitBracket) -> None:
        pending = self._hold.get(method)
        if pending:
            self._held.append(request)
            raise pending.pop(0)

    @staticmethod
    def _checked(method_name: str) -> str:
        if method_name not in _METHODS:
            raise ValueError(f"FakeExchange has no port method {method_name!r}; one of {sorted(_METHODS)}")
        return method_name

    def _enter(self, method: str, *args: object) -> None:
        self.calls.append((method, *(str(arg) for arg in args)))
        pending = self._fail_before.get(method)
        if pending:
            raise pending.pop(0)

    def _leave(self, method: str) -> None:
        pending = self._fail_after.get(method)
        if pending:
            raise pending.pop(0)

    def _require(self, symbol: Symbol) -> None:
        if symbol not in self._listed:
            raise UnknownSymbolError(f"{self._venue} does not list {symbol}")

    # -- MarketData -------------------------------------------------------------------------------

    async def fetch_quote(self, symbol: Symbol) -> Quote:
        """The quote last set; ``ExchangeUnavailableError`` for a listed symbol without one."""
        self._enter("fetch_quote", symbol)
        self._require(symbol)
        quote = self._quotes.get(symbol)
        if quote is None:
            raise ExchangeUnavailableError(f"no {symbol} quote set on the fake exchange")
        self._leave("fetch_quote")
        return quote

    async def fetch_candles(
        self, symbol: Symbol, timeframe: Timeframe, *, since: datetime | None = None, limit: int = 500
    ) -> tuple[Candle, ...]:
        """Candles added, oldest first, ``open_time >= since`` (or the latest ``limit``). The fake
        returns what the test added; it does not hide candles still forming by the clock."""
        self._enter("fetch_candles", symbol, timeframe)
        self._require(symbol)
        series = self._candles.get((symbol, timeframe), [])
        if limit <= 0:
            result: tuple[Candle, ...] = ()
        elif since is None:
            result = tuple(series[-limit:])
        else:
            first = bisect.bisect_left(series, since, key=_open_time)
            result = tuple(series[first : first + limit])
        self._leave("fetch_candles")
        return result

    async def fetch_instrument(self, symbol: Symbol) -> InstrumentRules:
        """The rules for a listed symbol."""
        self._enter("fetch_instrument", symbol)
        self._require(symbol)
        self._leave("fetch_instrument")
        return self._rules(symbol)

    # -- Trading ----------------------------------------------------------------------------------

    @property
    def venue(self) -> str:
        """The venue's name (``fake`` unless configured)."""
        return self._venue

    @property
    def holds_protective_exits(self) -> bool:
        """As configured (True by default)."""
        return self._holds_exits

    @property
    def holds_protective_stops(self) -> bool:
        """As configured (by default: as it holds brackets)."""
        return self._holds_exits if self._holds_stops is None else self._holds_stops

    @property
    def acceptance_window(self) -> timedelta | None:
        """As configured (None by default)."""
        return self._acceptance_window

    async def place_order(self, request: OrderRequest) -> Order:
        """Place ``request``: market orders fill at once at the quote, others rest."""
        self._enter("place_order", request.symbol, request.client_order_id)
        self._require(request.symbol)
        self._held_back("place_order", request)
        order, fill = self._place(request)
        self._leave("place_order")
        answer = order.snapshot()
        return attrs.evolve(answer, fills=(fill,)) if self._answers_with_fills and fill is not None else answer

    def _place(self, request: OrderRequest) -> tuple[SimOrder, Fill | None]:
        quote = self._quotes.get(request.symbol)
        last = None if quote is None else quote.last
        if request.order_type is OrderType.MARKET and quote is not None:
            last = quote.ask if request.side is Side.BUY else quote.bid  # what a taker really pays
        order = self._book.place(request, self._clock.now(), last, ZERO)
        fill = None
        if request.order_type is OrderType.MARKET and last is not None:
            available = None
            if self._thin_book and quote is not None:
                available = quote.ask_size if request.side is Side.BUY else quote.bid_size
            fill = self._book.execute(order, last, self._clock.now(), Liquidity.TAKER, available=available)
        return order, fill

    async def place_exit_bracket(self, bracket: ExitBracket) -> tuple[Order, Order]:
        """Hold a stop and a target as one OCO; rejected when configured without protective exits."""
        self._enter("place_exit_bracket", bracket.symbol, bracket.stop_client_order_id, bracket.target_client_order_id)
        self._require(bracket.symbol)
        if not self._holds_exits:
            raise OrderRejectedError(f"{self._venue} cannot hold protective exits")
        self._held_back("place_exit_bracket", bracket)
        stop, target = self._place_bracket(bracket)
        self._leave("place_exit_bracket")
        return stop.snapshot(), target.snapshot()

    def _place_bracket(self, bracket: ExitBracket) -> tuple[SimOrder, SimOrder]:
        quote = self._quotes.get(bracket.symbol)
        return self._book.place_bracket(bracket, self._clock.now(), None if quote is None else quote.last)

    async def cancel_order(self, symbol: Symbol, client_order_id: ClientOrderId) -> Order:
        """Cancel an open order (both legs of a bracket); ``OrderNotFoundError`` if not open."""
        self._enter("cancel_order", symbol, client_order_id)
        self._require(symbol)
        order = self._book.cancel(symbol, client_order_id, self._clock.now())
        self._leave("cancel_order")
        return order.snapshot()

    async def fetch_order(self, symbol: Symbol, client_order_id: ClientOrderId) -> Order:
        """The latest order with this client id; ``OrderNotFoundError`` when unknown."""
        self._enter("fetch_order", symbol, client_order_id)
        self._require(symbol)
        order = self._book.find(symbol, client_order_id)
        self._leave("fetch_order")
        return order.snapshot()

    async def fetch_open_orders(self, symbol: Symbol) -> tuple[Order, ...]:
        """Open orders in ``symbol``, oldest first."""
        self._enter("fetch_open_orders", symbol)
        self._require(symbol)
        result = tuple(order.snapshot() for order in self._book.open_orders(symbol))
        self._leave("fetch_open_orders")
        return result

    async def fetch_fills(
        self, symbol: Symbol, *, since: datetime | None = None, limit: int = 500
    ) -> tuple[Fill, ...]:
        """Fills oldest first: ``time >= since`` (at most ``limit``), or the latest ``limit``."""
        self._enter("fetch_fills", symbol)
        self._require(symbol)
        result = self._book.fills(symbol, since, limit)
        self._leave("fetch_fills")
        return result

    async def fetch_balances(self) -> tuple[Balance, ...]:
        """Every non-zero balance, sorted by asset."""
        self._enter("fetch_balances")
        result = self._book.balances()
        self._leave("fetch_balances")
        return result

    async def close(self) -> None:
        """Mark closed. Idempotent."""
        self._enter("close")
        self.closed = True
        self._leave("close")

    # -- matching ---------------------------------------------------------------------------------

    def _match(self, quote: Quote) -> None:
        now = self._clock.now()
        for order in self._book.open_orders(quote.symbol):
            if order.is_open:  # an OCO partner may have just been cancelled
                price = self._execution_price(order, quote)
                if price is not None:
                    liquidity = Liquidity.TAKER if order.order_type is OrderType.STOP_LOSS else Liquidity.MAKER
                    self._book.execute(order, price, now, liquidity)

    def _execution_price(self, order: SimOrder, quote: Quote) -> Decimal | None:
        sign = order.side.sign
        if order.order_type is OrderType.STOP_LOSS and order.stop_price is not None:
            if (quote.last - order.stop_price) * sign < ZERO:
                return None
            price = quote.ask if order.side is Side.BUY else quote.bid
            offset = self._stop_limit_offset
            if offset is not None and (price - order.stop_price * (1 + sign * offset)) * sign > ZERO:
                return None  # a stop-limit whose limit the market has gapped beyond rests unfilled
            return price
        if order.price is not None and (order.price - quote.last) * sign >= ZERO:
            return order.price
        return None
