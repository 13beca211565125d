"""The decision path on fakes: entries become plans, plans get protection, exits book real fills only.

Includes the original runner's defects turned around: a failed entry creates no plan, a plan whose
entry never filled sends no exit, an order whose outcome is unknown is looked up and never re-sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import attrs
import pytest

from trader_adapters.clock import SimulatedClock
from trader_adapters.memory import InMemoryStore
from trader_adapters.memory.exchange import FakeExchange
from trader_adapters.paper.instruments import default_rules
from trader_adapters.telemetry import RecordingTelemetry
from trader_app.bootstrap import build_services
from trader_app.orchestrator import Services
from trader_core.market_data import MarketView
from trader_core.model import (
    Action,
    Asset,
    BotId,
    ClientOrderId,
    ExitReason,
    IntentStatus,
    OrderRequest,
    OrderRole,
    OrderStatus,
    OrderType,
    OutcomeUnknownError,
    PlanStatus,
    Quantity,
    RunId,
    RunRecord,
    Side,
    Signal,
    Symbol,
    Timeframe,
)
from trader_core.model.events import ForeignFillIgnored, PlanCancelled, PlanClosed, PlanOpened
from trader_core.trading import ActionPolicy

BTC = Symbol.parse("BTC/USDT")
USDT = Asset("USDT")
T0 = datetime(2025, 1, 1, tzinfo=UTC)
T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


@attrs.define
class Bot:
    """Services wired on fakes, plus the fakes themselves for assertions."""

    services: Services
    venue: FakeExchange
    store: InMemoryStore
    clock: SimulatedClock
    telemetry: RecordingTelemetry

    def view(self) -> MarketView:
        price = run(self.venue.fetch_quote(BTC)).last
        return MarketView(now=self.clock.now(), candles=(), last_prices={BTC: price})

    def buy(self, **fields: Any) -> str:
        signal = Signal(action=Action.BUY, symbol=BTC, stop_pct=Decimal(2), target_pct=Decimal(3), **fields)
        return run(self.services.actions.handle(signal, self.view())).status

    def tick(self) -> None:
        """What the loop does after the market view: sync, then protection."""
        self.clock.advance(timedelta(minutes=1))
        run(self.services.resync.sync())
        run(self.services.monitor.protect(self.view().last_prices))

    def placed(self) -> list[tuple[str, ...]]:
        return [call for call in self.venue.calls if call[0] in ("place_order", "place_exit_bracket")]


@pytest.fixture
def bot() -> Bot:
    clock = SimulatedClock(T0)
    venue = FakeExchange(clock=clock, balances={USDT: Decimal(10000)})
    venue.set_price(BTC, Decimal(50000))
    store = InMemoryStore(BotId("test"))
    telemetry = RecordingTelemetry()
    run_record = RunRecord(run_id=RunId("r1"), mode="test", started_at=T0)
    with store.unit_of_work() as uow:
        uow.runs.add(run_record)
        uow.commit()
    services = build_services(
        store=store, market=venue, trading=venue, clock=clock, telemetry=telemetry, strategy=_NoStrategy(),
        run=run_record, symbols=(BTC,), timeframe=Timeframe("1m"), rules={BTC: default_rules(BTC)},
        policy=ActionPolicy(stake=Decimal(1000)), prefix="tc-test",
    )
    return Bot(services, venue, store, clock, telemetry)


class _NoStrategy:
    async def decide(self, context: object) -> tuple[Signal, ...]:
        return ()


def test_an_entry_fills_opens_its_plan_and_gets_a_venue_held_bracket(bot: Bot) -> None:
    assert bot.buy() == "order_open"
    bot.tick()
    (plan,) = bot.services.book.plans(BTC)
    assert plan.status is PlanStatus.OPEN
    prices = (plan.entry_price, plan.stop_price, plan.target_price)
    assert [p.value if p else None for p in prices] == [Decimal(50000), Decimal(49000), Decimal(51500)]
    roles = sorted(o.role.value for o in bot.services.book.orders_of_plan(plan.plan_id))
    assert roles == ["stop", "target"]
    assert bot.telemetry.of_type(PlanOpened)
    bot.tick()
    assert [c[0] for c in bot.placed()] == ["place_order", "place_exit_bracket"], "protection placed once"


def test_the_stop_fills_closes_the_plan_cancels_the_target_and_books_the_loss(bot: Bot) -> None:
    bot.buy()
    bot.tick()
    bot.venue.set_price(BTC, Decimal(48900))
    bot.tick()
    assert bot.services.book.plans() == ()
    with bot.store.unit_of_work() as uow:
        (plan,) = uow.plans.list_for_run(RunId("r1"))
        orders = {o.role: o for o in uow.orders.list_for_run(RunId("r1"))}
    assert plan.status is PlanStatus.CLOSED
    assert plan.exit_reason is ExitReason.STOP
    assert orders[OrderRole.TARGET].status is IntentStatus.CANCELED
    stats = bot.services.tracker.stats
    assert stats.fills == 2
    assert stats.realized_pnl < 0
    assert bot.services.tracker.holding(BTC).quantity == 0
    assert [e.exit_reason for e in bot.telemetry.of_type(PlanClosed)] == ["stop"]  # type: ignore[attr-defined]


def test_a_rejected_entry_creates_no_position_and_its_plan_never_sends_an_exit(bot: Bot) -> None:
    assert bot.buy(notional=Decimal(50000)) == "order_rejected"  # more than the 10000 USDT held
    for _ in range(3):
        bot.tick()
    assert bot.services.book.plans() == ()
    assert [c[0] for c in bot.placed()] == ["place_order"], "no exit for a position never held"
    assert bot.telemetry.of_type(PlanCancelled)
    assert bot.services.tracker.stats.fills == 0


def test_an_order_whose_response_was_lost_is_found_by_client_id_and_never_sent_twice(bot: Bot) -> None:
    bot.venue.apply_then_fail("place_order", OutcomeUnknownError("response lost"))
    assert bot.buy() == "order_unknown"
    bot.tick()
    bot.tick()
    entries = [c for c in bot.placed() if c[0] == "place_order"]
    assert len(entries) == 1
    (plan,) = bot.services.book.plans(BTC)
    assert plan.status is PlanStatus.OPEN, "the fill of the adopted order was booked"
    assert bot.services.tracker.stats.fills == 1


def test_a_sell_signal_exits_the_bots_plan_at_the_venues_price(bot: Bot) -> None:
    bot.buy()
    bot.tick()
    bot.venue.set_price(BTC, Decimal(50500))
    status = run(bot.services.actions.handle(Signal(action=Action.SELL, symbol=BTC, reason="cross"), bot.view()))
    assert status.status == "close_position_executed"
    bot.tick()
    with bot.store.unit_of_work() as uow:
        (plan,) = uow.plans.list_for_run(RunId("r1"))
    assert plan.status is PlanStatus.CLOSED
    assert plan.exit_reason is ExitReason.SIGNAL
    result = bot.services.tracker.plan_result(plan.plan_id)
    assert result.realized_pnl == (Decimal(50500) - Decimal(50000)) * plan.entry_filled.value


def test_a_sell_with_nothing_held_sends_nothing(bot: Bot) -> None:
    outcome = run(bot.services.actions.handle(Signal(action=Action.SELL, symbol=BTC), bot.view()))
    assert outcome.status == "close_position_none"
    assert bot.placed() == []


def test_fills_of_orders_that_are_not_the_bots_are_never_booked(bot: Bot) -> None:
    bot.buy()
    # Someone else trades the same account by hand.
    foreign = OrderRequest(client_order_id=ClientOrderId("manual-1"), symbol=BTC, side=Side.BUY,
                           order_type=OrderType.MARKET, quantity=Quantity("0.01"))
    order = run(bot.venue.place_order(foreign))
    assert order.status is OrderStatus.FILLED
    bot.tick()
    assert bot.services.tracker.stats.fills == 1
    assert bot.telemetry.of_type(ForeignFillIgnored)


def test_cancel_touches_only_the_bots_own_orders(bot: Bot) -> None:
    signal = Signal(action=Action.CANCEL, symbol=BTC, client_order_id=ClientOrderId("manual-7"))
    assert run(bot.services.actions.handle(signal, bot.view())).status == "cancel_not_ours"
    assert not [c for c in bot.venue.calls if c[0] == "cancel_order"]
