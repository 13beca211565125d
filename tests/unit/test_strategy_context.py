"""Whether the bot is in a position is the strategy's easiest question, and dust is not a position: a fee taken
in the base asset leaves a few satoshi after every exit, and a strategy that read them as a holding stopped
buying after its first round trip."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from trader_adapters.strategies.sma_cross import SmaCross
from trader_core.model import (
    Action,
    Candle,
    ClientOrderId,
    InstrumentRules,
    Plan,
    PlanId,
    PlanStatus,
    RunId,
    Side,
    Symbol,
    Timeframe,
)
from trader_core.ports import DecisionContext

BTC = Symbol.parse("BTC/USDT")
T0 = datetime(2025, 5, 20, tzinfo=UTC)
RULES = InstrumentRules(symbol=BTC, tick_size="0.01", step_size="0.00001", min_quantity="0.00001",
                        min_notional="5")
DUST = Decimal("0.00000549")  # what Binance's base-asset fee left in the soak


def a_candle(minute: int, close: Decimal) -> Candle:
    return Candle(symbol=BTC, timeframe=Timeframe("1m"), open_time=T0 + timedelta(minutes=minute), open=close,
                  high=close, low=close, close=close, volume=Decimal(1))


def a_plan(status: PlanStatus) -> Plan:
    return Plan(plan_id=PlanId("P1"), run_id=RunId("r1"), symbol=BTC, side=Side.BUY, status=status,
                entry_client_order_id=ClientOrderId("tc-1-1"), opened_at=T0)


def context(quantity: Decimal, *plans: Plan, price: Decimal = Decimal(100_000)) -> DecisionContext:
    return DecisionContext(now=T0, candles=((BTC, (a_candle(0, price),)),), positions=((BTC, quantity),),
                           plans=plans, may_enter=frozenset({BTC}), rules=((BTC, RULES),))


def test_dust_is_not_a_position_but_a_sellable_quantity_or_an_active_plan_is() -> None:
    assert not context(Decimal(0)).holds(BTC)
    assert not context(DUST).holds(BTC), "below the venue's minimum quantity: unsellable dust"
    assert not context(Decimal("0.00004"), price=Decimal(100)).holds(BTC), "below the minimum notional"
    assert context(Decimal("0.001")).holds(BTC)
    assert context(Decimal(0), a_plan(PlanStatus.PENDING)).holds(BTC), "an entry working is a position taken"
    assert context(DUST, a_plan(PlanStatus.OPEN)).holds(BTC)
    assert not context(DUST, a_plan(PlanStatus.CLOSED)).holds(BTC)


@given(st.decimals(min_value=0, max_value=Decimal("0.000009"), places=8))
def test_any_quantity_below_the_minimum_is_flat(quantity: Decimal) -> None:
    assert not context(quantity).holds(BTC)


def test_the_sma_buys_again_after_a_round_trip_that_left_dust() -> None:
    sma = SmaCross(fast=2, slow=3)
    prices = [Decimal(p) for p in (100, 100, 100, 90, 80, 120)]  # falls, then a cross above
    signals = []
    for minute, price in enumerate(prices):
        ctx = DecisionContext(now=T0 + timedelta(minutes=minute + 1), candles=((BTC, (a_candle(minute, price),)),),
                              positions=((BTC, DUST),), may_enter=frozenset({BTC}), rules=((BTC, RULES),))
        signals += asyncio.run(sma.decide(ctx))
    assert [s.action for s in signals] == [Action.BUY], "the dust of the last exit does not block the next entry"
