"""Events of orders and their recovery (OrderExecutor, ResyncService, StartupReconciler)."""

from __future__ import annotations

import attrs

from trader_core.model.events.base import Event

__all__ = [
    "CancelOutcomeUnknown",
    "ConcludedOrderFoundOpen",
    "OrderAcknowledged",
    "OrderClosed",
    "OrderFailed",
    "OrderLost",
    "OrderOutcomeUnknown",
    "OrderRanAfterAll",
    "OrderRejected",
    "OrderSubmitted",
    "ProtectionOutlivedItsPlan",
    "ReconciliationReported",
]


# --- orders ----------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class OrderSubmitted(Event):
    """An order intent was stored and is being sent to the venue."""

    client_order_id: str
    symbol: str
    side: str
    order_type: str
    quantity: str
    price: str | None
    role: str
    plan_id: str | None


@attrs.frozen(kw_only=True)
class OrderAcknowledged(Event):
    """The venue accepted an order."""

    client_order_id: str
    venue_order_id: str
    status: str


@attrs.frozen(kw_only=True)
class OrderRejected(Event):
    """The venue definitively refused an order."""

    client_order_id: str
    reason: str


@attrs.frozen(kw_only=True)
class OrderFailed(Event):
    """An order never reached the venue, or was proven absent after an unknown outcome."""

    client_order_id: str
    reason: str


@attrs.frozen(kw_only=True)
class OrderOutcomeUnknown(Event):
    """The venue may or may not have the order; it will be looked up by client order id."""

    client_order_id: str
    reason: str


@attrs.frozen(kw_only=True)
class CancelOutcomeUnknown(Event):
    """A cancel's answer was lost: the venue may or may not have cancelled the order. It counts as working (a
    stop as protecting its plan) until a lookup says otherwise."""

    client_order_id: str
    reason: str


@attrs.frozen(kw_only=True)
class ProtectionOutlivedItsPlan(Event):
    """A stop or target of a plan that has ended still rests at the venue; it is cancelled, since what it would sell
    is no longer the bot's."""

    client_order_id: str
    plan_id: str
    symbol: str


@attrs.frozen(kw_only=True)
class OrderClosed(Event):
    """The venue reports an order as final (filled, canceled, rejected or expired)."""

    client_order_id: str
    status: str
    filled_quantity: str


# --- recovery (OrderExecutor, ResyncService, StartupReconciler) ------------------------------------


@attrs.frozen(kw_only=True)
class OrderLost(Event):
    """An acknowledged order was answered "not found" at every lookup: its fate is unknown; a person looks."""

    client_order_id: str
    symbol: str
    detail: str


@attrs.frozen(kw_only=True)
class OrderRanAfterAll(Event):
    """A fill of an order the bot had concluded absent (``failed``: proven absent by its lookups) or lost: the
    venue ran it after all. The fill is booked and the order's plan follows it (an entry's plan is open again and
    protected); a person should know, since the rule that proved it absent was wrong for this venue."""

    client_order_id: str
    symbol: str
    trade_id: str
    status_was: str
    plan_id: str | None


@attrs.frozen(kw_only=True)
class ConcludedOrderFoundOpen(Event):
    """An order the bot had concluded absent (``failed``) or lost rests open at the venue after all: the venue
    placed it late. The bot has given it up (an entry's plan was cancelled, a protective order replaced), so it is
    cancelled rather than left to sell or buy beside its successor; a person should know, as for
    ``OrderRanAfterAll``."""

    client_order_id: str
    symbol: str
    status_was: str
    plan_id: str | None


@attrs.frozen(kw_only=True)
class ReconciliationReported(Event):
    """Start-up reconciliation: the bot's stored view against the venue.

    ``adopted``: stored intents found at the venue; ``closed_while_away``: orders that ended while the bot
    was down; ``absent``: intents proven never to have reached the venue (failed); ``missing``: intents
    still unresolved; ``lost``: acknowledged orders the venue no longer knows; ``unexpected``: open orders
    with the bot's prefix and no stored intent; ``concluded_found_open``: orders the bot had concluded absent or
    lost, found open (the venue placed them late) and cancelled (``ConcludedOrderFoundOpen``; one whose cancel is
    not answered keeps the gate until a sync cancels it); ``foreign``: other open orders (ignored, never touched);
    ``balance_issues``: assets the venue holds less of than the bot's own fills say. ``gate``: ``clean``,
    ``accepted`` (by the operator) or ``reducing`` (no new entries until clean or accepted)."""

    adopted: tuple[str, ...]
    closed_while_away: tuple[str, ...]
    absent: tuple[str, ...]
    missing: tuple[str, ...]
    lost: tuple[str, ...]
    unexpected: tuple[str, ...]
    concluded_found_open: tuple[str, ...]
    foreign: int
    fills_booked: int
    balance_issues: tuple[str, ...]
    gate: str
