"""A strategy that never trades, for ``bench/peer_freqtrade.py``'s floor: every candle still runs through the
market data, health, resync, plan and risk services, and nothing is ever sent, booked or closed."""

from __future__ import annotations

from typing import Any


class Idle:
    """No signal, ever."""

    async def decide(self, _context: Any) -> tuple[()]:
        return ()
