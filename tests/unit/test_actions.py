"""Every signal action and its statuses, on fakes with every guard on (the original's scenarios, and its
defects turned around: a failed entry creates no plan, an unfilled exit leaves the plan open, a plan whose
entry never filled sends no exit, a small close is not blocked by the minimum trade size)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.unit.trading_bot import BTC, ETH, OFF, T0, USDT, Bot, make_bot, run
from trader_adapters.clock import SimulatedClock
from trader_adapters.memory.exchange import FakeExchange
from trader_core.execution import MakerPreference
from trader_core.market_data import MarketView
from trader_core.model import (
    Action,
    Asset,
    ClientOrderId,
    ExchangeUnavailableError,
    ExitReason,
    IntentStatus,
    OrderRejectedError,
    OrderRole,
    PlanId,
    PlanStatus,
    Price,
    Quantity,
    RunId,
    Signal,
    Symbol,
)
from trader_core.model.events import FeeRateUnavailable, PlanCancelled, ProtectionFailed, SignalHandled
from trader_core.plans import PlanPolicy
from trader_core.risk import RiskPolicy
from trader_core.trading import ActionStatus

BNB = Asset("BNB")


def opened(bot: Bot, **fields: Any) -> PlanId:
    assert bot.buy(**fields) == "order_open"
    bot.tick()
    plan = bot.plan()
    assert plan.status is PlanStatus.OPEN
    return plan.plan_id


def test_buy_sizes_with_volatility_and_emits_signal_handled() -> None:
    bot = make_bot()
    assert bot.buy(regime=(("volatility", "high"),)) == "order_open"
    (entry,) = bot.services.book.orders(BTC)
    assert entry.request.quantity.value == Decimal("0.012"), "1000 x 0.6 at 50000"
    (event,) = bot.telemetry.of_type(SignalHandled)
    assert (event.action, event.status) == ("BUY", "order_open")  # type: ignore[attr-defined]
    other = make_bot(run_id="r2")
    other.buy(regime=(("volatility", "medium"),))
    assert other.services.book.orders(BTC)[0].request.quantity.value == Decimal("0.016")


def test_the_order_value_buffer_trims_a_large_entry_below_the_cap() -> None:
    bot = make_bot(risk=RiskPolicy(max_total_exposure=Decimal(100000)))
    assert bot.buy(notional=Decimal(20000)) == "order_open"
    (entry,) = bot.services.book.orders(BTC)
    assert entry.request.quantity.value * 50000 <= Decimal(4995)


def test_buy_refusals_each_have_their_status() -> None:
    bot = make_bot()
    missing = run(bot.services.actions.handle(Signal(action=Action.BUY, symbol=BTC),
                                              MarketView(now=T0, candles=(), last_prices={})))
    assert missing.status is ActionStatus.MISSING_PRICE
    assert bot.buy(quantity=Quantity("0.000001")) == "rejected_rules"
    assert bot.buy(stop=Price(49900), target=Price(50050), stop_pct=None, target_pct=None) == "rr_blocked"
    assert bot.buy(notional=Decimal(100)) == "risk_blocked", "below the minimum trade size"
    assert bot.buy() == "order_open"
    assert bot.buy() == "plan_cap"
    assert len(bot.placed()) == 1


def test_the_slippage_guard_uses_a_fresh_quote() -> None:
    bot = make_bot()
    view = bot.view()
    bot.venue.set_price(BTC, Decimal(50500))  # 1 % since the decision
    signal = Signal(action=Action.BUY, symbol=BTC, stop_pct=Decimal(2), target_pct=Decimal(3))
    outcome = run(bot.services.actions.handle(signal, view))
    assert outcome.status is ActionStatus.SLIPPAGE_BLOCKED
    bot.venue.fail_next("fetch_quote", ExchangeUnavailableError("down"))
    assert run(bot.services.actions.handle(signal, bot.view())).status is ActionStatus.QUOTE_UNAVAILABLE
    assert bot.placed() == []


def test_a_wide_spread_gets_a_liquidity_verdict() -> None:
    bot = make_bot()
    bot.venue.set_quote(BTC, Decimal(49900), Decimal(50100), Decimal(50000), bid_size=Decimal(5), ask_size=Decimal(5))
    assert bot.buy() == "liquidity_blocked"


def test_stacking_is_blocked_while_the_bot_holds_the_symbol_with_a_plan_open() -> None:
    bot = make_bot(max_plans_per_symbol=3)
    opened(bot)
    assert bot.buy() == "stacking_blocked"


def test_replace_oldest_on_cap_really_exits_the_old_plan() -> None:
    bot = make_bot(plans=PlanPolicy(trail_to_breakeven=None, max_age=None, overnight_widen=False,
                                    replace_oldest_on_cap=True))
    old = opened(bot)
    outcome = bot.act(Action.BUY, stop_pct=Decimal(2), target_pct=Decimal(3))
    assert outcome.status is ActionStatus.ORDER_OPEN
    assert f"replaced {old.value}" in outcome.detail
    bot.tick()
    with bot.store.unit_of_work() as uow:
        stored = uow.plans.find(old)
    assert stored is not None
    assert stored.status is PlanStatus.CLOSED
    assert stored.exit_reason is ExitReason.MANUAL
    assert bot.services.tracker.holding(BTC).quantity == bot.plan().quantity.value


def test_a_failed_entry_creates_no_plan_and_no_exit() -> None:
    clock = SimulatedClock(T0)
    venue = FakeExchange(clock=clock, balances={USDT: Decimal(600)})
    venue.set_price(BTC, Decimal(50000))
    bot = make_bot(clock=clock, venue=venue)
    assert bot.buy() == "order_rejected"
    for _ in range(3):
        bot.tick()
    assert bot.services.book.plans() == ()
    assert bot.telemetry.of_type(PlanCancelled)
    assert [c[0] for c in bot.placed()] == ["place_order"]


def test_entries_are_refused_while_paused_and_nothing_while_halted() -> None:
    bot = make_bot()
    assert bot.act(Action.PAUSE_TRADING, pause=timedelta(minutes=5)).status is ActionStatus.PAUSED
    assert bot.buy() == "entries_blocked"
    bot.services.health.halt("test", "operator")
    assert bot.act(Action.CLOSE_POSITION).status is ActionStatus.TRADING_HALTED
    assert bot.act(Action.HOLD, reason="wait").status is ActionStatus.HOLD


def test_sell_touches_only_the_bots_own_position() -> None:
    bot = make_bot()
    assert bot.act(Action.SELL).status is ActionStatus.CLOSE_POSITION_NONE
    opened(bot)
    held = bot.plan().quantity
    assert bot.act(Action.SELL, quantity=Quantity(held.value * 2)).status is ActionStatus.CLOSE_POSITION_BLOCKED
    assert bot.act(Action.SELL, quantity=held).status is ActionStatus.CLOSE_POSITION_EXECUTED
    bot.tick()
    assert bot.services.book.plans() == ()


def test_close_position_sells_the_bots_holding_never_the_account_balance() -> None:
    bot = make_bot()
    plan_id = opened(bot)
    bot.venue.deposit(BTC.base, Decimal(3))  # someone else's coins on the same account
    outcome = bot.act(Action.CLOSE_POSITION)
    assert outcome.status is ActionStatus.CLOSE_POSITION_EXECUTED
    exits = [o for o in bot.services.book.orders(BTC) if o.role is OrderRole.EXIT]
    sold = exits[0].request.quantity if exits else None
    bot.tick()
    with bot.store.unit_of_work() as uow:
        plan = uow.plans.find(plan_id)
        orders = uow.orders.list_for_run(RunId("r1"))
    assert plan is not None
    assert plan.status is PlanStatus.CLOSED
    exit_order = next(o for o in orders if o.role is OrderRole.EXIT)
    assert sold is None or exit_order.request.quantity == sold
    assert exit_order.request.quantity.value == plan.entry_filled.value
    assert bot.act(Action.CLOSE_POSITION).status is ActionStatus.CLOSE_POSITION_NONE


def test_cancel_statuses() -> None:
    bot = make_bot()
    assert bot.act(Action.CANCEL).status is ActionStatus.CANCEL_MISSING_ID
    assert bot.act(Action.CANCEL, client_order_id=ClientOrderId("manual-1")).status is ActionStatus.CANCEL_NOT_OURS
    plan_id = opened(bot)
    stop = bot.services.book.orders_of_plan(plan_id, OrderRole.STOP)[0]
    assert bot.act(Action.CANCEL, ETH, client_order_id=stop.client_order_id).status is ActionStatus.CANCEL_NOT_OURS
    refused = bot.act(Action.CANCEL, client_order_id=stop.client_order_id)
    assert refused.status is ActionStatus.CANCEL_PROTECTION, "a signal cannot open a gap in the protection"
    assert all(o.status is IntentStatus.OPEN for o in bot.services.book.orders_of_plan(plan_id, OrderRole.STOP))
    maker = make_bot(maker=MakerPreference(default=True))
    assert maker.buy() == "order_open"
    (entry,) = maker.services.book.orders_of_plan(maker.plan().plan_id, OrderRole.ENTRY)
    assert maker.act(Action.CANCEL, client_order_id=entry.client_order_id).status is ActionStatus.CANCELLED


def test_absolute_levels_off_the_tick_are_put_on_it_and_the_position_is_protected() -> None:
    """A signal's (or the LLM clamp's) stop and target need not sit on the venue's tick (BTC/USDT: 0.01); the venue
    refuses a price off it, so the plan keeps them rounded and its bracket goes out at once, not sold unprotected."""
    bot = make_bot()
    plan_id = opened(bot, stop=Price("48999.123"), target=Price("51234.5678"), stop_pct=None, target_pct=None)
    plan = bot.plan()
    assert (plan.plan_id, plan.stop_price, plan.target_price) == (plan_id, Price("48999.12"), Price("51234.57"))
    (stop, target) = sorted(bot.services.book.orders_of_plan(plan_id, OrderRole.STOP, OrderRole.TARGET),
                            key=lambda o: o.role.value)
    assert (stop.request.stop_price, target.request.price) == (Price("48999.12"), Price("51234.57"))
    assert [c[0] for c in bot.placed()] == ["place_order", "place_exit_bracket"], "one bracket, accepted"
    assert not bot.telemetry.of_type(ProtectionFailed)


def bnb_venue(clock: SimulatedClock, *listed: Symbol) -> FakeExchange:
    """A venue charging fees in BNB (worth 600 USDT) from an account holding some."""
    venue = FakeExchange(clock=clock, balances={USDT: Decimal(100000), BNB: Decimal(1)}, fee_in=(BNB, Decimal(600)))
    venue.set_price(BTC, Decimal(50000))
    venue.set_price(ETH, Decimal(2000))
    for symbol in listed:
        venue.set_price(symbol, Decimal(600))
    return venue


def test_an_entry_whose_fee_no_market_values_is_booked_and_protected() -> None:
    """A fee in BNB where the venue lists no BNB/USDT (nor USDT/BNB): no rate will ever come, so the fill is
    booked with the fee valued at 0 and said so, and the position is protected at once, not left pending."""
    clock = SimulatedClock(T0)
    bot = make_bot(clock=clock, venue=bnb_venue(clock))
    plan_id = opened(bot)
    assert bot.plan().plan_id == plan_id
    assert [c[0] for c in bot.placed()] == ["place_order", "place_exit_bracket"]
    with bot.store.unit_of_work() as uow:
        (record,) = uow.fills.list_all()
    assert (record.fill.fee.asset, record.fee_quote, record.fee_rate) == (BNB, Decimal(0), Decimal(0))
    assert record.fee_rate_source is not None
    assert record.fee_rate_source.startswith("unvalued")
    (told,) = bot.telemetry.of_type(FeeRateUnavailable)
    assert "valued at 0" in told.detail  # type: ignore[attr-defined]


def test_an_entry_whose_fee_has_a_market_is_valued_at_its_price() -> None:
    clock = SimulatedClock(T0)
    bot = make_bot(clock=clock, venue=bnb_venue(clock, Symbol(BNB, USDT)))
    opened(bot)
    with bot.store.unit_of_work() as uow:
        (record,) = uow.fills.list_all()
    assert record.fee_rate == Decimal(600)
    assert record.fee_quote == record.fill.fee.amount * 600
    assert not bot.telemetry.of_type(FeeRateUnavailable)


def test_update_plan_validates_bumps_the_version_and_re_places_the_bracket() -> None:
    bot = make_bot()
    assert bot.act(Action.UPDATE_PLAN).status is ActionStatus.UPDATE_PLAN_MISSING_ID
    plan_id = opened(bot)
    assert bot.act(Action.UPDATE_PLAN, ETH, plan_id=plan_id).status is ActionStatus.UPDATE_PLAN_NOT_FOUND
    assert bot.act(Action.UPDATE_PLAN, plan_id=PlanId("P999")).status is ActionStatus.UPDATE_PLAN_NOT_FOUND
    invalid = bot.act(Action.UPDATE_PLAN, plan_id=plan_id, stop=Price(50100))
    assert invalid.status is ActionStatus.UPDATE_PLAN_INVALID
    assert bot.act(Action.UPDATE_PLAN, plan_id=plan_id, target=Price(49000)).status is ActionStatus.UPDATE_PLAN_INVALID
    before = bot.plan()
    old_legs = bot.services.book.orders_of_plan(plan_id)
    outcome = bot.act(Action.UPDATE_PLAN, plan_id=plan_id, stop=Price(48000), target=Price(55000))
    assert outcome.status is ActionStatus.PLAN_UPDATED
    after = bot.plan()
    assert after.version > before.version
    assert (after.stop_price, after.target_price) == (Price(48000), Price(55000))
    legs = bot.services.book.orders_of_plan(plan_id)
    assert {o.client_order_id for o in legs}.isdisjoint(o.client_order_id for o in old_legs)
    levels = [o.request.stop_price or o.request.price for o in legs]
    assert sorted(p.value for p in levels if p is not None) == [Decimal(48000), Decimal(55000)]
    assert [c[0] for c in bot.venue.calls if c[0] in ("cancel_order", "place_exit_bracket")] == [
        "place_exit_bracket", "cancel_order", "cancel_order", "place_exit_bracket"]


@pytest.mark.parametrize("factor", ["50", "1.5"])
def test_a_buy_size_factor_above_one_never_buys_more_than_the_stake(factor: str) -> None:
    # A model's "size_factor": 50 bought fifty stakes, up to max_order_value (5000 USDT against a 1000 stake).
    bot = make_bot()
    outcome = bot.act(Action.BUY, stop_pct=Decimal(2), target_pct=Decimal(3), size_factor=Decimal(factor))
    assert outcome.status is ActionStatus.ORDER_OPEN
    (entry,) = bot.services.book.orders_of_plan(bot.plan().plan_id, OrderRole.ENTRY)
    assert entry.request.quantity.value * Decimal(50000) <= Decimal(1000)
    assert f"size_factor {factor} taken as 1" in outcome.detail


def test_update_plan_honours_a_size_factor_below_one() -> None:
    bot = make_bot()
    plan_id = opened(bot)
    held = bot.plan().quantity.value
    assert bot.act(Action.UPDATE_PLAN, plan_id=plan_id, size_factor=Decimal("0.5")).status is ActionStatus.PLAN_UPDATED
    bot.tick()
    assert bot.plan().quantity.value == held / 2
    bot.tick()
    legs = bot.services.book.orders_of_plan(plan_id)
    assert {o.request.quantity.value for o in legs} == {held / 2}, "protection resized to what is left"
    grow = bot.act(Action.UPDATE_PLAN, plan_id=plan_id, size_factor=Decimal(2))
    assert grow.status is ActionStatus.UPDATE_PLAN_INVALID


def test_a_size_factor_for_a_plan_whose_entry_has_not_filled_is_said_not_applied() -> None:
    # It answered plan_updated and changed nothing: the strategy (or model) believed its position halved.
    bot = make_bot()
    assert bot.buy() == "order_open"
    pending = bot.plan()
    assert pending.status is PlanStatus.PENDING
    alone = bot.act(Action.UPDATE_PLAN, plan_id=pending.plan_id, size_factor=Decimal("0.5"))
    assert alone.status is ActionStatus.UPDATE_PLAN_INVALID
    assert "size_factor not applied" in alone.detail
    with_levels = bot.act(Action.UPDATE_PLAN, plan_id=pending.plan_id, size_factor=Decimal("0.5"),
                          stop=Price(Decimal(48000)))
    assert with_levels.status is ActionStatus.PLAN_UPDATED
    assert "size_factor not applied" in with_levels.detail
    assert bot.plan().stop_price == Price(Decimal(48000))


def test_partial_close_statuses_and_the_plan_closes_only_when_exits_fill() -> None:
    bot = make_bot()
    assert bot.act(Action.PARTIAL_CLOSE, close_fraction=Decimal("0.5")).status is ActionStatus.PARTIAL_CLOSE_INVALID
    assert bot.buy() == "order_open"
    pending = bot.plan()
    assert pending.status is PlanStatus.PENDING
    status = bot.act(Action.PARTIAL_CLOSE, plan_id=pending.plan_id, close_fraction=Decimal("0.5")).status
    assert status is ActionStatus.PARTIAL_CLOSE_MISSING_PLAN, "a plan whose entry has not filled sends no exit"
    assert [c[0] for c in bot.placed()] == ["place_order"]
    bot.tick()
    plan = bot.plan()
    tiny = bot.act(Action.PARTIAL_CLOSE, plan_id=plan.plan_id, close_fraction=Decimal("0.00001"))
    assert tiny.status is ActionStatus.PARTIAL_CLOSE_ZERO_QTY
    # A 10 % close is worth 100 USDT, below the 500 minimum trade size: a reducing order is never blocked.
    small = bot.act(Action.PARTIAL_CLOSE, plan_id=plan.plan_id, close_fraction=Decimal("0.1"))
    assert small.status is ActionStatus.PARTIAL_CLOSE_EXECUTED
    assert bot.plan().quantity == plan.quantity, "nothing changes before the exit's fill is booked"
    bot.tick()
    assert bot.plan().quantity.value == plan.quantity.value * Decimal("0.9")
    full = bot.act(Action.PARTIAL_CLOSE, plan_id=plan.plan_id, close_fraction=Decimal(1))
    assert full.status is ActionStatus.PARTIAL_CLOSE_EXECUTED
    assert bot.plan().status is PlanStatus.OPEN
    bot.tick()
    assert bot.services.book.plans() == ()


def test_a_partial_close_never_leaves_a_remainder_the_plan_no_longer_holds() -> None:
    """The close is sized at the last price, the market sell fills at the bid. A remainder worth the venue's minimum
    (5 USDT) at the last price is dust at the bid: sized at the last price alone, the plan closed on that fill and
    the remainder stayed held with no plan to protect or sell it. A remainder that close to the minimum goes with
    the close."""
    bot = make_bot()
    plan_id = opened(bot)
    held = bot.plan().quantity.value
    bot.venue.set_quote(BTC, bid=Decimal(49990), ask=Decimal(50010), last=Decimal(50000))
    fraction = (held - Decimal("0.000095")) / held  # rounds down to leave 0.0001 BTC: 5 USDT at 50,000
    outcome = bot.act(Action.PARTIAL_CLOSE, plan_id=plan_id, close_fraction=fraction)
    assert outcome.status is ActionStatus.PARTIAL_CLOSE_EXECUTED
    bot.tick()
    assert bot.services.book.plans() == ()
    assert bot.services.tracker.holding(BTC).quantity == 0, "nothing held outside a plan"


def test_an_exit_the_venue_refuses_leaves_the_plan_open() -> None:
    bot = make_bot()
    plan_id = opened(bot)
    held = bot.plan().quantity
    bot.venue.fail_next("place_order", OrderRejectedError("insufficient balance"))
    outcome = bot.act(Action.PARTIAL_CLOSE, plan_id=plan_id, close_fraction=Decimal("0.5"))
    assert outcome.status is ActionStatus.PARTIAL_CLOSE_ERROR
    bot.tick()
    assert bot.plan().status is PlanStatus.OPEN
    assert bot.plan().quantity == held
    assert bot.services.tracker.stats.fills == 1
    legs = bot.services.book.orders_of_plan(plan_id)
    assert sorted(o.role.value for o in legs) == ["stop", "target"], "protection comes back"
    assert all(o.status is not IntentStatus.FILLED for o in legs)


def test_an_unknown_symbol_is_refused() -> None:
    bot = make_bot(plans=OFF)
    outcome = bot.act(Action.BUY, symbol=BTC.__class__.parse("DOGE/USDT"))
    assert outcome.status is ActionStatus.UNKNOWN_SYMBOL


def test_in_a_replay_with_volatility_sizing_entry_sizes_follow_the_sma_flag() -> None:
    from trader_adapters.memory import InMemoryStore
    from trader_adapters.strategies.sma_cross import SmaCross
    from trader_adapters.telemetry import RecordingTelemetry
    from trader_app.bootstrap import build_replay, load_series
    from trader_app.settings import load_settings
    from trader_core.model import BotId

    settings = load_settings({"symbols": ["BTC/USDT"], "days": 1}, environ={})
    store = InMemoryStore(BotId("replay"))
    wired = run(build_replay(settings, load_series(settings), store, telemetry_factory=lambda _: RecordingTelemetry(),
                             strategy=SmaCross(volatility_sizing=True)))
    summary = run(wired.orchestrator.run_until_stopped(lambda: Decimal(0)))
    with store.unit_of_work() as uow:
        plans = {p.plan_id: p for p in uow.plans.list_for_run(RunId(summary.run_id))}
        entries = [o for o in uow.orders.list_for_run(RunId(summary.run_id)) if o.role is OrderRole.ENTRY]
    shares = set()
    for order in entries:
        assert order.plan_id is not None
        plan = plans[order.plan_id]
        if plan.entry_price is not None:
            shares.add((order.request.quantity.value * plan.entry_price.value / 1000).quantize(Decimal("0.1")))
    assert len(shares) >= 2, shares
    assert shares <= {Decimal("0.6"), Decimal("0.8"), Decimal("1.0")}


def test_a_resting_entry_cancelled_ends_its_plan_and_the_symbol_can_be_entered_again() -> None:
    bot = make_bot(maker=MakerPreference(default=True))
    bot.venue.set_quote(BTC, Decimal(50000), Decimal(50010))  # a post-only buy at 49975 rests
    assert bot.buy() == "order_open"
    first = bot.plan().plan_id
    (entry,) = bot.services.book.orders_of_plan(first, OrderRole.ENTRY)
    assert bot.act(Action.CANCEL, client_order_id=entry.client_order_id).status is ActionStatus.CANCELLED
    bot.tick()
    with bot.store.unit_of_work() as uow:
        stored = uow.plans.find(first)
    assert stored is not None
    assert stored.status is PlanStatus.CANCELLED, "its entry never filled: the plan held nothing"
    assert [e.plan_id for e in bot.telemetry.of_type(PlanCancelled)] == [first.value]
    assert bot.buy() == "order_open", "the cancelled plan no longer holds the symbol's only plan slot"


def test_close_all_cancels_a_resting_entry_too_so_nothing_fills_after_the_operator_closed_everything() -> None:
    bot = make_bot(maker=MakerPreference(default=True))
    bot.venue.set_quote(BTC, Decimal(50000), Decimal(50010))
    assert bot.buy() == "order_open"  # a post-only buy rests at the venue, its plan pending
    (entry,) = bot.services.book.orders_of_plan(bot.plan().plan_id, OrderRole.ENTRY)
    run(bot.services.actions.flatten_all("closed by an operator", bot.view().last_prices))  # `command close-all`
    assert run(bot.venue.fetch_open_orders(BTC)) == (), f"{entry.client_order_id} would fill and open a position"
    bot.venue.set_price(BTC, Decimal(49000))  # the market falls through where the entry rested
    bot.tick()
    assert bot.services.book.plans() == ()
    assert bot.services.tracker.holding(BTC).quantity == 0


def test_cancelling_the_bots_working_entries_on_stop_leaves_no_plan_pending() -> None:
    bot = make_bot(maker=MakerPreference(default=True))
    bot.venue.set_quote(BTC, Decimal(50000), Decimal(50010))
    assert bot.buy() == "order_open"
    plan_id = bot.plan().plan_id
    working = bot.services.book.orders()
    run(bot.services.resync.executor.cancel_all(working))  # the operator's cancel-all, the stop's exit policy
    assert bot.services.book.plans() == ()
    with bot.store.unit_of_work() as uow:
        assert [p.plan_id for p in uow.plans.list_active(None)] == [], f"{plan_id} would load as pending"


def test_update_plan_may_not_move_a_stop_beyond_the_per_trade_loss_cap() -> None:
    """0.02 BTC at 50,000 under a cap of 25 may have its stop at 48,750 at the lowest; a stop moved towards the entry
    always goes."""
    bot = make_bot(risk=RiskPolicy(max_trade_loss=Decimal(25), min_trade_size=Decimal(10)))
    assert bot.buy() == "order_open"
    bot.tick()
    plan_id = bot.plan().plan_id
    refused = bot.act(Action.UPDATE_PLAN, plan_id=plan_id, stop=Price(48000))
    assert refused.status is ActionStatus.UPDATE_PLAN_INVALID
    assert refused.detail == "stop 48000 would put 40 at risk, above the per-trade loss cap 25"
    assert bot.plan().stop_price == Price(49000), "the plan unchanged"
    assert bot.act(Action.UPDATE_PLAN, plan_id=plan_id, stop=Price(48800)).status is ActionStatus.PLAN_UPDATED
    assert bot.act(Action.UPDATE_PLAN, plan_id=plan_id, stop=Price(49500)).status is ActionStatus.PLAN_UPDATED
    with_fees = make_bot(risk=RiskPolicy(max_trade_loss=Decimal(25), min_trade_size=Decimal(10),
                                         trade_fee_rate=Decimal("0.001")))
    assert with_fees.buy() == "order_open"
    with_fees.tick()
    refused = with_fees.act(Action.UPDATE_PLAN, plan_id=with_fees.plan().plan_id, stop=Price(48800))
    assert refused.detail == "stop 48800 would put 25.976 at risk, above the per-trade loss cap 25", "fees count"
    unlimited = make_bot()
    assert unlimited.buy() == "order_open"
    unlimited.tick()
    moved = unlimited.act(Action.UPDATE_PLAN, plan_id=unlimited.plan().plan_id, stop=Price(45000))
    assert moved.status is ActionStatus.PLAN_UPDATED, "no cap, no limit"
