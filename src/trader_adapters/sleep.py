"""Sleepers paired with clocks: the orchestrator's way to wait for the next tick."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Protocol

import attrs

from trader_adapters.clock import SimulatedClock
from trader_core.model import Candle
from trader_core.model.events import DataGap
from trader_core.ports import Telemetry

__all__ = ["ReplaySleeper", "SimulatedSleeper", "SystemSleeper"]


@attrs.define
class SimulatedSleeper:
    """Returns at once, moving the simulated clock forward: replay runs as fast as the CPU allows."""

    clock: SimulatedClock

    async def sleep(self, duration: timedelta) -> bool:
        """Advance the clock by ``duration``; True (a simulated sleep is never interrupted)."""
        self.clock.advance(duration)
        return True

    def wake(self) -> None:
        """Nothing to wake: simulated sleeps do not block."""


class UpcomingCandles(Protocol):
    """What a replay's sleeper asks its market (``ReplayMarket``)."""

    def next_candle(self) -> Candle | None:
        """The first candle not revealed yet, or None at the end of the data."""
        ...


@attrs.define
class ReplaySleeper:
    """A replay's sleep: the clock moves by the interval, except across a hole in the candles, which it crosses
    in one step to the close of the next candle (one ``DataGap`` event with the hole's length) instead of
    ticking through every empty interval. A replay is driven by its candles, not by the minutes between them."""

    clock: SimulatedClock
    market: UpcomingCandles
    telemetry: Telemetry

    async def sleep(self, duration: timedelta) -> bool:
        """Advance the clock by ``duration``, or to the next candle's close when none closes before; True."""
        now = self.clock.now()
        upcoming = self.market.next_candle()
        if upcoming is None or upcoming.close_time <= now + duration:
            self.clock.advance(duration)
            return True
        hole = upcoming.open_time - now
        self.clock.advance(upcoming.close_time - now)
        if hole > timedelta(0):
            self.telemetry.emit(DataGap(
                at=self.clock.now(), last_close=now.isoformat(), resumed_at=upcoming.open_time.isoformat(),
                length_s=str(int(hole.total_seconds())), missing=hole // upcoming.timeframe.duration,
            ))
        return True

    def wake(self) -> None:
        """Nothing to wake: simulated sleeps do not block."""


@attrs.define
class SystemSleeper:
    """Sleeps in real time; ``wake()`` (a command or a signal) ends the sleep early."""

    _event: asyncio.Event = attrs.field(factory=asyncio.Event, init=False)

    async def sleep(self, duration: timedelta) -> bool:
        """Wait up to ``duration``; False when woken early."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout=max(0.0, duration.total_seconds()))
        except TimeoutError:
            return True
        self._event.clear()
        return False

    def wake(self) -> None:
        """End the current (or next) sleep now."""
        self._event.set()
