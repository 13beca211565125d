"""Events of the run, the loop and operator commands (StrategyOrchestrator)."""

from __future__ import annotations

import attrs

from trader_core.model.events.base import Event

__all__ = ["CommandHandled", "LoopLagged", "OrderWithheld", "RunFinished", "RunStarted", "TickFailed"]


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


# --- the loop (StrategyOrchestrator) ---------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class LoopLagged(Event):
    """A tick took longer than the loop's interval: the next one starts ``lag_s`` seconds late."""

    lag_s: str
    duration_s: str
    interval_s: str


# --- operator commands ----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CommandHandled(Event):
    """The loop handled an operator command: ``status`` executed, rejected or stale (queued before the run)."""

    command_id: str
    command: str
    status: str
    result: str


@attrs.frozen(kw_only=True)
class OrderWithheld(Event):
    """A dry run: the order was recorded and refused, never sent to the venue."""

    client_order_id: str
    symbol: str
    side: str
    order_type: str
    quantity: str
