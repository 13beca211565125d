"""Following an emulator's market clock with ccxt: sample ``GET time`` into a :class:`VenueClock` and keep
ccxt's signing offset (``options['timeDifference']``) on it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from trader_adapters.clock import VenueClock

__all__ = ["SAMPLE_EVERY", "align_signing", "sample_venue_clock"]

SAMPLE_EVERY = timedelta(seconds=1)  # at most this long between samples while candles are fetched
_GAP_S = 0.3  # between the two samples taken at connect (a first rate estimate)
# Requests are stamped this far behind the venue clock's estimate: Binance refuses a timestamp 1 s ahead of
# its time but accepts one up to recvWindow (ccxt sends 10 s) behind, so an estimate slightly fast still passes.
SIGN_BEHIND_MS = 4000


async def sample_venue_clock(client: Any, clock: VenueClock, samples: int = 1) -> None:
    """Ask the venue's time ``samples`` times (``_GAP_S`` apart), feed each to ``clock``, align signing."""
    for i in range(samples):
        if i:
            await asyncio.sleep(_GAP_S)
        sent = clock.monotonic()
        server_ms = await client.fetch_time()
        clock.observe(int(server_ms), sent, clock.monotonic())
    align_signing(client, clock)


def align_signing(client: Any, clock: VenueClock) -> None:
    """Make ccxt's request timestamps the venue clock's time, ``SIGN_BEHIND_MS`` behind."""
    client.options["timeDifference"] = clock.time_difference_ms() + SIGN_BEHIND_MS
