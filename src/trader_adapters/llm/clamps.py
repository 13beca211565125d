"""The original's level clamp (original §0), kept where it is intended: a model's stop and target for a
BUY or SELL are pulled into a band of ``band_pct`` around the price (BUY: stop in [price - band, price],
target in [price, price + band]; SELL mirrored; relative stop_pct/target_pct at most ``band_pct``).

The original's quantity and exposure clamps are not repeated here: the action handler's sizing
(max_order_value, exposure headroom, minimum trade size) applies to every signal, the model's included.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from trader_core.model import Action, Price, Signal

__all__ = ["clamp_levels"]


def clamp_levels(signal: Signal, price: Decimal, band_pct: Decimal) -> Signal:
    """``signal`` with its stop and target inside the band around ``price`` (other actions unchanged)."""
    if signal.action not in (Action.BUY, Action.SELL) or price <= 0:
        return signal
    band = price * band_pct / 100
    low, high = price - band, price + band
    stop, target = signal.stop, signal.target
    if signal.action is Action.BUY:
        stop = None if stop is None else Price(min(max(stop.value, low), price))
        target = None if target is None else Price(min(max(target.value, price), high))
    else:
        stop = None if stop is None else Price(min(max(stop.value, price), high))
        target = None if target is None else Price(min(max(target.value, low), price))
    stop_pct = None if signal.stop_pct is None else min(signal.stop_pct, band_pct)
    target_pct = None if signal.target_pct is None else min(signal.target_pct, band_pct)
    return attrs.evolve(signal, stop=stop, target=target, stop_pct=stop_pct, target_pct=target_pct)
