"""Events of market data (MarketDataService)."""

from __future__ import annotations

import attrs

from trader_core.model.events.base import Event

__all__ = ["CandleCaptureFailed", "LiquidityChanged", "MarketDataRejected"]


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
