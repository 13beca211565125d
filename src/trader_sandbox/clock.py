"""The emulator's market clock: the one time its server time, candle times and price walk agree on.

Without a speed the clock is the wall clock (candles move only when stepped by hand or by the step timer).
With a speed the market clock runs ``speed`` times as fast as the wall clock from the moment the exchange
is built, and a driver thread reveals each candle when the market clock reaches its open time, walking its
price path (open, nearer extreme, other extreme, close) over the candle's first three quarters, so triggers
fire at market times inside the candle that reached them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from trader_sandbox.fixtures import Candle

__all__ = ["MarketClock", "PricePath", "rebase"]


class MarketClock:
    """``now_ms()``: the market time in ms. ``speed`` None or 1: the wall clock; else accelerated."""

    def __init__(self, speed: float | None = None, wall: Callable[[], float] = time.time) -> None:
        if speed is not None and not speed > 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self._wall = wall
        self._origin_wall = wall()

    @property
    def driven(self) -> bool:
        """True when the clock (not a step) reveals candles: a speed was given."""
        return self.speed is not None

    def now_ms(self) -> int:
        """The market time in ms: wall time at the origin plus the elapsed wall time times the speed."""
        wall = self._wall()
        if self.speed is None or self.speed == 1:
            return int(wall * 1000)
        return int((self._origin_wall + (wall - self._origin_wall) * self.speed) * 1000)


def rebase(candles: list[Candle], now_ms: int, history: int) -> list[Candle]:
    """Shift ``candles`` so the last of the first ``history`` ones is the candle forming at ``now_ms``
    (its open time is ``now_ms`` floored to the series' interval); later ones open in the market's future."""
    if not candles:
        return candles
    interval = candles[1].time - candles[0].time if len(candles) > 1 else 60_000
    last = candles[min(max(1, history), len(candles)) - 1]
    shift = now_ms // interval * interval - last.time
    return [replace(c, time=c.time + shift) for c in candles]


class PricePath:
    """The timed price points of revealed candles still to walk: ``due(now)`` pops those reached."""

    def __init__(self) -> None:
        self._points: list[tuple[int, Decimal]] = []

    def schedule(self, candle: Candle, interval_ms: int, path: list[Decimal]) -> None:
        """Spread ``path`` over the candle: point ``k`` of ``n`` at ``open + k * interval / (n + 1)``."""
        gap = interval_ms // (len(path) + 1) if path else 0
        self._points.extend((candle.time + k * gap, price) for k, price in enumerate(path))

    def due(self, now_ms: int) -> list[Decimal]:
        """The prices whose time has come, oldest first (removed from the path)."""
        n = 0
        while n < len(self._points) and self._points[n][0] <= now_ms:
            n += 1
        due, self._points = self._points[:n], self._points[n:]
        return [price for _, price in due]

    @property
    def empty(self) -> bool:
        """True when every scheduled point was walked."""
        return not self._points
