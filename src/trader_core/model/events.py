"""Telemetry events: typed, past-tense records. The class name is the message."""

from __future__ import annotations

from datetime import datetime

import attrs

__all__ = ["Event"]


@attrs.frozen(kw_only=True)
class Event:
    """Base of every telemetry event. ``at`` is the clock's time when it happened.

    Subclasses add typed fields; adapters render them (ids and money as strings). Secrets never
    belong in an event.
    """

    at: datetime

    @property
    def name(self) -> str:
        """The event's name: its class name."""
        return type(self).__name__


# --- run lifecycle -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RunStarted(Event):
    """A run began."""

    run_id: str
    mode: str
    symbols: tuple[str, ...]


@attrs.frozen(kw_only=True)
class RunFinished(Event):
    """A run ended; ``reason`` is the first shutdown reason recorded."""

    run_id: str
    reason: str


@attrs.frozen(kw_only=True)
class TickFailed(Event):
    """One loop tick raised; the loop backs off and carries on."""

    error: str


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
class OrderClosed(Event):
    """The venue reports an order as final (filled, canceled, rejected or expired)."""

    client_order_id: str
    status: str
    filled_quantity: str


# --- fills and the ledger --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class FillRecorded(Event):
    """A venue fill was booked into the ledger (``at``: when booked; ``fill_time``: the venue's time)."""

    trade_id: str
    fill_time: datetime
    client_order_id: str | None
    symbol: str
    side: str
    price: str
    quantity: str
    fee: str
    fee_asset: str
    realized_pnl: str
    plan_id: str | None


@attrs.frozen(kw_only=True)
class DuplicateFillIgnored(Event):
    """A fill already booked was reported again and ignored."""

    trade_id: str
    symbol: str


@attrs.frozen(kw_only=True)
class ForeignFillIgnored(Event):
    """A fill of an order that is not the bot's was seen and not booked."""

    trade_id: str
    symbol: str


@attrs.frozen(kw_only=True)
class LedgerAnomalyDetected(Event):
    """The venue reported something the ledger refuses to book as is (e.g. selling more than held)."""

    symbol: str
    detail: str


# --- plans and signals -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class PlanOpened(Event):
    """A plan's entry filled: it now holds a position."""

    plan_id: str
    symbol: str
    quantity: str
    entry_price: str
    stop_price: str | None
    target_price: str | None


@attrs.frozen(kw_only=True)
class PlanClosed(Event):
    """A plan's position was exited."""

    plan_id: str
    symbol: str
    exit_reason: str


@attrs.frozen(kw_only=True)
class PlanCancelled(Event):
    """A plan ended without a position (its entry never filled)."""

    plan_id: str
    symbol: str
    reason: str


@attrs.frozen(kw_only=True)
class ProtectionPlaced(Event):
    """The venue now holds a plan's stop and target."""

    plan_id: str
    quantity: str
    stop_price: str
    target_price: str


@attrs.frozen(kw_only=True)
class SignalHandled(Event):
    """A signal was processed; ``status`` is the outcome (the original's status vocabulary)."""

    action: str
    symbol: str
    status: str
    detail: str = ""
