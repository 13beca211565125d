"""Sleepers paired with clocks: the orchestrator's way to wait for the next tick."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import attrs

from trader_adapters.clock import SimulatedClock

__all__ = ["SimulatedSleeper", "SystemSleeper"]


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
