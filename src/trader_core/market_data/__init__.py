"""MarketDataService: closed candles, snapshots, the liquidity gate; OHLCV capture."""

from __future__ import annotations

from trader_core.market_data.ohlcv import (
    CaptureKey,
    CapturePolicy,
    CaptureSchedule,
    OhlcvCapture,
    capture_spacing,
    closed_candles,
)
from trader_core.market_data.service import (
    FETCH_ERRORS,
    Capturer,
    MarketDataPolicy,
    MarketDataService,
    MarketView,
    Snapshot,
    active_symbols,
    screen_candles,
    screen_quote,
)

__all__ = [
    "FETCH_ERRORS",
    "CaptureKey",
    "CapturePolicy",
    "CaptureSchedule",
    "Capturer",
    "MarketDataPolicy",
    "MarketDataService",
    "MarketView",
    "OhlcvCapture",
    "Snapshot",
    "active_symbols",
    "capture_spacing",
    "closed_candles",
    "screen_candles",
    "screen_quote",
]
