"""What the bot keeps about its own activity: runs, tracked orders (intents) and booked fills."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import attrs

from trader_core.model.ids import ClientOrderId, PlanId, RunId, VenueOrderId
from trader_core.model.market import utc
from trader_core.model.money import Quantity
from trader_core.model.numbers import to_decimal, to_decimal_or_none
from trader_core.model.orders import Fill, OrderRequest
from trader_core.model.plans import ExitReason

__all__ = ["FillRecord", "IntentStatus", "OrderRole", "RunRecord", "RunStatus", "TrackedOrder"]


class RunStatus(enum.Enum):
    """A run is RUNNING until it ends FINISHED (clean stop) or FAILED."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


@attrs.frozen(kw_only=True)
class RunRecord:
    """One run of a bot. ``summary_json`` is written when the run ends."""

    run_id: RunId
    mode: str
    started_at: datetime = attrs.field(validator=utc)
    status: RunStatus = RunStatus.RUNNING
    finished_at: datetime | None = attrs.field(default=None, validator=utc)
    config_json: str = "{}"
    summary_json: str | None = None


class OrderRole(enum.Enum):
    """Why the bot sent an order."""

    ENTRY = "entry"
    EXIT = "exit"
    STOP = "stop"
    TARGET = "target"


class IntentStatus(enum.Enum):
    """The bot's view of one order intent, from 'stored, not yet sent' to a final state."""

    PENDING_SUBMIT = "pending_submit"  # stored; the venue has not been asked yet
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"  # definitive refusal by the venue
    FAILED = "failed"  # never reached the venue, or proven absent after an unknown outcome
    UNKNOWN = "unknown"  # sent, outcome unknown: look it up by client order id before anything else
    LOST = "lost"  # acknowledged once, then "not found" at every lookup: surfaced (OrderLost), no longer queried

    @property
    def is_active(self) -> bool:
        """True while the venue may still fill or hold the order (or we do not know)."""
        return self in _ACTIVE


_ACTIVE = frozenset(
    {IntentStatus.PENDING_SUBMIT, IntentStatus.OPEN, IntentStatus.PARTIALLY_FILLED, IntentStatus.UNKNOWN}
)


@attrs.frozen(kw_only=True)
class TrackedOrder:
    """An order intent and what the venue said about it.

    ``estimated_fee`` (quote) is what the fee policy expected at submission; the actual fees come from
    the order's fills and are compared with it when the order completes.
    """

    run_id: RunId
    request: OrderRequest
    role: OrderRole
    status: IntentStatus
    created_at: datetime = attrs.field(validator=utc)
    updated_at: datetime = attrs.field(validator=utc)
    plan_id: PlanId | None = None
    venue_order_id: VenueOrderId | None = None
    filled_quantity: Quantity = Quantity.zero()
    exit_reason: ExitReason | None = None
    reason: str = ""
    estimated_fee: Decimal | None = attrs.field(default=None, converter=to_decimal_or_none)

    @property
    def client_order_id(self) -> ClientOrderId:
        """The id the venue knows the order by."""
        return self.request.client_order_id

    @property
    def in_doubt(self) -> bool:
        """Sent, never acknowledged, nothing filled, not proven absent: the venue may or may not have it (and
        may still carry it out)."""
        return (self.status in (IntentStatus.UNKNOWN, IntentStatus.PENDING_SUBMIT) and self.venue_order_id is None
                and not self.filled_quantity)


@attrs.frozen(kw_only=True)
class FillRecord:
    """A fill as booked by the bot: the venue's fill plus what booking it produced.

    ``fee_quote`` is the fee valued in the quote asset; ``realized_pnl`` excludes fees. A fee in a third
    asset (e.g. BNB) was valued at ``fee_rate`` (quote per unit of the fee asset, taken at fill time)
    obtained from ``fee_rate_source``; both are None for fees in the base or quote asset.
    """

    run_id: RunId
    venue: str
    fill: Fill
    plan_id: PlanId | None
    role: OrderRole
    realized_pnl: Decimal = attrs.field(converter=to_decimal)
    fee_quote: Decimal = attrs.field(converter=to_decimal)
    fee_rate: Decimal | None = attrs.field(default=None, converter=to_decimal_or_none)
    fee_rate_source: str | None = None
