"""OHLCV capture: closed candles per (symbol, timeframe) into the store, spaced, deduplicated and pruned.

The original's rules (catalog §5.3), with its defects fixed:

* spacing per (symbol, timeframe) is ``max(min_spacing, timeframe)`` on the monotonic clock (1m -> 60 s,
  5m -> 300 s, 1h -> 3600 s, 1d -> 86400 s); a key is captured again only once that much time has passed,
  and its capture time is recorded only when the capture succeeded (fetched and stored);
* rows are keyed by (bot, symbol, timeframe, candle open time): capturing a candle again replaces it,
  never duplicates it (the original re-inserted every overlapping bar);
* only closed candles are stored (the one still forming is skipped), times are UTC (the original
  converted epoch milliseconds to local time), candles out of order or from the future are rejected;
* after each capture a key keeps its newest ``max_rows`` rows, none opened longer than ``max_age`` ago.

The pure parts (``capture_spacing``, ``CaptureSchedule``, ``closed_candles``) carry the rules;
``OhlcvCapture`` fetches the due keys concurrently and writes one batch per capture (one unit of work).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime, timedelta

import attrs

from trader_core.market_data.service import FETCH_ERRORS, screen_candles
from trader_core.model import Candle, InvalidValueError, MalformedCandlesError, StoreError, Symbol, Timeframe
from trader_core.model.events import CandleCaptureFailed, MarketDataRejected
from trader_core.ports import Clock, MarketData, Store, Telemetry

__all__ = ["CaptureKey", "CapturePolicy", "CaptureSchedule", "OhlcvCapture", "capture_spacing", "closed_candles"]

CaptureKey = tuple[Symbol, Timeframe]


@attrs.frozen(kw_only=True)
class CapturePolicy:
    """What to capture and how much to keep. ``timeframes`` empty: no capture. ``max_age`` None: no age
    limit. ``bars``: candles asked for per fetch (the newest ones)."""

    timeframes: tuple[Timeframe, ...] = ()
    min_spacing: timedelta = timedelta(seconds=60)
    max_rows: int = 1000
    max_age: timedelta | None = timedelta(days=30)
    bars: int = 50
    future_tolerance: timedelta = timedelta(seconds=5)

    def __attrs_post_init__(self) -> None:
        if self.max_rows < 1:
            raise InvalidValueError(f"capture max_rows must be at least 1, got {self.max_rows}")
        if self.bars < 1:
            raise InvalidValueError(f"capture bars must be at least 1, got {self.bars}")
        if self.min_spacing < timedelta(0):
            raise InvalidValueError(f"capture min_spacing cannot be negative, got {self.min_spacing}")
        if self.max_age is not None and self.max_age <= timedelta(0):
            raise InvalidValueError(f"capture max_age must be positive, got {self.max_age}")


def capture_spacing(timeframe: Timeframe, min_spacing: timedelta) -> timedelta:
    """The least time between two captures of one (symbol, ``timeframe``): ``max(min_spacing, timeframe)``."""
    return max(min_spacing, timeframe.duration)


@attrs.define
class CaptureSchedule:
    """When each (symbol, timeframe) was last captured (monotonic time) and which keys are due now."""

    timeframes: tuple[Timeframe, ...]
    min_spacing: timedelta
    _last: dict[CaptureKey, timedelta] = attrs.field(factory=dict, init=False)

    def due(self, symbols: Iterable[Symbol], now: timedelta) -> tuple[CaptureKey, ...]:
        """The keys of ``symbols`` never captured, or captured at least their spacing before ``now``."""
        due = []
        for symbol in symbols:
            for timeframe in self.timeframes:
                last = self._last.get((symbol, timeframe))
                if last is None or now - last >= capture_spacing(timeframe, self.min_spacing):
                    due.append((symbol, timeframe))
        return tuple(due)

    def captured(self, key: CaptureKey, now: timedelta) -> None:
        """``key`` was captured (fetched and stored) at ``now``."""
        self._last[key] = now

    def last(self, key: CaptureKey) -> timedelta | None:
        """When ``key`` was last captured, or None."""
        return self._last.get(key)


def closed_candles(candles: Iterable[Candle], now: datetime, oldest: datetime | None = None) -> tuple[Candle, ...]:
    """The candles closed by ``now`` (the forming one is skipped), none opened before ``oldest``."""
    return tuple(c for c in candles if c.close_time <= now and (oldest is None or c.open_time >= oldest))


@attrs.define
class OhlcvCapture:
    """Captures the due (symbol, timeframe) keys: fetched concurrently, stored in one unit of work."""

    market: MarketData
    store: Store
    clock: Clock
    telemetry: Telemetry
    policy: CapturePolicy
    schedule: CaptureSchedule = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.schedule = CaptureSchedule(self.policy.timeframes, self.policy.min_spacing)

    async def capture(self, symbols: Iterable[Symbol]) -> int:
        """Capture every due key of ``symbols``; returns how many candles were written. A key whose fetch
        failed (already reported by the monitored port) is tried again next time; a store failure is
        reported (``CandleCaptureFailed``) and every key is tried again next time."""
        if not self.policy.timeframes:
            return 0
        due = self.schedule.due(symbols, self.clock.monotonic())
        if not due:
            return 0
        fetched = await asyncio.gather(*(self._fetch(key) for key in due))
        done = [(key, candles) for key, candles in zip(due, fetched, strict=True) if candles is not None]
        if not done:
            return 0
        now = self.clock.now()
        oldest = None if self.policy.max_age is None else now - self.policy.max_age
        batch = [candle for _, candles in done for candle in candles]
        try:
            with self.store.unit_of_work() as uow:
                written = uow.candles.upsert(batch) if batch else 0
                for (symbol, timeframe), _ in done:
                    uow.candles.prune(symbol, timeframe, keep=self.policy.max_rows, older_than=oldest)
                uow.commit()
        except StoreError as exc:
            self.telemetry.emit(CandleCaptureFailed(at=now, symbols=tuple(sorted({str(k[0]) for k, _ in done})),
                                                    error=str(exc)[:500]))
            return 0
        mono = self.clock.monotonic()
        for key, _ in done:
            self.schedule.captured(key, mono)
        return written

    async def _fetch(self, key: CaptureKey) -> tuple[Candle, ...] | None:
        """The key's newest closed candles fit to store, or None when the fetch failed."""
        symbol, timeframe = key
        now = self.clock.now()
        try:
            candles = await self.market.fetch_candles(symbol, timeframe, limit=self.policy.bars)
        except MalformedCandlesError as exc:  # the bad bars are left out, the good ones stored
            self.telemetry.emit(MarketDataRejected(at=now, symbol=str(symbol), kind=f"candles {timeframe}",
                                                   reason="invalid", detail=str(exc)[:500]))
            candles = exc.usable
        except FETCH_ERRORS:
            return None
        candles, rejected = screen_candles(candles, after=None, latest_open=now + self.policy.future_tolerance)
        for reason, detail in rejected:
            self.telemetry.emit(MarketDataRejected(at=now, symbol=str(symbol), kind=f"candles {timeframe}",
                                                   reason=reason, detail=detail[:500]))
        oldest = None if self.policy.max_age is None else now - self.policy.max_age
        return closed_candles(candles, now, oldest)
