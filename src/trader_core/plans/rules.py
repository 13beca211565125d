"""Pure plan rules: how fills and order outcomes move a plan, and where its protection sits."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from trader_core.model import (
    ZERO,
    ExitReason,
    Fill,
    InstrumentRules,
    IntentStatus,
    OrderRole,
    Plan,
    PlanStatus,
    Price,
    Quantity,
    Side,
    TrackedOrder,
)

__all__ = ["after_fill", "after_order_closed", "exit_side", "protective_prices", "status_from_fills"]

_ROLE_REASON = {OrderRole.STOP: ExitReason.STOP, OrderRole.TARGET: ExitReason.TARGET}


def after_fill(plan: Plan, order: TrackedOrder, fill: Fill, rules: InstrumentRules | None) -> Plan:
    """The plan after one of its orders filled (in part).

    An entry fill adds to the position and moves the average entry price; an exit fill reduces it,
    and the plan closes when what is left cannot be sold (below the venue's minimum: dust).
    """
    base_fee = fill.fee.amount if fill.fee.asset == fill.symbol.base else ZERO
    quantity = fill.quantity.value
    if order.role is OrderRole.ENTRY:
        gross = plan.entry_filled.value + quantity
        average = (
            (plan.entry_price.value * plan.entry_filled.value if plan.entry_price else ZERO)
            + fill.price.value * quantity
        ) / gross
        return plan.evolve(
            status=PlanStatus.OPEN,
            quantity=Quantity(plan.quantity.value + quantity - base_fee),
            entry_filled=Quantity(gross),
            entry_price=Price(average),
        )
    left = max(ZERO, plan.quantity.value - quantity - base_fee)
    reason = _ROLE_REASON.get(order.role) or order.exit_reason or ExitReason.SIGNAL
    if _is_dust(left, fill.price.value, rules):
        return plan.evolve(
            status=PlanStatus.CLOSED, quantity=Quantity(left), closed_at=fill.time, exit_reason=reason
        )
    return plan.evolve(quantity=Quantity(left))


def after_order_closed(plan: Plan, order: TrackedOrder, now: datetime, *, entry_pending: bool = False) -> Plan | None:
    """The plan after one of its orders became final without more fills; None when unchanged.

    A pending plan whose entry ended with nothing filled is cancelled: it never held a position, so
    there is nothing to exit (the original sent an exit order here and sold what it did not own).
    ``entry_pending``: another entry order of the plan is still active or about to be sent (the
    marketable fallback of a maker entry), so the plan stays pending.
    """
    if entry_pending:
        return None
    if order.role is OrderRole.ENTRY and plan.status is PlanStatus.PENDING and not order.filled_quantity:
        return plan.evolve(status=PlanStatus.CANCELLED, closed_at=now, reason=f"entry {order.status.value}")
    return None


def protective_prices(plan: Plan, rules: InstrumentRules) -> tuple[Price | None, Price | None]:
    """Stop and target for an open plan, on the venue's tick; percent distances use the entry price (an absolute
    level stored off the tick, by a version that did not round it, is rounded too).

    Side-symmetric: for a long plan the stop sits below the entry, for a short one above it.
    """
    stop = None if plan.stop_price is None else rules.round_price(plan.stop_price.value)
    target = None if plan.target_price is None else rules.round_price(plan.target_price.value)
    if plan.entry_price is None:
        return stop, target
    entry = plan.entry_price.value
    sign = plan.side.sign
    if stop is None and plan.stop_pct is not None:
        stop = rules.round_price(entry * (1 - sign * plan.stop_pct / 100))
    if target is None and plan.target_pct is not None:
        target = rules.round_price(entry * (1 + sign * plan.target_pct / 100))
    return stop, target


def exit_side(plan: Plan) -> Side:
    """The side that reduces the plan's position."""
    return plan.side.opposite


def _is_dust(quantity: Decimal, price: Decimal, rules: InstrumentRules | None) -> bool:
    if quantity <= ZERO:
        return True
    if rules is None:
        return False
    return quantity < rules.min_quantity or quantity * price < rules.min_notional or (
        rules.round_quantity(quantity).value == ZERO
    )


def status_from_fills(order: TrackedOrder, filled: Quantity) -> IntentStatus:
    """Order status implied by its cumulative fills."""
    if filled.value >= order.request.quantity.value:
        return IntentStatus.FILLED
    return IntentStatus.PARTIALLY_FILLED if filled else order.status
