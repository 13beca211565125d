"""Clock adapters: the real wall clock, a clock that follows a venue's (offset and rate), and a simulated
clock that replay drives forward by hand."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import attrs

from trader_core.model.market import require_utc

__all__ = ["SimulatedClock", "SystemClock", "VenueClock"]


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

    def step_wall(self, delta: timedelta) -> None:
        """A correction of the wall clock (NTP): ``now()`` moves forward by ``delta``, ``monotonic()`` does not."""
        self.advance(delta)
        self._start = self._start + delta


_MIN_RATE_BASE = timedelta(milliseconds=200)  # samples closer than this do not estimate the rate
_OFF_LINE_MS = 5000  # a sample this far (times the rate) from the prediction is off the line


class VenueClock:
    """The venue's clock as last measured: its time at a sample plus the local time elapsed since, times the
    rate measured between the first and the latest sample (1 until two samples are far enough apart).

    Against a real venue the rate is 1 and this is the offset ccxt keeps for signing; against an emulator
    whose market clock runs faster than real time, candle times, ages and signed timestamps all follow it.
    ``now()`` never goes backwards; ``monotonic()`` is the machine's (durations stay in real seconds).
    Once the rate is measured, a sample more than 5 s (times the rate) off the prediction is set aside: a
    one-off glitch is ignored, and only a second sample that agrees with it moves the clock there (a new
    anchor, the rate measured again from it)."""

    def __init__(self, wall: Callable[[], float] = time.time, mono: Callable[[], float] = time.monotonic) -> None:
        self._wall, self._mono = wall, mono
        self._first: tuple[float, int] | None = None  # (monotonic s, venue ms)
        self._latest: tuple[float, int] | None = None
        self._suspect: tuple[float, int] | None = None
        self._measured = False
        self._rate = 1.0
        self._last_ms = 0

    @property
    def rate(self) -> float:
        """Venue milliseconds per local millisecond, as measured."""
        return self._rate

    def monotonic(self) -> timedelta:
        """The machine's monotonic reading; only differences mean anything."""
        return timedelta(seconds=self._mono())

    def observe(self, venue_ms: int, sent: timedelta, received: timedelta) -> None:
        """Record the venue's time ``venue_ms``, asked at ``sent`` and answered at ``received``
        (``monotonic()`` readings): it is taken to be the venue's time half-way between them."""
        at = ((sent + received) / 2).total_seconds()
        if self._measured and self._latest is not None and self._off_line(self._latest, at, venue_ms):
            suspect, self._suspect = self._suspect, (at, venue_ms)
            if suspect is None or self._off_line(suspect, at, venue_ms):
                return  # set aside until a second sample agrees with it
            self._first, self._measured, self._suspect = suspect, False, None
        self._suspect = None
        if self._first is None:
            self._first = (at, venue_ms)
        elif at - self._first[0] >= _MIN_RATE_BASE.total_seconds():
            self._rate = (venue_ms - self._first[1]) / ((at - self._first[0]) * 1000)
            self._measured = True
        self._latest = (at, venue_ms)

    def _off_line(self, base: tuple[float, int], at: float, venue_ms: int) -> bool:
        predicted = base[1] + (at - base[0]) * 1000 * self._rate
        return abs(venue_ms - predicted) > _OFF_LINE_MS * max(1.0, self._rate)

    def age(self) -> timedelta | None:
        """Local time since the latest sample (None before the first)."""
        return None if self._latest is None else timedelta(seconds=self._mono() - self._latest[0])

    def now_ms(self) -> int:
        """The venue's time now in ms (the wall clock until the first sample); never goes backwards."""
        if self._latest is None:
            ms = int(self._wall() * 1000)
        else:
            at, venue_ms = self._latest
            ms = venue_ms + int((self._mono() - at) * 1000 * self._rate)
        self._last_ms = max(self._last_ms, ms)
        return self._last_ms

    def now(self) -> datetime:
        """The venue's time now, aware UTC."""
        return datetime.fromtimestamp(self.now_ms() / 1000, UTC)

    def time_difference_ms(self) -> int:
        """Local wall time minus the venue's, in ms: what ccxt subtracts from its clock to sign requests."""
        return int(self._wall() * 1000) - self.now_ms()
