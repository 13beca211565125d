"""Clock adapters: the real wall clock and a simulated clock that replay drives forward by hand."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import attrs

from trader_core.model.market import require_utc

__all__ = ["SimulatedClock", "SystemClock"]


class SystemClock:
    """The machine's clock: ``now()`` is ``datetime.now(UTC)``, ``monotonic()`` is ``time.monotonic``."""

    def now(self) -> datetime:
        """The current wall-clock time, aware UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> timedelta:
        """A monotonic reading; only differences mean anything."""
        return timedelta(seconds=time.monotonic())


@attrs.define
class SimulatedClock:
    """A clock that only moves when told to, and never backwards.

    ``monotonic()`` is the simulated time elapsed since ``start``, so measured latencies are zero
    unless a test advances the clock in between.
    """

    _start: datetime = attrs.field(alias="start")
    _now: datetime = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        require_utc(self._start, "start")
        self._now = self._start

    def now(self) -> datetime:
        """The simulated current time."""
        return self._now

    def monotonic(self) -> timedelta:
        """Simulated time elapsed since ``start``."""
        return self._now - self._start

    def advance_to(self, t: datetime) -> None:
        """Move to ``t``; staying put is allowed, going back raises ``ValueError``."""
        require_utc(t, "t")
        if t < self._now:
            raise ValueError(f"simulated clock cannot go back from {self._now.isoformat()} to {t.isoformat()}")
        self._now = t

    def advance(self, delta: timedelta) -> None:
        """Move forward by ``delta`` (which must not be negative)."""
        if delta < timedelta(0):
            raise ValueError(f"simulated clock cannot advance by a negative {delta}")
        self._now = self._now + delta
