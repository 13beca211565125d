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
        """``(quote per unit of asset, where the rate came from)``; ``(0, why)`` when no market values the asset
        in the quote at all (the fee is then booked unvalued, rather than the fill held back for good); None
        when no rate can be had now (venue down: asked again on the next sync). Never raises for an unavailable
        rate."""
        ...
