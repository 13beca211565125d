"""Events of plans and signals (PlanMonitor, TradeActionHandler)."""

from __future__ import annotations

import attrs

from trader_core.model.events.base import Event

__all__ = [
    "PlanCancelled", "PlanClosed", "PlanOpened", "ProtectionBesideDoubt", "ProtectionFailed", "ProtectionPlaced",
    "SignalHandled",
]


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


@attrs.frozen(kw_only=True)
class ProtectionBesideDoubt(Event):
    """A plan's only protection was a placement in doubt (``in_doubt``: its bracket, or the exit sent in its place;
    sent, never acknowledged, not proven absent yet), and the account holds less of the asset (``held``) than that
    placement and a new bracket need together: the venue's balance lock lets at most one of them take it, so the
    new bracket went out without waiting for the proof."""

    plan_id: str
    symbol: str
    in_doubt: str
    held: str


@attrs.frozen(kw_only=True)
class ProtectionFailed(Event):
    """A filled plan could not be protected by the venue; ``action`` says what the bot does about it: ``exit``
    (the market is past a level, or protection was refused again and again), ``retry`` (nothing could be sent
    this tick: its legs not withdrawn yet, the venue's calls suspended; asked again at a later tick), ``halt``
    (the exit was refused, or its attempts are spent) or ``none`` (dust: below the venue's minimums)."""

    plan_id: str
    symbol: str
    reason: str
    action: str
