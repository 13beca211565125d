"""What became of a decision's signals, read from the next tick's context (the action handler acts on the
signals in the tick they were given): an entry opened a plan (its id, status and entry client order id) or was
not entered (a guard refused it, or the venue did not take it); a close changed the position or did not; an
update changed the plan's version or did not. Pure; stored with the trace (``llm_traces.outcome``)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import attrs

from trader_core.model import Action, Signal
from trader_core.ports import DecisionContext

__all__ = ["Snapshot", "outcomes", "snapshot"]


@attrs.frozen
class Snapshot:
    """The bot's plans (id -> version) and positions at a decision."""

    plans: tuple[tuple[str, int], ...]
    positions: tuple[tuple[str, Decimal], ...]


def snapshot(context: DecisionContext) -> Snapshot:
    """The plans and positions of ``context``."""
    return Snapshot(tuple((p.plan_id.value, p.version) for p in context.plans),
                    tuple((str(s), q) for s, q in context.positions))


def outcomes(signals: Sequence[Signal], before: Snapshot, after: DecisionContext) -> list[dict[str, str]]:
    """One outcome per signal."""
    versions = dict(before.plans)
    held_before = dict(before.positions)
    held_after = {str(s): q for s, q in after.positions}
    result = []
    claimed: set[str] = set()  # each new plan is the outcome of one BUY, in order
    for signal in signals:
        symbol = str(signal.symbol)
        entry: dict[str, str] = {"action": signal.action.value, "symbol": symbol}
        if signal.action is Action.BUY:
            opened = [p for p in after.plans if p.plan_id.value not in versions and p.symbol == signal.symbol
                      and p.plan_id.value not in claimed]
            if opened:
                claimed.add(opened[0].plan_id.value)
                entry.update(status="entered", plan_id=opened[0].plan_id.value, plan_status=opened[0].status.value,
                             client_order_id=opened[0].entry_client_order_id.value)
            else:
                entry["status"] = "not entered"
        elif signal.action in (Action.SELL, Action.CLOSE_POSITION, Action.PARTIAL_CLOSE):  # a spot SELL reduces
            was, now = held_before.get(symbol, Decimal(0)), held_after.get(symbol, Decimal(0))
            entry.update(status="position changed" if now != was else "position unchanged", position=str(now))
        elif signal.action is Action.UPDATE_PLAN and signal.plan_id is not None:
            updated = next((p for p in after.plans if p.plan_id == signal.plan_id), None)
            changed = updated is not None and updated.version != versions.get(signal.plan_id.value)
            entry.update(status="updated" if changed else "unchanged", plan_id=signal.plan_id.value)
        else:
            entry["status"] = "issued"
        result.append(entry)
    return result
