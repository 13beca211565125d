"""Pure plan-management rules: trail to breakeven, maximum age, day-end flatten, overnight widening and
the per-symbol plan cap (catalog §7.2, §7.3, §7.4).

Each rule looks at a plan, a price and a time the caller passes in (aware UTC; the clock is never
read here) and answers with a value: a new stop, a verdict, a widening, the plans to replace. Price
rules are written once with ``Side.sign``, so a SELL plan is the mirror image of a BUY plan.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import attrs

from trader_core.model import ONE, ZERO, InvalidValueError, Plan, PlanStatus, Price, Symbol, require_utc
from trader_core.portfolio import day_zone

__all__ = [
    "PlanCapDecision",
    "PlanPolicy",
    "Widening",
    "age_exceeded",
    "day_end_due",
    "local_day",
    "loss_capped_stop",
    "overnight_widening",
    "plan_cap",
    "trail_fraction",
    "trail_to_breakeven",
]


@attrs.frozen(kw_only=True)
class PlanPolicy:
    """Plan settings with the original's defaults (catalog §1). Distances are fractions (0.01 = 1 %).

    ``trail_to_breakeven`` None turns trailing off; ``max_age`` None turns the age rule off;
    ``day_end_cutoff`` (local time in ``day_timezone``) is off unless set, as in the original.
    """

    trail_to_breakeven: Decimal | None = Decimal("0.01")
    low_vol_trail_factor: Decimal = Decimal("1.5")
    high_vol_trail_factor: Decimal = Decimal("0.7")
    max_age: timedelta | None = timedelta(minutes=60)
    day_end_cutoff: time | None = None
    day_timezone: str = "UTC"
    overnight_widen: bool = True
    overnight_widen_pct: Decimal = Decimal("0.01")
    overnight_widen_abs: Decimal = ZERO
    overnight_max_widen_pct: Decimal = Decimal("0.05")
    max_plans_per_symbol: int = 2
    replace_oldest_on_cap: bool = False

    def __attrs_post_init__(self) -> None:
        for name in ("trail_to_breakeven", "overnight_widen_pct", "overnight_widen_abs", "overnight_max_widen_pct"):
            value = getattr(self, name)
            if value is not None and value < ZERO:
                raise InvalidValueError(f"{name} cannot be negative, got {value}")


def local_day(now: datetime, policy: PlanPolicy) -> date:
    """The calendar day of ``now`` (aware UTC) in the policy's time zone."""
    return require_utc(now, "now").astimezone(day_zone(policy.day_timezone)).date()


def trail_fraction(policy: PlanPolicy, volatility: str | None = None) -> Decimal | None:
    """The breakeven trigger distance: the base, x1.5 when the volatility flag says "low", x0.7 when
    it says "high" (catalog §7.2; matched case-insensitively as substrings, like the original)."""
    base = policy.trail_to_breakeven
    if base is None:
        return None
    flag = (volatility or "").lower()
    if "low" in flag:
        return base * policy.low_vol_trail_factor
    if "high" in flag:
        return base * policy.high_vol_trail_factor
    return base


def trail_to_breakeven(plan: Plan, price: Decimal, policy: PlanPolicy, volatility: str | None = None) -> Price | None:
    """The plan's new stop when it should trail to breakeven, else None.

    BUY: ``price >= entry x (1 + trail)`` and ``stop < entry`` -> the stop moves to the entry. SELL is
    the mirror image (``price <= entry x (1 - trail)`` and ``stop > entry``). The only move is to the
    entry from the losing side of it, so a stop only ever trails toward breakeven, never away; a plan
    without an entry fill or a stop never trails.
    """
    trail = trail_fraction(policy, volatility)
    if trail is None or plan.entry_price is None or plan.stop_price is None:
        return None
    sign = plan.side.sign
    entry = plan.entry_price.value
    in_profit = (price - entry) * sign >= entry * trail
    stop_behind = (entry - plan.stop_price.value) * sign > ZERO
    return plan.entry_price if in_profit and stop_behind else None


def age_exceeded(plan: Plan, now: datetime, policy: PlanPolicy) -> bool:
    """True when the plan has been open at least ``max_age`` at ``now`` (aware UTC).

    Both times are aware, so the rule works for every plan (the original subtracted a naive time from
    an aware one, the error was swallowed and the rule never fired; catalog §7.2 [BUG]).
    """
    if policy.max_age is None:
        return False
    return require_utc(now, "now") - plan.opened_at >= policy.max_age


def day_end_due(plan: Plan, now: datetime, policy: PlanPolicy) -> bool:
    """True when the day-end flatten applies: ``now`` is at or past today's local cutoff and the plan
    was opened before it.

    Corrected: the original fired for a plan opened earlier in the day even before the cutoff was
    reached (catalog §7.2 [BUG]); here nothing fires until the cutoff has passed.
    """
    if policy.day_end_cutoff is None:
        return False
    zone = day_zone(policy.day_timezone)
    today = require_utc(now, "now").astimezone(zone).date()
    cutoff = datetime.combine(today, policy.day_end_cutoff, tzinfo=zone)
    return now >= cutoff and plan.opened_at < cutoff


@attrs.frozen
class Widening:
    """An overnight widening: the new stop and target (None: unchanged or absent) and the local day it
    was done on, which the caller keeps so the plan is widened at most once per day."""

    stop: Price | None
    target: Price | None
    day: date


def _widened(level: Decimal, entry: Decimal, outward: int, delta: Decimal, max_pct: Decimal) -> Decimal:
    """``level`` moved ``delta`` away from ``entry`` (``outward`` is the direction away), but not past
    ``entry x (1 + outward x max_pct)``; a level already beyond that bound stays where it is."""
    bound = entry * (ONE + outward * max_pct)
    moved = level + outward * delta
    if (level - bound) * outward >= ZERO:
        return level  # already at or beyond the bound: the cap limits moving out, never pulls back in
    return bound if (moved - bound) * outward > ZERO else moved


def loss_capped_stop(plan: Plan, proposed: Decimal, previous: Decimal | None, cap: Decimal | None,
                     tick: Decimal, *, fee_rate: Decimal = ZERO) -> Decimal:
    """``proposed`` as a new stop of ``plan`` held to the per-trade loss ``cap``: what the plan holds may lose at most
    ``cap`` between its entry and its stop, the fee (``fee_rate`` of the notional) of each included, so a stop moving
    away from the entry stops where that loss is ``cap`` (for a long, ``(entry x (1 + fee) - cap / quantity) /
    (1 - fee)``, on the ``tick`` towards the entry); when ``previous`` is already beyond that (the cap set later),
    the stop stays at ``previous``. A stop moving towards the entry, or no cap, no entry or nothing held:
    ``proposed``."""
    if cap is None or plan.entry_price is None or not plan.quantity:
        return proposed
    sign = plan.side.sign
    entry = plan.entry_price.value
    floor = (entry * (ONE + sign * fee_rate) - sign * cap / plan.quantity.value) / (ONE - sign * fee_rate)
    ticks = floor / tick
    floor = (ticks.to_integral_value(rounding=ROUND_CEILING if sign > 0 else ROUND_FLOOR)) * tick
    if (proposed - floor) * sign >= ZERO or (previous is not None and (proposed - previous) * sign >= ZERO):
        return proposed  # within the cap, or no looser than the stop it replaces
    if previous is not None and (previous - floor) * sign < ZERO:
        return previous
    return floor


def overnight_widening(plan: Plan, now: datetime, policy: PlanPolicy, widened_on: date | None) -> Widening | None:
    """Widen an open plan's stop and target once per local day after the day it was opened (§7.4).

    ``delta = max(overnight_widen_abs, entry x overnight_widen_pct)``; a BUY's stop moves down and its
    target up by ``delta`` (a SELL mirrored), neither beyond ``overnight_max_widen_pct`` from the entry.
    Corrected: the cap limits how far a level moves; a level already beyond the cap stays put (the
    original set it to the cap, pulling it toward the entry; catalog §7.4 [BUG]). A stop at or beyond the
    entry (trailed to breakeven) is not widened: it stays where the trail put it. ``widened_on`` is the
    local day of the plan's last widening. None when nothing applies or nothing would move.
    """
    if not policy.overnight_widen or plan.status is not PlanStatus.OPEN or plan.entry_price is None:
        return None
    today = local_day(now, policy)
    if widened_on == today or local_day(plan.opened_at, policy) >= today:
        return None
    entry = plan.entry_price.value
    delta = max(policy.overnight_widen_abs, entry * policy.overnight_widen_pct)
    sign = plan.side.sign
    stop = target = None
    if plan.stop_price is not None and (entry - plan.stop_price.value) * sign > ZERO:
        # Only a stop still on the losing side of the entry widens: one trailed to breakeven (or beyond) keeps the
        # gain it locked; widening it would hand a protected trade back to a loss.
        new = _widened(plan.stop_price.value, entry, -sign, delta, policy.overnight_max_widen_pct)
        stop = Price(new) if new != plan.stop_price.value else None
    if plan.target_price is not None:
        new = _widened(plan.target_price.value, entry, sign, delta, policy.overnight_max_widen_pct)
        target = Price(new) if new != plan.target_price.value else None
    if stop is None and target is None:
        return None
    return Widening(stop=stop, target=target, day=today)


@attrs.frozen
class PlanCapDecision:
    """Whether a new plan may open in a symbol, and which plans must be exited first to make room."""

    allowed: bool
    replace: tuple[Plan, ...] = ()
    reason: str = ""


def plan_cap(plans: Iterable[Plan], symbol: Symbol, policy: PlanPolicy) -> PlanCapDecision:
    """The per-symbol plan cap for a new entry in ``symbol`` (catalog §4.2 step 8, §7.3).

    Active plans (pending or open) in the symbol count. Below ``max_plans_per_symbol`` the entry may
    go. At the cap it is refused, unless ``replace_oldest_on_cap``: then the oldest plans (by
    ``opened_at``, then id) that make room are returned, and the caller must exit them (cancel their
    orders and sell their positions; the original only marked the oldest plan cancelled in the
    database and left its position unprotected).
    """
    active = sorted((p for p in plans if p.symbol == symbol and p.status.is_active),
                    key=lambda p: (p.opened_at, str(p.plan_id)))
    cap = policy.max_plans_per_symbol
    if len(active) < cap:
        return PlanCapDecision(allowed=True)
    if not policy.replace_oldest_on_cap or cap <= 0:
        return PlanCapDecision(allowed=False, reason=f"plan cap reached for {symbol} ({len(active)}/{cap})")
    excess = active[: len(active) - cap + 1]
    names = ", ".join(str(p.plan_id) for p in excess)
    return PlanCapDecision(allowed=True, replace=tuple(excess), reason=f"replaces oldest plan(s) {names} on cap")
