"""The original's pre-call gates (original §0), decided before a model call so they also save its cost.

* fee-ratio cooldown: fees / |gross| x 100 at or above ``fee_ratio_cooldown_pct`` -> no call (no gross yet:
  no ratio, no block; the original divided by |gross| without saying what zero meant);
* chop filter: at least ``chop_min_bars`` closes, Bollinger width (20, 2 sigma, percent of the middle band)
  below ``chop_max_width_pct`` and |RSI(14) - 50| below ``chop_max_rsi_offset`` -> no call;
* trade spacing: no call within ``min_trade_interval`` of the last executed trade, unless the break-glass
  priority move fires (|move| >= ``priority_move_pct`` over ``priority_lookback``, at most once per
  ``break_glass_cooldown``); its entries are then sized by ``break_glass_size_factor`` (0.6: the original
  imported it and never applied it).
All pure: the caller passes the time (market time) and the closes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import attrs

__all__ = ["GatePolicy", "SpacingDecision", "bollinger_width_pct", "fee_ratio_blocks", "is_chop", "priority_move_pct",
           "rsi", "spacing"]

_ZERO = Decimal(0)


@attrs.frozen(kw_only=True)
class GatePolicy:
    """The gates' settings; the defaults are the original's."""

    fee_ratio_cooldown_pct: Decimal = Decimal(50)
    chop_filter: bool = True
    chop_min_bars: int = 20
    chop_max_width_pct: Decimal = Decimal(1)
    chop_max_rsi_offset: Decimal = Decimal(5)
    min_trade_interval: timedelta = timedelta(seconds=120)
    priority_move_pct: Decimal = Decimal("1.5")
    priority_lookback: timedelta = timedelta(minutes=5)
    break_glass_cooldown: timedelta = timedelta(minutes=60)
    break_glass_size_factor: Decimal = Decimal("0.6")


def fee_ratio_blocks(gross: Decimal, fees: Decimal, policy: GatePolicy) -> bool:
    """True when fees have eaten at least the cooldown share of the gross PnL."""
    if gross == _ZERO:
        return False
    return fees / abs(gross) * 100 >= policy.fee_ratio_cooldown_pct


def bollinger_width_pct(closes: Sequence[Decimal], period: int = 20) -> Decimal | None:
    """(upper - lower) / middle x 100 of the last ``period`` closes (2 population sigmas); None if too few."""
    if len(closes) < period or period < 2:
        return None
    window = closes[-period:]
    mean = sum(window, _ZERO) / period
    if mean <= _ZERO:
        return None
    sigma = (sum(((c - mean) ** 2 for c in window), _ZERO) / period).sqrt()
    return 4 * sigma / mean * 100


def rsi(closes: Sequence[Decimal], period: int = 14) -> Decimal | None:
    """The simple-average RSI of the last ``period`` changes; None if too few closes."""
    if len(closes) <= period:
        return None
    changes = [b - a for a, b in zip(closes[-period - 1:-1], closes[-period:], strict=True)]
    gains = sum((c for c in changes if c > 0), _ZERO)
    losses = -sum((c for c in changes if c < 0), _ZERO)
    if losses == _ZERO:
        return Decimal(100) if gains > _ZERO else Decimal(50)
    return 100 - 100 / (1 + gains / losses)


def is_chop(closes: Sequence[Decimal], policy: GatePolicy) -> bool:
    """True in a flat, directionless market (narrow bands and RSI near 50)."""
    if not policy.chop_filter or len(closes) < policy.chop_min_bars:
        return False
    width, strength = bollinger_width_pct(closes), rsi(closes)
    if width is None or strength is None:
        return False
    return width < policy.chop_max_width_pct and abs(strength - 50) < policy.chop_max_rsi_offset


def priority_move_pct(closes: Sequence[tuple[datetime, Decimal]], now: datetime, lookback: timedelta) -> Decimal:
    """The percent move from the first close at or after ``now - lookback`` to the last close (0 if none)."""
    recent = [price for at, price in closes if at >= now - lookback]
    if len(recent) < 2 or recent[0] <= _ZERO:
        return _ZERO
    return (recent[-1] - recent[0]) / recent[0] * 100


@attrs.frozen
class SpacingDecision:
    """May the model be called? ``break_glass`` when only the priority move allowed it (entries then
    carry ``size_factor``)."""

    allowed: bool
    break_glass: bool = False
    size_factor: Decimal | None = None


def spacing(now: datetime, last_trade: datetime | None, last_break_glass: datetime | None, move_pct: Decimal,
            policy: GatePolicy) -> SpacingDecision:
    """The trade-spacing gate with its break-glass exception."""
    if last_trade is None or now - last_trade >= policy.min_trade_interval:
        return SpacingDecision(True)
    cooled = last_break_glass is None or now - last_break_glass >= policy.break_glass_cooldown
    if cooled and abs(move_pct) >= policy.priority_move_pct:
        return SpacingDecision(True, True, policy.break_glass_size_factor)
    return SpacingDecision(False)
