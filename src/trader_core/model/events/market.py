"""Events of market data (MarketDataService)."""

from __future__ import annotations

import attrs

from trader_core.model.events.base import Event

__all__ = ["CandleCaptureFailed", "DataGap", "LiquidityChanged", "MarketDataRejected"]


# --- market data (MarketDataService) ---------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class MarketDataRejected(Event):
    """The venue sent market data the bot will neither store nor trade on (``kind``: candles or quote;
    ``reason``: invalid, future or out_of_order); the symbol's other data and the other symbols go on."""

    symbol: str
    kind: str
    reason: str
    detail: str


@attrs.frozen(kw_only=True)
class LiquidityChanged(Event):
    """A symbol's liquidity verdict changed: ``liquid`` False stops new entries in it (``problems`` say why)."""

    symbol: str
    liquid: bool
    problems: tuple[str, ...]


@attrs.frozen(kw_only=True)
class CandleCaptureFailed(Event):
    """Storing captured candles failed; capture is retried at the next due time (trading goes on)."""

    symbols: tuple[str, ...]
    error: str


@attrs.frozen(kw_only=True)
class DataGap(Event):
    """A replay crossed a hole in its candles in one step (no empty minute ticked through): the last candle
    before it closed at ``last_close``, the next opens at ``resumed_at`` (``at`` is that candle's close).
    ``length_s`` is the hole's length in seconds, ``missing`` the candles it lacks. Plans, protection and the
    stale-data rules then meet the next candle as a live bot meets the market after an outage."""

    last_close: str
    resumed_at: str
    length_s: str
    missing: int
