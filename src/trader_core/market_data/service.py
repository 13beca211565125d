"""MarketDataService: each tick's market view (new closed candles, quotes, liquidity) and instrument rules.

Per tick, for every *active* symbol (the configured ones, then those of the bot's own open plans, orders
and holdings: never anything else the account holds), concurrently: the closed candles since the last
tick and, when quotes are on, a snapshot of the top of book. One symbol's failure is recorded (the
monitored port has already reported it to the health manager's exchange circuit) and the others go on;
only when every symbol failed does the refresh raise (the venue is down: the tick fails as before).

Data the venue should never have sent (a candle opened in the future, candles out of order or repeated,
a quote stamped in the future) is dropped here with a ``MarketDataRejected`` event; malformed values (NaN,
non-positive prices, high below low, bid above ask) are refused by the model's validators at the adapter
edge, which raise ``InvalidDataError`` for that symbol only (``MalformedCandlesError`` carries the candles
that were fine: they are used, so the next fetch goes past the bad bar).

The liquidity gate is owned here: a verdict per symbol from its quote (``sizing.liquidity_problems``:
spread cap, top-of-book notional floor); the orchestrator offers the strategy entries only in symbols
that are fresh (health manager) *and* liquid (``MarketView.may_enter``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Protocol

import attrs

from trader_core.execution import SizingPolicy, liquidity_problems
from trader_core.model import (
    Candle,
    ExchangeError,
    InstrumentRules,
    InvalidDataError,
    MalformedCandlesError,
    Quote,
    Symbol,
    Timeframe,
)
from trader_core.model.events import LiquidityChanged, MarketDataRejected
from trader_core.ports import Clock, MarketData, Telemetry

__all__ = [
    "FETCH_ERRORS",
    "Capturer",
    "MarketDataPolicy",
    "MarketDataService",
    "MarketView",
    "Snapshot",
    "active_symbols",
    "screen_candles",
    "screen_quote",
]

# What a venue call may fail with for one symbol without stopping the others (already reported to the
# health manager by the monitored port). A ConfigError (e.g. a timeframe the venue lacks) still stops.
FETCH_ERRORS = (ExchangeError, InvalidDataError)


@attrs.frozen(kw_only=True)
class MarketDataPolicy:
    """Knobs of the market view. ``quotes``: fetch a top-of-book snapshot per active symbol each tick (the
    liquidity gate needs one); ``liquidity``: the spread cap and top-of-book floor (``SizingPolicy``'s);
    ``future_tolerance``: how far ahead of our clock a venue time may be before it is rejected."""

    quotes: bool = True
    liquidity: SizingPolicy = SizingPolicy()
    future_tolerance: timedelta = timedelta(seconds=5)


@attrs.frozen(kw_only=True)
class Snapshot:
    """One symbol's top of book as we saw it: the venue's quote, when we received it (``quote.observed_at``,
    venue time when given) and how long the fetch took on our monotonic clock."""

    quote: Quote
    latency: timedelta

    @property
    def spread_pct(self) -> Decimal:
        """``(ask - bid) / mid x 100``."""
        return self.quote.spread_pct

    @property
    def imbalance(self) -> Decimal | None:
        """``(bid_size - ask_size) / (bid_size + ask_size)``; None when the venue gave no sizes."""
        total = self.quote.bid_size + self.quote.ask_size
        return None if not total else (self.quote.bid_size - self.quote.ask_size) / total


@attrs.frozen(kw_only=True)
class MarketView:
    """What the bot knows of the market at ``now``: candles closed since the last tick, last prices, the
    snapshots of this tick, the liquidity verdicts (problems per symbol; absent or empty: liquid) and the
    symbols whose fetch failed this tick."""

    now: datetime
    candles: tuple[tuple[Symbol, tuple[Candle, ...]], ...]
    last_prices: Mapping[Symbol, Decimal]
    snapshots: Mapping[Symbol, Snapshot] = attrs.field(factory=dict)
    illiquid: Mapping[Symbol, tuple[str, ...]] = attrs.field(factory=dict)
    failed: frozenset[Symbol] = frozenset()

    def candles_of(self, symbol: Symbol) -> tuple[Candle, ...]:
        """New candles of ``symbol`` this tick."""
        for held, candles in self.candles:
            if held == symbol:
                return candles
        return ()

    def quote(self, symbol: Symbol) -> Quote | None:
        """This tick's quote of ``symbol``, if one was fetched."""
        snapshot = self.snapshots.get(symbol)
        return None if snapshot is None else snapshot.quote

    @property
    def quotes(self) -> tuple[Quote, ...]:
        """This tick's quotes (for the strategy's context)."""
        return tuple(snapshot.quote for snapshot in self.snapshots.values())

    def may_enter(self, candidates: Iterable[Symbol]) -> frozenset[Symbol]:
        """Of ``candidates``, the symbols with a price, fetched this tick and liquid: where entries may go."""
        prices, illiquid, failed = self.last_prices, self.illiquid, self.failed
        return frozenset(s for s in candidates if s in prices and s not in failed and s not in illiquid)


def active_symbols(configured: Iterable[Symbol], *held: Iterable[Symbol]) -> tuple[Symbol, ...]:
    """The configured symbols, then those the bot itself holds plans, orders or positions in; each once."""
    symbols = dict.fromkeys(configured)
    for group in held:
        symbols.update(dict.fromkeys(group))
    return tuple(symbols)


def screen_candles(candles: tuple[Candle, ...], *, after: datetime | None, latest_open: datetime,
                   ) -> tuple[tuple[Candle, ...], tuple[tuple[str, str], ...]]:
    """The candles fit to use (opened after ``after`` when given, strictly in order, not opened after
    ``latest_open``), and a (reason, detail) per rejected one. Cheap when everything is fine: one pass of
    comparisons, no copy."""
    previous = after
    for candle in candles:
        opened = candle.open_time
        if opened > latest_open or (previous is not None and opened <= previous):
            break
        previous = opened
    else:
        return candles, ()
    previous = after
    kept: list[Candle] = []
    rejected: list[tuple[str, str]] = []
    for candle in candles:
        opened = candle.open_time
        if opened > latest_open:
            rejected.append(("future", f"candle opened at {opened.isoformat()}, after {latest_open.isoformat()}"))
        elif previous is not None and opened <= previous:
            rejected.append(("out_of_order", f"candle opened at {opened.isoformat()}, not after "
                                             f"{previous.isoformat()}"))
        else:
            kept.append(candle)
            previous = opened
    return tuple(kept), tuple(rejected)


def screen_quote(quote: Quote, latest: datetime) -> str | None:
    """Why ``quote`` must not be used (a venue time after ``latest``), or None."""
    if quote.venue_time is not None and quote.venue_time > latest:
        return f"quote stamped {quote.venue_time.isoformat()}, after {latest.isoformat()}"
    return None


class Capturer(Protocol):
    """Stores candles of the symbols it is given when due (``ohlcv.OhlcvCapture``)."""

    async def capture(self, symbols: Iterable[Symbol]) -> int:
        """Capture the due keys of ``symbols``; the number of candles written."""
        ...


_NONE: Mapping[Symbol, tuple[str, ...]] = MappingProxyType({})
_NO_SYMBOLS: frozenset[Symbol] = frozenset()


@attrs.frozen
class _Fetched:
    symbol: Symbol
    candles: tuple[Candle, ...] = ()
    snapshot: Snapshot | None = None
    error: BaseException | None = None


@attrs.define
class MarketDataService:
    """Fetches, per active symbol and concurrently, the closed candles (never one twice) and a snapshot;
    keeps the last close per symbol and the liquidity verdicts."""

    market: MarketData
    clock: Clock
    symbols: tuple[Symbol, ...]
    timeframe: Timeframe
    telemetry: Telemetry | None = None
    policy: MarketDataPolicy = attrs.field(factory=MarketDataPolicy)
    # The symbols the bot itself is in (open plans, orders, holdings): fetched too, whatever the config.
    held: Callable[[], Iterable[Symbol]] | None = None
    capturer: Capturer | None = None
    _step: timedelta = attrs.field(init=False)
    _next_open: dict[Symbol, datetime] = attrs.field(factory=dict, init=False)
    _last_price: dict[Symbol, Decimal] = attrs.field(factory=dict, init=False)
    _first_price: dict[Symbol, Decimal] = attrs.field(factory=dict, init=False)
    _illiquid: dict[Symbol, tuple[str, ...]] = attrs.field(factory=dict, init=False)
    _fetched_ok: tuple[Symbol, ...] = attrs.field(default=(), init=False)

    def __attrs_post_init__(self) -> None:
        self._step = self.timeframe.duration

    async def load_rules(self) -> dict[Symbol, InstrumentRules]:
        """The venue's rules for every symbol (raises ``UnknownSymbolError`` for a missing one)."""
        return {symbol: await self.market.fetch_instrument(symbol) for symbol in self.symbols}

    def active_symbols(self) -> tuple[Symbol, ...]:
        """The configured symbols, then those of the bot's own plans, orders and holdings."""
        if self.held is None:
            return self.symbols
        return active_symbols(self.symbols, self.held())

    async def refresh(self) -> MarketView:
        """Candles closed since the previous refresh and a snapshot, per active symbol, fetched concurrently.

        Raises the first failure only when every symbol failed."""
        symbols = self.active_symbols()
        latest = self.clock.now() + self.policy.future_tolerance  # venue times after this are rejected
        if len(symbols) == 1:
            results: list[_Fetched] | tuple[_Fetched, ...] = [await self._fetch(symbols[0], latest)]
        else:
            results = await asyncio.gather(*(self._fetch(symbol, latest) for symbol in symbols))
        fresh: list[tuple[Symbol, tuple[Candle, ...]]] = []
        snapshots: dict[Symbol, Snapshot] = {}
        failed: list[Symbol] = []
        first_error: BaseException | None = None
        step = self._step
        for result in results:
            symbol, candles = result.symbol, result.candles
            if result.error is not None:
                failed.append(symbol)
                first_error = first_error or result.error
            if candles:
                self._next_open[symbol] = candles[-1].open_time + step
                self._last_price[symbol] = candles[-1].close
                if symbol not in self._first_price:
                    self._first_price[symbol] = candles[-1].close
            if result.snapshot is not None:
                snapshots[symbol] = result.snapshot
                self._judge(symbol, result.snapshot.quote)
                if result.snapshot.quote.last > 0:
                    # The venue's last trade now, not a close up to a candle old: the plan rules, the stops and
                    # targets the bot holds and the loss limits act on it.
                    self._last_price[symbol] = result.snapshot.quote.last
            fresh.append((symbol, candles))
        self._fetched_ok = tuple(r.symbol for r in results if r.error is None)
        if first_error is not None and len(failed) == len(results):
            raise first_error
        return MarketView(now=self.clock.now(), candles=tuple(fresh), last_prices=dict(self._last_price),
                          snapshots=snapshots, illiquid=dict(self._illiquid) if self._illiquid else _NONE,
                          failed=frozenset(failed) if failed else _NO_SYMBOLS)

    async def _fetch(self, symbol: Symbol, latest: datetime) -> _Fetched:
        """One symbol's candles, then its quote; a failure ends the symbol's fetch, not the others'."""
        started = self.clock.monotonic()
        try:
            candles = await self.market.fetch_candles(symbol, self.timeframe, since=self._next_open.get(symbol))
        except MalformedCandlesError as exc:
            # The bad bars are refused; the good ones are used, so the next fetch starts after them (asking
            # for the same range again would meet the same bad bar at every tick: the symbol stalled for good).
            self._reject(symbol, "candles", "invalid", str(exc))
            if not exc.usable:
                return _Fetched(symbol, error=exc)
            candles = exc.usable
        except FETCH_ERRORS as exc:
            self._rejected_if_invalid(symbol, "candles", exc)
            return _Fetched(symbol, error=exc)
        if candles:
            candles, rejected = screen_candles(candles, after=self._last_open(symbol), latest_open=latest)
            for reason, detail in rejected:
                self._reject(symbol, "candles", reason, detail)
        if not self.policy.quotes:
            return _Fetched(symbol, candles)
        try:
            quote = await self.market.fetch_quote(symbol)
        except FETCH_ERRORS as exc:
            self._rejected_if_invalid(symbol, "quote", exc)
            return _Fetched(symbol, candles, error=exc)
        problem = screen_quote(quote, latest)
        if problem is not None:
            self._reject(symbol, "quote", "future", problem)
            return _Fetched(symbol, candles, error=InvalidDataError(problem))
        return _Fetched(symbol, candles, Snapshot(quote=quote, latency=self.clock.monotonic() - started))

    def _last_open(self, symbol: Symbol) -> datetime | None:
        following = self._next_open.get(symbol)
        return None if following is None else following - self._step

    def _judge(self, symbol: Symbol, quote: Quote) -> None:
        problems = liquidity_problems(quote, self.policy.liquidity)
        was_liquid = symbol not in self._illiquid
        if problems:
            self._illiquid[symbol] = problems
        elif not was_liquid:
            del self._illiquid[symbol]
        if was_liquid == bool(problems) and self.telemetry is not None:
            self.telemetry.emit(LiquidityChanged(at=self.clock.now(), symbol=str(symbol), liquid=not problems,
                                                 problems=problems))

    def _rejected_if_invalid(self, symbol: Symbol, kind: str, error: BaseException) -> None:
        if isinstance(error, InvalidDataError):
            self._reject(symbol, kind, "invalid", str(error))

    def _reject(self, symbol: Symbol, kind: str, reason: str, detail: str) -> None:
        if self.telemetry is not None:
            self.telemetry.emit(MarketDataRejected(at=self.clock.now(), symbol=str(symbol), kind=kind,
                                                   reason=reason, detail=detail[:500]))

    async def capture(self) -> int:
        """OHLCV capture (when configured) for the symbols fetched without failure by the last refresh."""
        if self.capturer is None or not self._fetched_ok:
            return 0
        return await self.capturer.capture(self._fetched_ok)

    def liquidity(self, symbol: Symbol) -> tuple[str, ...]:
        """Why ``symbol`` is too thin or too wide for a new entry (empty: liquid, or not judged yet)."""
        return self._illiquid.get(symbol, ())

    def first_price(self, symbol: Symbol) -> Decimal | None:
        """The close of the latest candle of the first fetch of ``symbol``: its price when the run began (for
        buy-and-hold comparisons; the first fetch of a venue run holds its warm-up history, hours before the
        start, so that fetch's first open was a price from before the run)."""
        return self._first_price.get(symbol)

    def last_prices(self) -> dict[Symbol, Decimal]:
        """The latest price per symbol: the last trade of the latest quote when quotes are on and one came after
        the latest close, else the latest close."""
        return dict(self._last_price)
