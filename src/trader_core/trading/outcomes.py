"""What the action handler answers: a typed status per outcome, its policy."""

from __future__ import annotations

import enum
from datetime import timedelta
from decimal import Decimal

import attrs

from trader_core.execution import (
    MakerPreference,
    SizingPolicy,
)
from trader_core.model import (
    IntentStatus,
)
from trader_core.plans import PlanPolicy

__all__ = ["ORDERS_SENT", "ORDER_STATUS", "PROTECTION_MAY_BE_DOWN", "ActionOutcome", "ActionPolicy", "ActionStatus"]


class ActionStatus(enum.StrEnum):
    """Every outcome of a signal; values are the original's status vocabulary (plus the new guards)."""

    UNKNOWN_SYMBOL = "unknown_symbol"
    UNSUPPORTED = "unsupported"
    HOLD = "hold"
    PAUSED = "paused"
    TRADING_HALTED = "trading_halted"
    ENTRIES_BLOCKED = "entries_blocked"
    MISSING_PRICE = "missing_price"
    PLAN_CAP = "plan_cap"
    STACKING_BLOCKED = "stacking_blocked"
    REJECTED_RULES = "rejected_rules"
    RR_BLOCKED = "rr_blocked"
    RISK_BLOCKED = "risk_blocked"
    SLIPPAGE_BLOCKED = "slippage_blocked"
    LIQUIDITY_BLOCKED = "liquidity_blocked"
    QUOTE_UNAVAILABLE = "quote_unavailable"
    ORDER_PENDING_SUBMIT = "order_pending_submit"
    ORDER_OPEN = "order_open"
    ORDER_PARTIALLY_FILLED = "order_partially_filled"
    ORDER_FILLED = "order_filled"
    ORDER_CANCELED = "order_canceled"
    ORDER_REJECTED = "order_rejected"
    ORDER_FAILED = "order_failed"
    ORDER_UNKNOWN = "order_unknown"
    CLOSE_POSITION_EXECUTED = "close_position_executed"
    CLOSE_POSITION_NONE = "close_position_none"
    CLOSE_POSITION_BLOCKED = "close_position_blocked"
    CLOSE_POSITION_DEFERRED = "close_position_deferred"  # held up by an order in doubt; goes out once it is settled
    CANCEL_MISSING_ID = "cancel_missing_id"
    CANCEL_NOT_OURS = "cancel_not_ours"
    CANCEL_PROTECTION = "cancel_protection"  # a plan's stop or target: changed by UPDATE_PLAN, ended with the plan
    CANCELLED = "cancelled"
    CANCEL_FAILED = "cancel_failed"
    UPDATE_PLAN_MISSING_ID = "update_plan_missing_id"
    UPDATE_PLAN_NOT_FOUND = "update_plan_not_found"
    UPDATE_PLAN_INVALID = "update_plan_invalid"
    PLAN_UPDATED = "plan_updated"
    PARTIAL_CLOSE_INVALID = "partial_close_invalid"
    PARTIAL_CLOSE_MISSING_PLAN = "partial_close_missing_plan"
    PARTIAL_CLOSE_ZERO_QTY = "partial_close_zero_qty"
    PARTIAL_CLOSE_BLOCKED = "partial_close_blocked"
    PARTIAL_CLOSE_PENDING = "partial_close_pending"
    PARTIAL_CLOSE_EXECUTED = "partial_close_executed"
    PARTIAL_CLOSE_ERROR = "partial_close_error"


# What an order's intent status means as the outcome of the action that sent it.
# Outcomes after which an order reached the venue (and may have filled in its answer).
ORDERS_SENT = frozenset({
    ActionStatus.ORDER_OPEN, ActionStatus.ORDER_PARTIALLY_FILLED, ActionStatus.ORDER_FILLED,
    ActionStatus.CLOSE_POSITION_EXECUTED, ActionStatus.PARTIAL_CLOSE_EXECUTED,
})
# Outcomes after which a plan's protection may be down until the monitor's next pass: an exit withdrew it and then
# lost its answer (in doubt, or held back by an order of the plan in doubt) or was refused, or an entry's answer
# was lost.
PROTECTION_MAY_BE_DOWN = frozenset({ActionStatus.ORDER_UNKNOWN, ActionStatus.CLOSE_POSITION_DEFERRED,
                             ActionStatus.CLOSE_POSITION_BLOCKED, ActionStatus.PARTIAL_CLOSE_ERROR})
ORDER_STATUS = {
    IntentStatus.PENDING_SUBMIT: ActionStatus.ORDER_PENDING_SUBMIT,
    IntentStatus.OPEN: ActionStatus.ORDER_OPEN,
    IntentStatus.PARTIALLY_FILLED: ActionStatus.ORDER_PARTIALLY_FILLED,
    IntentStatus.FILLED: ActionStatus.ORDER_FILLED,
    IntentStatus.CANCELED: ActionStatus.ORDER_CANCELED,
    IntentStatus.REJECTED: ActionStatus.ORDER_REJECTED,
    IntentStatus.FAILED: ActionStatus.ORDER_FAILED,
    IntentStatus.UNKNOWN: ActionStatus.ORDER_UNKNOWN,
}


@attrs.frozen(kw_only=True)
class ActionPolicy:
    """Settings of the action handler. ``stake`` is the quote notional of an entry without a size.

    ``sizing`` None turns the sizing guards off (volatility, order-value buffer, reward/risk, stacking,
    slippage, liquidity): only the venue's step and minimums apply. ``plans`` carries the per-symbol plan cap and
    replace-oldest; without it the cap is ``max_plans_per_symbol``.

    ``maker`` None (the default) sends every entry and exit as a market order. Otherwise, where it is on
    for the symbol, an entry and a signal exit first rest as a post-only limit at the maker price; a
    rejection (it would take liquidity) or failure, or no fill within ``maker_timeout``, sends the rest
    as a market order under a new client order id.
    """

    stake: Decimal
    max_plans_per_symbol: int = 1
    sizing: SizingPolicy | None = None
    plans: PlanPolicy | None = None
    maker: MakerPreference | None = None
    maker_timeout: timedelta = timedelta(seconds=60)

    @property
    def plan_policy(self) -> PlanPolicy:
        """The plan cap rules (``max_plans_per_symbol`` wins over the plan policy's own)."""
        return attrs.evolve(self.plans or PlanPolicy(replace_oldest_on_cap=False),
                            max_plans_per_symbol=self.max_plans_per_symbol)


@attrs.frozen
class ActionOutcome:
    """What became of a signal: a status from the original's vocabulary and a detail."""

    status: ActionStatus
    detail: str = ""
