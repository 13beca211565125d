"""A candle CSV whose closes follow a sine wave: SMA(2) and SMA(3) cross every few candles, so a replay trades."""

from __future__ import annotations

import math
from pathlib import Path

__all__ = ["wave_csv"]


def wave_csv(path: Path, *, candles: int, start_ms: int, scale: float = 1.0) -> Path:
    """Write ``candles`` one-minute candles from ``start_ms`` to ``path`` (every price times ``scale``)."""
    rows = ["timestamp_ms,open,high,low,close,volume"]
    previous = 30_000.0
    for i in range(candles):
        close = 30_000 + 600 * math.sin(i / 4)
        rows.append(f"{start_ms + i * 60_000},{previous * scale:.2f},{(max(previous, close) + 5) * scale:.2f},"
                    f"{(min(previous, close) - 5) * scale:.2f},{close * scale:.2f},12.5")
        previous = close
    path.write_text("\n".join(rows) + "\n")
    return path
