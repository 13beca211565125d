"""Maker preference (catalog §4.3): an entry and a signal exit first rest as a post-only limit at the maker
price (bid x 0.9995 for a buy, ask x 1.0005 for a sell, on the tick); a rejection or failure, or no fill
within the timeout, sends a market order under a NEW client order id (the original reused the same one).
Risk-driven and manual exits stay marketable; the preference is off by default."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs

from tests.unit.trading_bot import BTC, ETH, Awake, Bot, make_bot, run
from trader_app.bootstrap import action_policy
from trader_app.orchestrator import StrategyOrchestrator
from trader_app.settings import load_settings
from trader_core.execution import MakerPreference
from trader_core.model import (
    Action,
    ClientOrderId,
    ExchangeUnavailableError,
    IntentStatus,
    OrderRole,
    OrderType,
    PlanStatus,
    Price,
    Quantity,
    RunId,
    RunRecord,
    TrackedOrder,
)
from trader_core.model.events import PlanCancelled
from trader_core.plans import after_order_closed
from trader_core.trading import ActionStatus

ON = MakerPreference(default=True)
BID, ASK = Decimal(50000), Decimal(50010)
MAKER_BUY = Decimal("49975.00")  # 50000 x 0.9995
MAKER_SELL = Decimal("50035.00")  # 50010 x 1.0005 = 50035.005, on the 0.01 tick


def maker_bot(maker: MakerPreference | None = ON, **fields: Any) -> Bot:
    bot = make_bot(maker=maker, **fields)
    bot.venue.set_quote(BTC, BID, ASK)  # last = mid 50005: a post-only buy at 49975 rests
    return bot


def stored(bot: Bot, client_order_id: str) -> TrackedOrder:
    with bot.store.unit_of_work() as uow:
        order = uow.orders.find(ClientOrderId(client_order_id))
    assert order is not None
    return order


def order_ids(bot: Bot) -> list[str]:
    return [call[2] for call in bot.placed() if call[0] == "place_order"]


def open_plan_by_market(bot: Bot) -> None:
    """A plan opened through the fallback of a crossing maker entry, then the quote back to normal."""
    bot.venue.set_quote(BTC, BID, ASK, Decimal(49950))
    assert bot.buy() == "order_open"
    bot.tick()
    assert bot.plan().status is PlanStatus.OPEN
    bot.venue.set_quote(BTC, BID, ASK)


def test_off_by_default_sends_a_market_order() -> None:
    bot = maker_bot(maker=None)
    assert bot.buy() == "order_open"
    (cid,) = order_ids(bot)
    request = stored(bot, cid).request
    assert request.order_type is OrderType.MARKET
    assert not request.post_only


def test_the_first_entry_order_is_a_post_only_limit_at_the_maker_price() -> None:
    bot = maker_bot()
    assert bot.buy() == "order_open"
    (cid,) = order_ids(bot)
    request = stored(bot, cid).request
    assert (request.order_type, request.post_only, request.price) == (OrderType.LIMIT, True, Price(MAKER_BUY))
    assert bot.plan().status is PlanStatus.PENDING
    bot.venue.set_quote(BTC, Decimal(49970), Decimal(49980), Decimal(49975))  # trades down to the maker price
    bot.tick()
    plan = bot.plan()
    assert plan.status is PlanStatus.OPEN
    assert plan.entry_price is not None
    assert plan.entry_price.value == MAKER_BUY
    assert order_ids(bot) == [cid], "filled as maker: no fallback"


def test_a_rejected_maker_entry_falls_back_to_a_market_order_under_a_new_id() -> None:
    bot = maker_bot()
    bot.venue.set_quote(BTC, BID, ASK, Decimal(49950))  # last below the maker price: post-only would cross
    assert bot.buy() == "order_open"
    maker_id, market_id = order_ids(bot)
    assert maker_id != market_id
    assert stored(bot, maker_id).status is IntentStatus.REJECTED
    fallback = stored(bot, market_id)
    assert fallback.request.order_type is OrderType.MARKET
    assert fallback.plan_id == bot.plan().plan_id
    assert bot.plan().status is PlanStatus.PENDING, "the maker's rejection does not cancel the plan"
    assert not bot.telemetry.of_type(PlanCancelled)
    bot.tick()
    plan = bot.plan()
    assert plan.status is PlanStatus.OPEN
    assert plan.entry_filled == fallback.request.quantity
    assert plan.entry_price is not None
    assert plan.entry_price.value == ASK, "a taker buy pays the ask"


def test_a_failed_maker_entry_also_falls_back() -> None:
    bot = maker_bot()
    bot.venue.fail_next("place_order", ExchangeUnavailableError("down"))
    assert bot.buy() == "order_open"
    maker_id, market_id = order_ids(bot)
    assert stored(bot, maker_id).status is IntentStatus.FAILED
    assert stored(bot, market_id).request.order_type is OrderType.MARKET
    assert bot.plan().status is PlanStatus.PENDING


def test_a_rejected_fallback_ends_the_plan() -> None:
    bot = maker_bot()
    bot.venue.set_quote(BTC, BID, ASK, Decimal(49950))
    bot.venue.fail_next("place_order", ExchangeUnavailableError("down"))  # the maker leg
    bot.venue.fail_next("place_order", ExchangeUnavailableError("down"))  # and its fallback
    assert bot.buy() == "order_failed"
    assert bot.services.book.plans(BTC) == ()
    assert len(bot.telemetry.of_type(PlanCancelled)) == 1


def test_an_unfilled_maker_entry_is_replaced_by_a_market_order_after_the_timeout() -> None:
    bot = maker_bot()
    assert bot.buy() == "order_open"
    (maker_id,) = order_ids(bot)
    bot.clock.advance(bot.services.actions.policy.maker_timeout / 2)
    bot.tick(minutes=0)
    assert order_ids(bot) == [maker_id], "not due yet"
    bot.tick()  # 90 s after the maker order: cancelled, then a market order
    (_, market_id) = order_ids(bot)
    assert market_id != maker_id
    assert stored(bot, maker_id).status is IntentStatus.CANCELED
    assert ("cancel_order", str(BTC), maker_id) in bot.venue.calls
    fallback = stored(bot, market_id)
    assert fallback.request.order_type is OrderType.MARKET
    assert fallback.plan_id == bot.plan().plan_id
    assert not bot.telemetry.of_type(PlanCancelled)
    bot.tick()
    assert bot.plan().status is PlanStatus.OPEN


def test_a_per_symbol_override_off_sends_a_market_order_directly() -> None:
    bot = maker_bot(maker=MakerPreference(default=True, overrides={"btc/usdt": False}))
    assert bot.buy() == "order_open"
    (cid,) = order_ids(bot)
    assert stored(bot, cid).request.order_type is OrderType.MARKET
    bot.venue.set_quote(ETH, Decimal(2000), Decimal("2000.5"))
    assert bot.buy(ETH) == "order_open"
    assert stored(bot, order_ids(bot)[1]).request.post_only, "ETH keeps the default"


def test_overrides_are_case_insensitive() -> None:
    preference = MakerPreference(default=False, overrides={"Btc/UsDt": True})
    assert preference.for_symbol(BTC)
    assert preference.for_symbol("btc/usdt")
    bot = maker_bot(maker=preference)
    assert bot.buy() == "order_open"
    assert stored(bot, order_ids(bot)[0]).request.post_only
    bot.venue.set_quote(ETH, Decimal(2000), Decimal("2000.5"))
    assert bot.buy(ETH) == "order_open"
    assert stored(bot, order_ids(bot)[1]).request.order_type is OrderType.MARKET


def test_a_signal_exit_rests_as_a_maker_sell_and_falls_back_on_rejection() -> None:
    bot = maker_bot()
    open_plan_by_market(bot)
    before = len(order_ids(bot))
    assert bot.act(Action.SELL).status is ActionStatus.CLOSE_POSITION_EXECUTED
    (maker_id,) = order_ids(bot)[before:]
    maker = stored(bot, maker_id)
    assert (maker.request.order_type, maker.request.post_only, maker.request.price) == (
        OrderType.LIMIT, True, Price(MAKER_SELL))
    bot.tick(minutes=0)  # before the timeout
    assert bot.plan().status is PlanStatus.OPEN
    assert order_ids(bot)[before:] == [maker_id], "no protection while the exit works, no fallback yet"

    other = maker_bot()
    open_plan_by_market(other)
    before = len(order_ids(other))
    other.venue.set_quote(BTC, BID, ASK, Decimal(50100))  # last above the maker sell price: it would cross
    assert other.act(Action.SELL).status is ActionStatus.CLOSE_POSITION_EXECUTED
    maker_id, market_id = order_ids(other)[before:]
    assert maker_id != market_id
    assert stored(other, maker_id).status is IntentStatus.REJECTED
    assert stored(other, market_id).request.order_type is OrderType.MARKET
    other.tick()
    assert other.services.book.plans(BTC) == (), "closed by the market exit"


def test_a_resting_maker_exit_is_replaced_by_a_market_order_after_the_timeout() -> None:
    bot = maker_bot()
    open_plan_by_market(bot)
    before = len(order_ids(bot))
    bot.act(Action.PARTIAL_CLOSE, plan_id=bot.plan().plan_id, close_fraction=Decimal("0.5"))
    (maker_id,) = order_ids(bot)[before:]
    half = stored(bot, maker_id).request.quantity
    bot.tick(minutes=2)
    (_, market_id) = order_ids(bot)[before:]
    assert market_id != maker_id
    assert stored(bot, maker_id).status is IntentStatus.CANCELED
    fallback = stored(bot, market_id)
    assert (fallback.request.order_type, fallback.request.quantity) == (OrderType.MARKET, half)
    held = bot.plan().quantity.value
    bot.tick()
    assert bot.plan().quantity.value == held - half.value


def test_manual_and_risk_driven_exits_stay_marketable() -> None:
    bot = maker_bot()
    open_plan_by_market(bot)
    before = len(order_ids(bot))
    assert bot.act(Action.CLOSE_POSITION).status is ActionStatus.CLOSE_POSITION_EXECUTED
    (cid,) = order_ids(bot)[before:]
    assert stored(bot, cid).request.order_type is OrderType.MARKET


def test_settings_wire_the_preference_off_by_default() -> None:
    assert action_policy(load_settings({"symbols": ["BTC/USDT"]}, environ={})).maker is None
    policy = action_policy(load_settings({"symbols": ["BTC/USDT"], "maker_preference": True,
                                          "maker_overrides": "eth/usdt:no", "maker_timeout_seconds": "30"},
                                         environ={}))
    assert policy.maker is not None
    assert policy.maker.for_symbol(BTC)
    assert not policy.maker.for_symbol(ETH)
    assert policy.maker_timeout.total_seconds() == 30


def test_a_quantity_signal_sell_uses_the_maker_leg_too() -> None:
    bot = maker_bot()
    open_plan_by_market(bot)
    before = len(order_ids(bot))
    held = bot.plan().quantity
    bot.act(Action.SELL, quantity=Quantity(held.value))
    (cid,) = order_ids(bot)[before:]
    assert stored(bot, cid).request.post_only


def test_a_closed_entry_leaves_the_plan_pending_while_another_entry_follows() -> None:
    bot = maker_bot()
    assert bot.buy() == "order_open"
    (maker_id,) = order_ids(bot)
    plan, closed = bot.plan(), stored(bot, maker_id)
    closed = attrs.evolve(closed, status=IntentStatus.CANCELED)
    now = bot.clock.now()
    assert after_order_closed(plan, closed, now, entry_pending=True) is None
    ended = after_order_closed(plan, closed, now)
    assert ended is not None
    assert ended.status is PlanStatus.CANCELLED


def test_a_stop_that_cancels_a_resting_maker_exit_puts_the_plans_protection_back() -> None:
    bot = maker_bot()
    open_plan_by_market(bot)
    assert bot.act(Action.SELL).status.value == "close_position_executed"  # a post-only sell rests; the bracket is down
    (exit_order,) = bot.services.book.orders()
    assert exit_order.request.post_only
    record = RunRecord(run_id=RunId("r2"), mode="test", started_at=bot.clock.now())
    loop = StrategyOrchestrator(services=bot.services, store=bot.store, clock=bot.clock, telemetry=bot.telemetry,
                                sleeper=Awake(), run=record, interval=timedelta(minutes=1), balance=Decimal(100000),
                                until=bot.clock.now() - timedelta(seconds=1), exit_policy="cancel")
    run(loop.run_until_stopped(lambda: Decimal(0)))  # stopped before its first tick: the exit policy runs
    plan = bot.plan()
    assert plan.status is PlanStatus.OPEN, "the maker exit was cancelled unfilled: the bot still holds the position"
    legs = bot.services.book.orders_of_plan(plan.plan_id, OrderRole.STOP, OrderRole.TARGET)
    assert {leg.role for leg in legs} == {OrderRole.STOP, OrderRole.TARGET}
    at_venue = {order.client_order_id for order in run(bot.venue.fetch_open_orders(BTC))}
    assert at_venue == {leg.client_order_id for leg in legs}, "its stop and target rest at the venue while it is down"


def test_close_position_cancels_a_resting_entry_so_nothing_fills_after_it() -> None:
    bot = maker_bot()
    assert bot.buy() == "order_open"  # a post-only buy at 49975 rests
    plan_id = bot.plan().plan_id
    outcome = bot.act(Action.CLOSE_POSITION)
    assert outcome.status is ActionStatus.CLOSE_POSITION_EXECUTED
    assert outcome.detail == "entry_cancelled"
    assert bot.services.book.orders() == ()
    assert [e.plan_id for e in bot.telemetry.of_type(PlanCancelled)] == [plan_id.value]
    bot.venue.set_quote(BTC, Decimal(49970), Decimal(49980), Decimal(49975))  # where the resting buy would fill
    bot.tick()
    assert bot.services.tracker.holding(BTC).quantity == 0, "out of the symbol means no position after the close"
