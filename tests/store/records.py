"""Small, valid records for the store tests and their worker processes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from trader_core.model.ids import Asset, ClientOrderId, PlanId, RunId, Symbol, TradeId, VenueOrderId
from trader_core.model.money import Money, Price, Quantity
from trader_core.model.orders import Fill, Liquidity, OrderRequest, OrderType, Side
from trader_core.model.plans import Plan, PlanStatus
from trader_core.model.records import FillRecord, IntentStatus, OrderRole, RunRecord, TrackedOrder
from trader_core.ports.store import Store

T0 = datetime(2025, 5, 20, tzinfo=UTC)
BTC_USDT = Symbol.parse("BTC/USDT")
ORDER_ID = ClientOrderId("entry-shared")
PLAN_ID = PlanId("plan-shared")


def run_of(bot: str) -> RunId:
    """Each bot's run id carries the bot's name, so a row of the wrong bot is recognisable."""
    return RunId(f"run-{bot}")


def a_run(bot: str) -> RunRecord:
    """The bot's one run."""
    return RunRecord(run_id=run_of(bot), mode="paper", started_at=T0)


def an_order(bot: str, *, filled: str = "0") -> TrackedOrder:
    """The entry order every booking of the bot updates."""
    request = OrderRequest(client_order_id=ORDER_ID, symbol=BTC_USDT, side=Side.BUY, order_type=OrderType.LIMIT,
                           quantity=Quantity("1000"), price=Price("100"))
    return TrackedOrder(run_id=run_of(bot), request=request, role=OrderRole.ENTRY,
                        status=IntentStatus.PARTIALLY_FILLED, created_at=T0, updated_at=T0,
                        plan_id=PLAN_ID, filled_quantity=Quantity(filled))


def a_plan(bot: str) -> Plan:
    """The plan every booking of the bot moves to its next version."""
    return Plan(plan_id=PLAN_ID, run_id=run_of(bot), symbol=BTC_USDT, side=Side.BUY, status=PlanStatus.OPEN,
                entry_client_order_id=ORDER_ID, opened_at=T0)


def a_fill(bot: str, trade_id: str, number: int) -> FillRecord:
    """A buy fill of 0.001 at 100 + ``number``."""
    fill = Fill(
        trade_id=TradeId(trade_id), venue_order_id=VenueOrderId("v-1"), client_order_id=ORDER_ID,
        symbol=BTC_USDT, side=Side.BUY, price=Price(Decimal(100 + number)), quantity=Quantity("0.001"),
        fee=Money(Decimal("0.0001"), Asset("USDT")), time=T0 + timedelta(seconds=number), liquidity=Liquidity.MAKER,
    )
    return FillRecord(run_id=run_of(bot), venue="paper", fill=fill, plan_id=PLAN_ID, role=OrderRole.ENTRY,
                      realized_pnl=Decimal(0), fee_quote=Decimal("0.0001"))


def seed_bot(store: Store, bot: str) -> None:
    """Store the bot's run, its order and its plan (version 1)."""
    with store.unit_of_work() as uow:
        uow.runs.add(a_run(bot))
        uow.orders.add(an_order(bot))
        uow.plans.add(a_plan(bot))
        uow.commit()
