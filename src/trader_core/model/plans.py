"""Trade plans: an entry and the protective exits that guard it."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import attrs

from trader_core.model.ids import ClientOrderId, PlanId, RunId, Symbol
from trader_core.model.market import utc
from trader_core.model.money import Price, Quantity
from trader_core.model.numbers import to_decimal_or_none
from trader_core.model.orders import Side

__all__ = ["ExitReason", "Plan", "PlanStatus"]


class PlanStatus(enum.Enum):
    """PENDING until the entry fills, OPEN while the bot holds its position, then CLOSED or CANCELLED."""

    PENDING = "pending"
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def is_active(self) -> bool:
        """Pending or open."""
        return self in (PlanStatus.PENDING, PlanStatus.OPEN)


class ExitReason(enum.Enum):
    """Why a plan's position was exited."""

    STOP = "stop"
    TARGET = "target"
    SIGNAL = "signal"
    TRAIL = "trail"
    AGE = "age"
    MANUAL = "manual"
    FLATTEN = "flatten"
    UNPROTECTED = "unprotected"  # the venue would not hold the plan's protection, so the bot left the position


@attrs.frozen(kw_only=True)
class Plan:
    """A position the bot opened with a purpose. ``quantity`` is what the plan holds now (from fills);
    ``entry_filled`` is the gross quantity its entry bought and ``entry_price`` that fill's average.

    Stop and target are absolute prices once known; when the strategy gave percent distances
    (``stop_pct``/``target_pct``) they are fixed from the entry's average fill price.
    Every change bumps ``version``.
    """

    plan_id: PlanId
    run_id: RunId
    symbol: Symbol
    side: Side
    status: PlanStatus
    entry_client_order_id: ClientOrderId
    opened_at: datetime = attrs.field(validator=utc)
    quantity: Quantity = Quantity.zero()
    entry_filled: Quantity = Quantity.zero()
    entry_price: Price | None = None
    stop_price: Price | None = None
    target_price: Price | None = None
    stop_pct: Decimal | None = attrs.field(default=None, converter=to_decimal_or_none)
    target_pct: Decimal | None = attrs.field(default=None, converter=to_decimal_or_none)
    version: int = 1
    closed_at: datetime | None = attrs.field(default=None, validator=utc)
    exit_reason: ExitReason | None = None
    reason: str = ""

    def evolve(self, **changes: object) -> Plan:
        """A new version of the plan with ``changes`` applied."""
        return attrs.evolve(self, version=self.version + 1, **changes)  # type: ignore[arg-type]
