"""``PaperExchange``: the ``Trading`` port simulated against the candles a ``ReplayMarket`` reveals.

Fill rules (no look-ahead): an order placed at time T can only execute on candles with
``open_time >= T``. Per candle, pending market orders fill at its open first, then resting orders
and brackets are matched against its range. Every fill is stamped with that candle's open time.
Paper trading on live data (``touch``) fills a market order at once, at the live top of book.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal

import attrs

from trader_adapters.paper.book import SimBook, SimOrder
from trader_adapters.paper.instruments import default_rules, to_tick
from trader_adapters.paper.replay import ReplayMarket
from trader_core.model.errors import ConfigError, ExchangeError, InvalidDataError, UnknownSymbolError
from trader_core.model.ids import Asset, ClientOrderId, Symbol
from trader_core.model.instrument import InstrumentRules
from trader_core.model.market import Candle, Quote
from trader_core.model.numbers import ONE, ZERO
from trader_core.model.orders import Balance, ExitBracket, Fill, Liquidity, Order, OrderRequest, OrderType, Side
from trader_core.ports.clock import Clock
from trader_core.ports.exchange import ExecutionListener, MarketData

__all__ = ["PaperExchange"]

# (fill price, triggered at the candle's open, liquidity)
_Trigger = tuple[Decimal, bool, Liquidity]


@attrs.define(init=False, eq=False)
class PaperExchange:
    """A simulated spot venue that fills orders from replayed candles.

    * MARKET: acknowledged OPEN; fills (taker) at the open of the first candle with ``open_time >= T``
      (T = placement time), buys at ``open * (1 + slippage_rate)`` rounded up to the tick, sells at
      ``open * (1 - slippage_rate)`` rounded down. A market buy holds ``last close * (1 + slippage_rate
      + market_buy_margin) * (1 + fee_rate)`` per unit of quote at placement; if the real cost at the
      fill exceeds the free quote, the order EXPIRES unfilled.
    * LIMIT / TAKE_PROFIT: rest; a buy fills (maker) when ``low <= price``, at the price, or at the open
      if the candle opens at or below it (sells mirror with ``high >= price``); on live data (``touch``)
      always at the price.
    * STOP_LOSS: a sell triggers when ``low <= stop`` and fills (taker) at the stop, or at the open if
      the candle opens at or below it (gap through), less slippage (buys mirror).
    * Exit brackets (OCO): when one candle reaches both legs, a leg reached at the open (a gap) wins;
      otherwise the STOP wins (conservative). The other leg is cancelled. Cancelling either leg cancels both.
    * Fill time is the candle's ``open_time`` for every fill. Fees are ``fee_rate`` of the notional, in quote.
    * With ``touch`` (paper trading on a live venue's data) a MARKET order fills (taker) when it is placed, at
      that venue's ask for a buy and bid for a sell (less slippage as above), stamped with the clock's time: what
      a live order would have taken, not the open of a candle up to a timeframe later. A post-only order and an
      exit bracket are then judged against the live quote too (the touch; the last price for a bracket's
      straddle), not a close up to a timeframe old. When the live quote cannot be had, the order waits for the
      next candle's open as above and placements are judged against the last close. A candle's fill is never
      stamped before a fill already made in its symbol (fills stay in time order for the fill cursor).
    """

    _market: ReplayMarket
    _clock: Clock
    _book: SimBook = attrs.field(repr=False)
    _slippage: Decimal
    _buy_margin: Decimal
    _rules: Callable[[Symbol], InstrumentRules] = attrs.field(repr=False)
    _rules_cache: dict[Symbol, InstrumentRules] = attrs.field(repr=False)
    _venue: str
    _listeners: list[ExecutionListener] = attrs.field(repr=False)
    _touch: MarketData | None = attrs.field(repr=False)
    _holds_exits: bool
    _holds_stops: bool

    def __init__(
        self,
        *,
        market: ReplayMarket,
        clock: Clock,
        balances: Mapping[Asset, Decimal] | None = None,
        fee_rate: Decimal = Decimal("0.001"),
        slippage_rate: Decimal = ZERO,
        rules: Callable[[Symbol], InstrumentRules] = default_rules,
        market_buy_margin: Decimal = Decimal("0.02"),
        venue: str = "paper",
        touch: MarketData | None = None,
        holds_exits: bool = True,
        holds_stops: bool = True,
    ) -> None:
        """Subscribe to ``market`` and start with ``balances`` (free). ``touch``: the live venue whose top of
        book a market order takes when placed (paper trading on live data); None in a replay. ``holds_exits`` and
        ``holds_stops``: the protection the venue being papered holds for the bot (Gemini a stop only, OKX none):
        the bot then holds the rest itself, as it would live, and the paper result is the one a live run gets."""
        if not ZERO <= fee_rate < ONE or not ZERO <= slippage_rate < ONE or market_buy_margin < ZERO:
            raise ConfigError(
                f"paper venue: fee_rate {fee_rate} and slippage_rate {slippage_rate} must be in [0, 1), "
                f"market_buy_margin {market_buy_margin} non-negative"
            )
        self._market, self._clock, self._rules, self._venue = market, clock, rules, venue
        self._rules_cache, self._listeners, self._touch = {}, [], touch
        self._holds_exits, self._holds_stops = holds_exits, holds_stops or holds_exits  # an OCO holds a stop
        self._slippage, self._buy_margin = slippage_rate, market_buy_margin
        self._book = SimBook(venue=venue, fee_rate=fee_rate, rules=self._rules_for)
        self._book.deposit_all(balances)
        market.subscribe(self._on_candle)
        if touch is not None:
            market.subscribe_quotes(self._on_quote)

    @property
    def venue(self) -> str:
        """The venue's name (``paper`` unless configured)."""
        return self._venue

    @property
    def holds_protective_exits(self) -> bool:
        """Whether the simulated venue holds OCO brackets (by default; not when papering a venue that does not)."""
        return self._holds_exits

    @property
    def holds_protective_stops(self) -> bool:
        """Whether the simulated venue holds stop orders (by default; not when papering a venue that does not)."""
        return self._holds_stops

    @property
    def acceptance_window(self) -> timedelta | None:
        """None: a placement here is answered in the call that makes it (never an unknown outcome)."""
        return None

    def deposit(self, asset: Asset, amount: Decimal) -> None:
        """Credit ``amount`` of ``asset`` to the free balance (tests, funding a run)."""
        self._book.deposit(asset, amount)

    def _rules_for(self, symbol: Symbol) -> InstrumentRules:
        rules = self._rules_cache.get(symbol)
        if rules is None:
            rules = self._rules_cache[symbol] = self._rules(symbol)
        return rules

    def _last_price(self, symbol: Symbol) -> Decimal | None:
        if not self._market.is_listed(symbol):
            raise UnknownSymbolError(f"{self._venue} does not list {symbol}")
        candle = self._market.last_candle(symbol)
        return None if candle is None else candle.close

    async def place_order(self, request: OrderRequest) -> Order:
        """Validate, hold funds and queue ``request``; it executes on later candles (see the class doc)."""
        self._market.sync()
        last = self._last_price(request.symbol)
        quote = await self._live_quote(request.symbol)
        if quote is None:
            order = self._book.place(request, self._clock.now(), last, self._slippage + self._buy_margin)
            return order.snapshot()
        touch = quote.ask if request.side is Side.BUY else quote.bid
        now = self._clock.now()
        if request.order_type is not OrderType.MARKET:
            # A post-only order would take when it reaches the live touch, not the last candle's close.
            return self._book.place(request, now, touch, ZERO).snapshot()
        price = self._slipped(touch, request.side, self._rules_for(request.symbol).tick_size)
        order = self._book.place(request, now, price, ZERO)  # a buy holds exactly what it then costs
        self._book.execute(order, price, now, Liquidity.TAKER)
        for listener in self._listeners:
            listener(request.symbol)
        return order.snapshot()

    async def _live_quote(self, symbol: Symbol) -> Quote | None:
        """The live venue's quote now, or None: no live venue, or no quote from it (a market order then waits
        for the next candle's open, and placements are judged against the last candle's close)."""
        if self._touch is None:
            return None
        try:
            return await self._touch.fetch_quote(symbol)
        except (ExchangeError, InvalidDataError):
            return None

    async def place_exit_bracket(self, bracket: ExitBracket) -> tuple[Order, Order]:
        """Hold a stop and a target as one OCO; returns (stop leg, target leg), both OPEN. The legs must straddle
        the last price: the live venue's when there is one (as a live venue judges it), else the last close."""
        self._market.sync()
        last = self._last_price(bracket.symbol)
        quote = await self._live_quote(bracket.symbol)
        stop, target = self._book.place_bracket(bracket, self._clock.now(), last if quote is None else quote.last)
        return stop.snapshot(), target.snapshot()

    async def cancel_order(self, symbol: Symbol, client_order_id: ClientOrderId) -> Order:
        """Cancel an open order (both legs of a bracket); raises ``OrderNotFoundError`` if not open."""
        self._market.sync()
        self._last_price(symbol)
        return self._book.cancel(symbol, client_order_id, self._clock.now()).snapshot()

    async def fetch_order(self, symbol: Symbol, client_order_id: ClientOrderId) -> Order:
        """The latest order with this client id; raises ``OrderNotFoundError``."""
        self._market.sync()
        self._last_price(symbol)
        return self._book.find(symbol, client_order_id).snapshot()

    async def fetch_open_orders(self, symbol: Symbol) -> tuple[Order, ...]:
        """Open orders in ``symbol``, oldest first."""
        self._market.sync()
        self._last_price(symbol)
        return tuple(order.snapshot() for order in self._book.open_orders(symbol))

    async def fetch_fills(
        self, symbol: Symbol, *, since: datetime | None = None, limit: int = 500
    ) -> tuple[Fill, ...]:
        """Fills oldest first: ``time >= since`` (at most ``limit``), or the latest ``limit`` without ``since``."""
        self._market.sync()
        self._last_price(symbol)
        return self._book.fills(symbol, since, limit)

    async def fetch_balances(self) -> tuple[Balance, ...]:
        """Every non-zero balance, sorted by asset."""
        self._market.sync()
        return self._book.balances()

    async def close(self) -> None:
        """Nothing to release."""

    def subscribe_executions(self, listener: ExecutionListener) -> None:
        """Call ``listener(symbol)`` whenever a candle changes one of ``symbol``'s orders (the push of
        ``ExecutionReports``: fills, OCO partners cancelled, unaffordable buys expired)."""
        self._listeners.append(listener)

    # -- matching ---------------------------------------------------------------------------------

    def _on_candle(self, candle: Candle) -> None:
        orders = self._book.open_orders(candle.symbol)
        if not orders:
            return
        before = [order.filled for order in orders]
        self._match(candle, orders)
        # Every order here was open before the candle: a change is one that closed or (part) filled.
        changed = any(not order.is_open or order.filled != was for order, was in zip(orders, before, strict=True))
        if changed:
            for listener in self._listeners:
                listener(candle.symbol)

    def _on_quote(self, quote: Quote) -> None:
        """Paper trading on live data: the resting orders of the quote's symbol matched against the live top of
        book, as a live venue's book would have run them meanwhile. Without it an order rested until a whole
        candle after its placement was seen: a maker order on 1m candles was always cancelled by its timeout
        (60 s) before it could fill, and a stop the live price crossed within the minute waited for the candle.
        A buy limit (or target) fills at its price once the ask is at or below it, a sell once the bid is at or
        above it (maker); a sell stop triggers once the bid is at or below it and fills at the bid, a buy stop at
        the ask (taker, less slippage). Of a bracket's two legs the stop wins, as on a candle."""
        if not ZERO < quote.bid <= quote.ask:
            return  # an empty or crossed book says nothing about the orders resting in it
        orders = [o for o in self._book.open_orders(quote.symbol) if o.order_type is not OrderType.MARKET]
        if not orders:
            return
        now, tick, changed = self._clock.now(), self._rules_for(quote.symbol).tick_size, False
        for order in orders:
            if not order.is_open or order.created_at > now:
                continue  # a partner leg that already filled or was cancelled
            chosen, trigger = order, self._quote_trigger(order, quote, tick)
            partner = order.partner
            if partner is not None and partner.is_open:
                other = self._quote_trigger(partner, quote, tick)
                if trigger is None or (other is not None and partner.order_type is OrderType.STOP_LOSS):
                    chosen, trigger = partner, other
            if trigger is not None:
                self._book.execute(chosen, trigger[0], now, trigger[1])
                changed = True
        if changed:
            for listener in self._listeners:
                listener(quote.symbol)

    def _quote_trigger(self, order: SimOrder, quote: Quote, tick: Decimal) -> tuple[Decimal, Liquidity] | None:
        """Whether and at what price a resting order executes against the live ``quote``."""
        buy = order.side is Side.BUY
        if order.order_type is OrderType.STOP_LOSS:
            level = order.stop_price
            touch = quote.ask if buy else quote.bid
            if level is None or (touch < level if buy else touch > level):
                return None
            return self._slipped(touch, order.side, tick), Liquidity.TAKER
        level = order.price
        if level is None or (quote.ask > level if buy else quote.bid < level):
            return None
        return level, Liquidity.MAKER

    def _match(self, candle: Candle, orders: list[SimOrder]) -> None:
        # Only orders placed at or before the candle's open may trade on it: no look-ahead.
        eligible = [order for order in orders if order.created_at <= candle.open_time]
        tick = self._rules_for(candle.symbol).tick_size
        for order in eligible:
            if order.order_type is OrderType.MARKET and order.is_open:
                price = self._slipped(candle.open, order.side, tick)
                self._book.execute(order, price, candle.open_time, Liquidity.TAKER)
        for order in eligible:
            if order.order_type is OrderType.MARKET or not order.is_open:
                continue  # a partner leg that already filled or was cancelled
            chosen, trigger = order, self._trigger(order, candle, tick)
            partner = order.partner
            if partner is not None:
                other = self._trigger(partner, candle, tick)
                if trigger is None or (other is not None and self._partner_first(order, trigger, other)):
                    chosen, trigger = partner, other
            if trigger is not None:
                price, _at_open, liquidity = trigger
                self._book.execute(chosen, price, candle.open_time, liquidity)

    @staticmethod
    def _partner_first(order: SimOrder, mine: _Trigger, theirs: _Trigger) -> bool:
        """Both OCO legs reached in one candle: the one reached at the open wins, else the stop."""
        if mine[1] != theirs[1]:
            return theirs[1]
        return order.order_type is not OrderType.STOP_LOSS

    def _slipped(self, price: Decimal, side: Side, tick: Decimal) -> Decimal:
        """``price`` moved against the taker by the slippage rate, rounded adversely to the tick."""
        if side is Side.BUY:
            return to_tick(price * (ONE + self._slippage), tick, up=True)
        return to_tick(price * (ONE - self._slippage), tick, up=False)

    def _trigger(self, order: SimOrder, candle: Candle, tick: Decimal) -> _Trigger | None:
        """Whether and at what price a resting order executes on ``candle``.

        With ``sign`` +1 for a buy: a stop is reached when the price rises to it, a limit when the price
        falls to it; a sell mirrors both. Reached at the open (a gap) means the open is the price.
        """
        is_stop = order.order_type is OrderType.STOP_LOSS
        level = order.stop_price if is_stop else order.price
        if level is None:  # unreachable: every resting type carries its price
            return None
        sign = order.side.sign
        if is_stop:
            far = candle.high if order.side is Side.BUY else candle.low
            at_open = (candle.open - level) * sign >= ZERO
            if not at_open and (far - level) * sign < ZERO:
                return None
            return self._slipped(candle.open if at_open else level, order.side, tick), at_open, Liquidity.TAKER
        far = candle.low if order.side is Side.BUY else candle.high
        at_open = (level - candle.open) * sign >= ZERO
        if not at_open and (level - far) * sign < ZERO:
            return None
        if self._touch is not None:
            # On live data an order rests from within a candle whose rest is never seen, and it was not
            # marketable when placed (judged against the live touch): the market crossed its level while it
            # rested, and a resting limit fills at its own price, never at a better open.
            return level, at_open, Liquidity.MAKER
        return (candle.open if at_open else level), at_open, Liquidity.MAKER
