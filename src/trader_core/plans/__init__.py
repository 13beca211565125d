"""PlanMonitor: venue-held protection for filled plans, and the plan rules and policy (trail, age,
day end, overnight widening)."""

from __future__ import annotations

from trader_core.plans.monitor import (
    PlanMonitor,
)
from trader_core.plans.policy import (
    PlanCapDecision,
    PlanPolicy,
    Widening,
    age_exceeded,
    day_end_due,
    local_day,
    loss_capped_stop,
    overnight_widening,
    plan_cap,
    trail_fraction,
    trail_to_breakeven,
)
from trader_core.plans.rules import (
    after_fill,
    after_order_closed,
    exit_side,
    protective_prices,
    status_from_fills,
)

__all__ = [
    "PlanCapDecision",
    "PlanMonitor",
    "PlanPolicy",
    "Widening",
    "after_fill",
    "after_order_closed",
    "age_exceeded",
    "day_end_due",
    "exit_side",
    "local_day",
    "loss_capped_stop",
    "overnight_widening",
    "plan_cap",
    "protective_prices",
    "status_from_fills",
    "trail_fraction",
    "trail_to_breakeven",
]
