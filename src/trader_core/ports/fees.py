"""The fee-rate port: what one unit of a third asset (e.g. BNB) is worth in a quote asset, now.

The app supplies it (e.g. from ``MarketData.fetch_quote`` of ``BNB/USDT``). It is asked before a
booking's unit of work opens, never inside one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from trader_core.model.ids import Asset

__all__ = ["FeeRates"]


class FeeRates(Protocol):
    """Rates for valuing fees paid in an asset that is neither the base nor the quote of the fill."""

    async def rate(self, asset: Asset, quote: Asset) -> tuple[Decimal, str] | None:
        """``(quote per unit of asset, where the rate came from)``, or None when no rate is available
        (unknown pair, venue down). Never raises for an unavailable rate."""
        ...
