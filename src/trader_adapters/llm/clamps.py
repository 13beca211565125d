"""The original's level clamp (original §0), kept where it is intended: a model's stop and target for a
BUY, SELL or UPDATE_PLAN are pulled into a band of ``band_pct`` around the price (BUY and UPDATE_PLAN: stop in
[price - band, price], target in [price, price + band]; SELL mirrored; relative stop_pct/target_pct at most
``band_pct``); a BUY with no stop gets one at the band's edge, and one at or above the price is refused.

The original's quantity and exposure clamps are not repeated here: the action handler's sizing
(max_order_value, exposure headroom, minimum trade size) applies to every signal, the model's included.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from trader_core.model import Action, Price, Signal

__all__ = ["clamp_levels", "stop_at_or_above"]


def clamp_levels(signal: Signal, price: Decimal, band_pct: Decimal) -> Signal:
    """``signal`` with its stop and target inside the band around ``price``: a BUY or SELL, and an UPDATE_PLAN
    of a long plan (its new stop in [price - band, price], its new target in [price, price + band]: a model
    cannot move a stop out of reach). A BUY with no stop at all gets one at the band's edge (``stop_pct``), so
    no model entry goes out unprotected. Other actions unchanged."""
    if signal.action not in (Action.BUY, Action.SELL, Action.UPDATE_PLAN) or price <= 0:
        return signal
    band = price * band_pct / 100
    low, high = price - band, price + band
    stop, target = signal.stop, signal.target
    if signal.action is Action.SELL:
        stop = None if stop is None else Price(min(max(stop.value, price), high))
        target = None if target is None else Price(min(max(target.value, low), price))
    else:
        stop = None if stop is None else Price(min(max(stop.value, low), price))
        target = None if target is None else Price(min(max(target.value, price), high))
    stop_pct = None if signal.stop_pct is None else min(signal.stop_pct, band_pct)
    target_pct = None if signal.target_pct is None else min(signal.target_pct, band_pct)
    if signal.action is Action.BUY and stop is None and stop_pct is None:
        stop_pct = band_pct
    return attrs.evolve(signal, stop=stop, target=target, stop_pct=stop_pct, target_pct=target_pct)


def stop_at_or_above(signal: Signal, price: Decimal) -> bool:
    """Whether a BUY's stop sits at or above ``price`` (after the clamp: the model put it there): a stop that
    would trigger on entry, refused rather than sent."""
    return signal.action is Action.BUY and signal.stop is not None and signal.stop.value >= price
