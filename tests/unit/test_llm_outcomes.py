"""What the model is told became of its signals (``llm.outcomes``): read from the next tick's context."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from trader_adapters.llm.outcomes import outcomes, snapshot
from trader_core.model import (
    Action,
    ClientOrderId,
    Plan,
    PlanId,
    PlanStatus,
    Quantity,
    RunId,
    Side,
    Signal,
    Symbol,
)
from trader_core.ports import DecisionContext

T0 = datetime(2025, 1, 1, tzinfo=UTC)
BTC = Symbol.parse("BTC/USDT")


def _plan(number: int) -> Plan:
    return Plan(plan_id=PlanId(f"P{number}"), run_id=RunId("r1"), symbol=BTC, side=Side.BUY,
                status=PlanStatus.OPEN, entry_client_order_id=ClientOrderId(f"tc-{number}"), opened_at=T0,
                quantity=Quantity(1))


def _context(plans: tuple[Plan, ...], held: Decimal) -> DecisionContext:
    return DecisionContext(now=T0, candles=(), quotes=(), plans=plans, positions=((BTC, held),) if held else ())


def test_a_sell_that_reduced_the_position_is_told_as_such_not_as_an_entry_refused() -> None:
    before = snapshot(_context((_plan(1),), Decimal(1)))
    told = outcomes((Signal(action=Action.SELL, symbol=BTC),), before, _context((), Decimal(0)))
    assert told == [{"action": "SELL", "symbol": "BTC/USDT", "status": "position changed", "position": "0"}]


def test_two_entries_are_told_their_own_plans() -> None:
    before = snapshot(_context((), Decimal(0)))
    buys = (Signal(action=Action.BUY, symbol=BTC), Signal(action=Action.BUY, symbol=BTC))
    told = outcomes(buys, before, _context((_plan(1), _plan(2)), Decimal(2)))
    assert [t["plan_id"] for t in told] == ["P1", "P2"]
