"""``ReplayMarket``: the ``MarketData`` port over in-memory candles, revealed as a clock passes their close.

A candle becomes visible once ``clock.now() >= close_time``; nothing later is ever returned (no look-ahead).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from trader_adapters.feeds.rows import CandleRows
from trader_adapters.paper.instruments import default_rules, to_tick
from trader_core.model.errors import ConfigError, ExchangeUnavailableError, UnknownSymbolError
from trader_core.model.ids import Symbol
from trader_core.model.instrument import InstrumentRules
from trader_core.model.market import Candle, Quote, Timeframe
from trader_core.ports.clock import Clock

__all__ = ["CandleListener", "QuoteListener", "ReplayMarket"]

CandleListener = Callable[[Candle], None]
QuoteListener = Callable[[Quote], None]
_BPS = Decimal(10_000)


def _open_time(candle: Candle) -> datetime:
    return candle.open_time


def _key(candle: Candle) -> tuple[datetime, str]:
    return candle.open_time, str(candle.symbol)


@attrs.define(eq=False)
class _Track:
    """One symbol's series and how much of it is revealed (saves hashing a Symbol per candle)."""

    symbol: Symbol
    candles: Sequence[Candle] = attrs.field(repr=False)  # a list, or compact rows until something is appended
    revealed: int = 0

    def growable(self) -> list[Candle]:
        """The series as a list (compact rows are built out on the first append)."""
        if not isinstance(self.candles, list):
            self.candles = list(self.candles)
        return self.candles


class _Repeated(Sequence[_Track]):
    """One track for every candle of a single-symbol schedule, without a list of them."""

    def __init__(self, track: _Track, count: int) -> None:
        self._track, self._count = track, count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._track] * len(range(*index.indices(self._count)))
        if not -self._count <= index < self._count:
            raise IndexError(index)
        return self._track


@attrs.define(init=False, eq=False)
class ReplayMarket:
    """Market data replayed from ``series`` (one candle sequence per symbol, one timeframe) as ``clock`` moves.

    Every public method first calls :meth:`sync`, which reveals the candles closed by now in
    (close time, symbol) order and hands each to every subscribed listener before returning data.
    Quotes are synthesized from the last revealed candle with a spread of ``spread_bps``.
    """

    _clock: Clock
    _timeframe: Timeframe
    _rules: Callable[[Symbol], InstrumentRules] = attrs.field(repr=False)
    _rules_cache: dict[Symbol, InstrumentRules] = attrs.field(repr=False)
    _spread_bps: Decimal
    _tracks: dict[Symbol, _Track] = attrs.field(repr=False)
    # Every candle of every symbol in reveal order: (open time, symbol text), which is (close time,
    # symbol) order as all share one timeframe. Parallel lists: no per-candle tuple to build.
    _schedule: Sequence[Candle] = attrs.field(repr=False)
    _schedule_tracks: Sequence[_Track] = attrs.field(repr=False)
    _cursor: int
    _listeners: list[CandleListener] = attrs.field(repr=False)
    _quote_listeners: list[QuoteListener] = attrs.field(repr=False)
    _syncing: bool
    # The last quote per symbol, with the revealed count and time it was made at: asked again in the same
    # tick (the service's snapshot, then an order's slippage check), it is not built twice.
    _quotes: dict[Symbol, tuple[int, datetime, Quote]] = attrs.field(repr=False)

    def __init__(
        self,
        series: Mapping[Symbol, Sequence[Candle]],
        clock: Clock,
        *,
        timeframe: Timeframe | None = None,
        rules: Callable[[Symbol], InstrumentRules] = default_rules,
        spread_bps: Decimal = Decimal(2),
    ) -> None:
        """A market over ``series``. ``timeframe`` is taken from the candles unless given (it must be
        given when every series is empty). Raises ``ConfigError`` on mixed timeframes, a candle filed
        under the wrong symbol, or a series that is not strictly ascending."""
        if timeframe is None:
            firsts = [candles[0] for candles in series.values() if candles]
            if not firsts:
                raise ConfigError("replay market: no candles, and no timeframe given")
            timeframe = firsts[0].timeframe
        if spread_bps < 0:
            raise ConfigError(f"replay market: spread_bps cannot be negative, got {spread_bps}")
        self._clock, self._timeframe, self._spread_bps = clock, timeframe, spread_bps
        self._rules, self._rules_cache = rules, {}
        self._tracks, self._cursor, self._listeners, self._syncing = {}, 0, [], False
        self._quote_listeners = []
        self._schedule, self._schedule_tracks, self._quotes = [], [], {}
        for symbol, candles in series.items():
            self._add_symbol(symbol, candles)
        tracks = sorted(self._tracks.values(), key=lambda track: str(track.symbol))
        if len(tracks) == 1:
            only = tracks[0]  # compact rows serve as the schedule itself; a list is copied (append grows both)
            self._schedule = only.candles if isinstance(only.candles, CandleRows) else list(only.candles)
            self._schedule_tracks = _Repeated(only, len(only.candles))
        else:
            # heapq.merge keeps the input order on ties: equal open times come out by symbol text.
            merged = list(heapq.merge(
                *(zip(track.candles, itertools.repeat(track)) for track in tracks),
                key=lambda pair: pair[0].open_time,
            ))
            self._schedule = [candle for candle, _ in merged]
            self._schedule_tracks = [track for _, track in merged]

    def _add_symbol(self, symbol: Symbol, candles: Sequence[Candle]) -> _Track:
        step, timeframe = self._timeframe.duration, self._timeframe
        if isinstance(candles, CandleRows) and candles.symbol == symbol and candles.timeframe == timeframe:
            # Compact rows, checked ascending by their loader: kept as they are (never built all at once).
            track = self._tracks[symbol] = _Track(symbol, candles)
            return track
        previous: Candle | None = None
        for candle in candles:
            if (candle.symbol is not symbol and candle.symbol != symbol) or candle.timeframe != timeframe:
                raise ConfigError(
                    f"replay market: {candle.symbol} {candle.timeframe} candle at "
                    f"{candle.open_time.isoformat()} filed under {symbol} {timeframe}"
                )
            if previous is not None and candle.open_time < previous.open_time + step:
                raise ConfigError(
                    f"replay market: {symbol} candles not ascending at {candle.open_time.isoformat()}"
                )
            previous = candle
        track = self._tracks[symbol] = _Track(symbol, list(candles))
        return track

    def append(self, candle: Candle, *, late: bool = False) -> None:
        """Add a newer candle (live feeding, tests). A new symbol is listed on its first candle.

        Raises ``ConfigError`` if it is not after the symbol's last candle or, unless ``late``, would close
        before a candle already revealed (history cannot be rewritten). ``late`` (live feeding: one symbol's
        answer came a tick after another's) takes it anyway, revealed at the next sync: each symbol's own
        candles stay in order, which is all its orders are matched on.
        """
        if candle.timeframe != self._timeframe:
            raise ConfigError(f"replay market holds {self._timeframe} candles, got {candle.timeframe}")
        track = self._tracks.get(candle.symbol)
        if track and track.candles and candle.open_time < track.candles[-1].open_time + self._timeframe.duration:
            raise ConfigError(
                f"replay market: {candle.symbol} candle at {candle.open_time.isoformat()} not after the last"
            )
        if not isinstance(self._schedule, list):
            self._schedule = list(self._schedule)
        if not isinstance(self._schedule_tracks, list):
            self._schedule_tracks = list(self._schedule_tracks)
        schedule, name = self._schedule, str(candle.symbol)
        if not late and self._cursor and (candle.open_time, name) < _key(schedule[self._cursor - 1]):
            raise ConfigError(f"replay market: candle at {candle.open_time.isoformat()} closes before revealed data")
        if track is None:
            track = self._add_symbol(candle.symbol, [])
        index = bisect.bisect_right(schedule, candle.open_time, lo=self._cursor, key=_open_time)
        while index > self._cursor and _key(schedule[index - 1]) > (candle.open_time, name):
            index -= 1  # same open time, later symbol: keep (time, symbol) order
        schedule.insert(index, candle)
        self._schedule_tracks.insert(index, track)
        track.growable().append(candle)

    def subscribe(self, listener: CandleListener) -> None:
        """Call ``listener`` once per newly revealed candle, in reveal order, from :meth:`sync`."""
        self._listeners.append(listener)

    def subscribe_quotes(self, listener: QuoteListener) -> None:
        """Call ``listener`` with every live quote revealed (paper trading on live data; a replay has none)."""
        self._quote_listeners.append(listener)

    def reveal_quote(self, quote: Quote) -> None:
        """A live venue's quote, just fetched: handed to the quote listeners (the paper venue matches its resting
        orders against it)."""
        for listener in self._quote_listeners:
            listener(quote)

    def sync(self) -> None:
        """Reveal every candle closed by ``clock.now()`` and notify the listeners, oldest first."""
        if self._syncing:
            return  # a listener reading the market: the outer loop is already revealing
        # A candle has closed once open_time + step <= now: compare open times, no datetime per candle.
        latest_open = self._clock.now() - self._timeframe.duration
        schedule, tracks, listeners = self._schedule, self._schedule_tracks, self._listeners
        self._syncing = True
        try:
            while self._cursor < len(schedule) and schedule[self._cursor].open_time <= latest_open:
                candle, track = schedule[self._cursor], tracks[self._cursor]
                self._cursor += 1
                track.revealed += 1  # visible to listeners that read the market back
                for listener in listeners:
                    listener(candle)
        finally:
            self._syncing = False

    @property
    def symbols(self) -> tuple[Symbol, ...]:
        """Every listed symbol, sorted."""
        return tuple(sorted(self._tracks))

    @property
    def timeframe(self) -> Timeframe:
        """The timeframe of every candle."""
        return self._timeframe

    @property
    def start_time(self) -> datetime:
        """When the first candle closes (the first moment any data is visible)."""
        if not self._schedule:
            raise ConfigError("replay market has no candles")
        return self._schedule[0].open_time + self._timeframe.duration

    @property
    def end_time(self) -> datetime:
        """When the last candle closes."""
        if not self._schedule:
            raise ConfigError("replay market has no candles")
        return self._schedule[-1].open_time + self._timeframe.duration

    @property
    def is_exhausted(self) -> bool:
        """True once every candle has been revealed (checks the clock first)."""
        self.sync()
        return self._cursor >= len(self._schedule)

    def next_candle(self) -> Candle | None:
        """The first candle not revealed yet (any symbol), or None at the end of the data."""
        self.sync()
        return self._schedule[self._cursor] if self._cursor < len(self._schedule) else None

    def last_candle(self, symbol: Symbol) -> Candle | None:
        """The latest revealed candle of ``symbol`` as of the last sync (no sync: for listeners)."""
        track = self._tracks.get(symbol)
        return track.candles[track.revealed - 1] if track is not None and track.revealed else None

    def is_listed(self, symbol: Symbol) -> bool:
        """True when ``symbol`` has a series here."""
        return symbol in self._tracks

    def rules_for(self, symbol: Symbol) -> InstrumentRules:
        """The (cached) rules for ``symbol``, listed or not."""
        rules = self._rules_cache.get(symbol)
        if rules is None:
            rules = self._rules_cache[symbol] = self._rules(symbol)
        return rules

    def _track(self, symbol: Symbol) -> _Track:
        track = self._tracks.get(symbol)
        if track is None:
            raise UnknownSymbolError(f"replay market has no {symbol} candles")
        return track

    async def fetch_candles(
        self, symbol: Symbol, timeframe: Timeframe, *, since: datetime | None = None, limit: int = 500
    ) -> tuple[Candle, ...]:
        """Revealed candles, oldest first, ``open_time >= since`` (or the latest ``limit``).

        O(log n + limit): a bisect into the symbol's series, never a scan or a copy of it."""
        self.sync()
        track = self._track(symbol)
        if timeframe != self._timeframe:
            raise ConfigError(f"replay market holds {self._timeframe} candles, asked for {timeframe}")
        candles, count = track.candles, track.revealed
        if limit <= 0:
            return ()
        if since is None:
            return tuple(candles[max(0, count - limit) : count])
        first = (candles.first_from(since, count) if isinstance(candles, CandleRows)
                 else bisect.bisect_left(candles, since, 0, count, key=_open_time))
        return tuple(candles[first : min(first + limit, count)])

    async def fetch_quote(self, symbol: Symbol) -> Quote:
        """A quote from the last revealed candle: last = close, bid/ask = close ∓ half the spread on
        the tick (outwards), both sizes = the candle's volume, venue time = its close time.
        Raises ``ExchangeUnavailableError`` before the first candle of ``symbol`` has closed."""
        self.sync()
        track = self._track(symbol)
        if not track.revealed:
            raise ExchangeUnavailableError(f"no {symbol} candle has closed yet at {self._clock.now().isoformat()}")
        now = self._clock.now()
        cached = self._quotes.get(symbol)
        if cached is not None and cached[0] == track.revealed and cached[1] == now:
            return cached[2]
        candle = track.candles[track.revealed - 1]
        tick = self.rules_for(symbol).tick_size
        half = candle.close * self._spread_bps / _BPS / 2
        quote = Quote(
            symbol=symbol,
            bid=to_tick(candle.close - half, tick, up=False),
            ask=to_tick(candle.close + half, tick, up=True),
            last=candle.close, bid_size=candle.volume, ask_size=candle.volume,
            observed_at=now, venue_time=candle.close_time,
        )
        self._quotes[symbol] = (track.revealed, now, quote)
        return quote

    async def fetch_instrument(self, symbol: Symbol) -> InstrumentRules:
        """The rules for ``symbol``. Raises ``UnknownSymbolError`` when it has no series."""
        self.sync()
        self._track(symbol)
        return self.rules_for(symbol)

    async def close(self) -> None:
        """Nothing to release."""
