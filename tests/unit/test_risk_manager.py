"""RiskManager: the bot's own book, entry limits, loss limits whose baselines survive a restart."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from tests.unit.trading_bot import BTC, ETH, T0, USDT, Awake, Bot, make_bot, run
from trader_adapters.clock import SimulatedClock
from trader_adapters.memory import InMemoryStore
from trader_adapters.memory.exchange import FakeExchange
from trader_app.orchestrator import StrategyOrchestrator
from trader_core.execution import MakerPreference
from trader_core.model import (
    Action,
    BotId,
    Candle,
    ClientOrderId,
    Fill,
    Liquidity,
    Money,
    OrderRole,
    PlanStatus,
    Price,
    Quantity,
    RunId,
    RunRecord,
    Side,
    Symbol,
    Timeframe,
    TradeId,
    VenueOrderId,
)
from trader_core.model.events import CapitalAboveAccount
from trader_core.model.health import TradingState
from trader_core.model.stats import StatsScope
from trader_core.portfolio import BalanceCheck
from trader_core.risk import LOSS_LIMITS_KEY, LossLimitKind, LossLimitPolicy, RiskPolicy
from trader_core.trading import ActionStatus


def test_the_risk_book_holds_the_bots_position_and_counts_each_working_order_once() -> None:
    bot = make_bot()
    assert bot.buy() == "order_open"
    risk = bot.services.risk
    assert risk is not None
    book = risk.risk_book({BTC: Decimal(50000)})
    assert book.positions == ()
    assert [p.notional for p in book.pending] == [Decimal("1000.00000")], "the entry, once"
    bot.tick()
    book = risk.risk_book({BTC: Decimal(50000)})
    assert book.pending == (), "protective legs reduce a position already counted"
    assert book.held(BTC) == Decimal("0.02")
    assert book.exposure() == Decimal(1000)


def test_the_exposure_headroom_is_what_the_cap_leaves_at_the_marks_and_never_negative() -> None:
    bot = make_bot(risk=RiskPolicy(max_total_exposure=Decimal(1500), max_positions=2))
    risk = bot.services.risk
    assert risk is not None
    assert risk.exposure_headroom({BTC: Decimal(50000)}) == Decimal(1500)
    assert bot.buy() == "order_open"
    assert risk.exposure_headroom({BTC: Decimal(50000)}) == Decimal(500), "a working entry counts"
    bot.tick()
    assert risk.exposure_headroom({BTC: Decimal(60000)}) == Decimal(300), "the position at the mark: 0.02 x 60,000"
    assert risk.exposure_headroom({BTC: Decimal(90000)}) == 0


def test_entry_limits_block_new_risk_but_never_a_reducing_order() -> None:
    bot = make_bot(risk=RiskPolicy(max_total_exposure=Decimal(1500), max_positions=1))
    assert bot.buy() == "order_open"
    bot.tick()
    assert bot.buy(ETH) == "risk_blocked"
    outcome = bot.act(Action.PARTIAL_CLOSE, plan_id=bot.plan().plan_id, close_fraction=Decimal("0.1"))
    assert outcome.status is ActionStatus.PARTIAL_CLOSE_EXECUTED


def test_a_daily_loss_moves_trading_to_reducing_and_exits_still_go() -> None:
    bot = make_bot(losses=LossLimitPolicy(max_daily_loss=Decimal(10), max_daily_loss_pct=None))
    assert bot.buy() == "order_open"
    bot.tick()
    bot.venue.set_price(BTC, Decimal(49400))  # -12 on 0.02 BTC, above the stop
    bot.tick()
    risk = bot.services.risk
    assert risk is not None
    assert risk.breach is not None
    assert risk.breach.kind is LossLimitKind.DAILY_ABSOLUTE
    assert bot.services.health.status.state is TradingState.REDUCING
    assert bot.services.health.status.until is None
    assert bot.buy(ETH) == "entries_blocked"
    assert bot.act(Action.CLOSE_POSITION).status is ActionStatus.CLOSE_POSITION_EXECUTED


def test_a_loss_limit_survives_a_restart() -> None:
    store = InMemoryStore(BotId("test"))
    clock = SimulatedClock(T0)
    policy = LossLimitPolicy(max_daily_loss=Decimal(10), max_daily_loss_pct=None)
    first = make_bot(store=store, clock=clock, losses=policy)
    assert first.buy() == "order_open"
    first.tick()
    with store.unit_of_work() as uow:
        stored = uow.values.find(LOSS_LIMITS_KEY)
    assert stored is not None
    start = Decimal(json.loads(stored)["day_start_equity"])
    # The process ends; prices fall while it is down; a new process starts from the same store.
    first.venue.set_price(BTC, Decimal(49400))
    second = make_bot(store=store, clock=clock, venue=first.venue, losses=policy, run_id="r2")
    second.services.tracker.start(StatsScope.for_mode("test", second.services.resync.executor.run_id))
    risk = second.services.risk
    assert risk is not None
    assert risk.state.day_start_equity == start, "the day's baseline came back from the store"
    breach = risk.observe({BTC: Decimal(49400)})
    assert breach is not None
    assert breach.kind is LossLimitKind.DAILY_ABSOLUTE
    assert second.services.health.status.state is TradingState.REDUCING


def test_the_day_rolls_at_local_midnight() -> None:
    bot = make_bot(losses=LossLimitPolicy(max_daily_loss=Decimal(10), max_daily_loss_pct=None,
                                          day_timezone="Europe/Zurich"))
    risk = bot.services.risk
    assert risk is not None
    risk.observe({BTC: Decimal(50000)})
    first_day = risk.state.day
    bot.clock.advance(T0.replace(hour=23, minute=30) - T0)  # 00:30 the next day in Zurich
    risk.observe({BTC: Decimal(50000)})
    assert first_day is not None
    assert risk.state.day is not None
    assert risk.state.day > first_day


def _candle(symbol: Symbol, close: Decimal) -> Candle:
    return Candle(symbol=symbol, timeframe=Timeframe("1m"), open_time=T0, open=close, high=close, low=close,
                  close=close, volume=Decimal(1))


def test_a_loss_limit_breach_cancels_the_bots_resting_entries_so_none_fills_after_it() -> None:
    bot = make_bot(maker=MakerPreference(default=True),
                   losses=LossLimitPolicy(max_daily_loss=Decimal(10), max_daily_loss_pct=None))
    bot.venue.set_quote(BTC, Decimal(50000), Decimal(50010), Decimal(49950))  # the maker buy crosses: a market entry
    assert bot.buy() == "order_open"
    bot.tick()
    assert bot.plan().status is PlanStatus.OPEN
    bot.venue.set_quote(ETH, Decimal(2000), Decimal(2001))
    assert bot.buy(ETH) == "order_open"  # a post-only buy resting below the bid
    (eth_plan,) = bot.services.book.plans(ETH)
    assert eth_plan.status is PlanStatus.PENDING
    # BTC falls 950: about 19 lost on 0.02 BTC, above the daily limit of 10 (and above the plan's stop).
    bot.venue.set_quote(BTC, Decimal(49000), Decimal(49000), Decimal(49000))
    bot.venue.add_candles([_candle(BTC, Decimal(49000)), _candle(ETH, Decimal("2000.5"))])
    record = RunRecord(run_id=RunId("r1"), mode="test", started_at=T0)
    loop = StrategyOrchestrator(services=bot.services, store=bot.store, clock=bot.clock, telemetry=bot.telemetry,
                                sleeper=Awake(), run=record, interval=timedelta(minutes=1), balance=Decimal(100000))
    run(loop.tick())
    risk = bot.services.risk
    assert risk is not None
    assert risk.breach is not None
    assert bot.services.health.status.state is TradingState.REDUCING
    assert bot.services.book.orders(ETH) == (), "the resting ETH entry is cancelled with the breach"
    assert bot.services.book.plans(ETH) == ()
    bot.venue.set_quote(ETH, Decimal(1990), Decimal(1991))  # where the resting buy would have filled
    bot.tick()
    assert bot.services.tracker.holding(ETH).quantity == 0, "no new position after the loss limit"


def test_a_holding_without_a_price_yet_counts_at_its_cost_toward_the_exposure_cap() -> None:
    bot = make_bot(risk=RiskPolicy(max_total_exposure=Decimal(1500)))
    assert bot.buy() == "order_open"
    bot.tick()  # 0.02 BTC held, bought for 1000
    risk = bot.services.risk
    assert risk is not None
    # After a restart, or a tick whose BTC fetch failed, the market view may have no BTC price yet.
    assert risk.risk_book({}).exposure() == Decimal(1000)
    verdict = risk.check_entry(ETH, Quantity(Decimal("0.5")), Price(Decimal(2000)), {ETH: Decimal(2000)})
    assert not verdict.allowed, "1000 held + 1000 more is above the cap of 1500, priced or not"


def test_an_operators_resume_after_a_loss_limit_breach_holds_and_the_limit_counts_again_from_there() -> None:
    bot = make_bot(losses=LossLimitPolicy(max_daily_loss=Decimal(10), max_daily_loss_pct=None))
    assert bot.buy(stop_pct=Decimal(10), target_pct=Decimal(20)) == "order_open"  # a stop far below
    bot.tick()
    bot.venue.set_price(BTC, Decimal(49400))  # -12 on 0.02 BTC
    bot.tick()
    health = bot.services.health
    assert health.status.state is TradingState.REDUCING
    health.resume("alice")  # the operator has looked at the loss and resumes
    assert bot.buy(ETH) == "order_open", "entries go again at once"
    bot.tick()
    assert health.status.state is TradingState.ACTIVE, "the next tick does not take the resume back"
    bot.venue.set_price(BTC, Decimal(49000))  # 8 more lost since the resume (and the ETH entry's fee): within it
    bot.tick()
    assert health.status.state is TradingState.ACTIVE
    bot.venue.set_price(BTC, Decimal(48800))  # 12 more lost since the resume: a new breach
    bot.tick()
    assert health.status.state is TradingState.REDUCING
    risk = bot.services.risk
    assert risk is not None
    assert risk.breach is not None
    assert risk.breach.kind is LossLimitKind.DAILY_ABSOLUTE


def _started(account: Decimal, balance: Decimal) -> Bot:
    """A bot started against an account holding ``account`` USDT, its ``balance`` setting (its capital) being
    ``balance``; the run ends before its first tick."""
    clock = SimulatedClock(T0)
    venue = FakeExchange(clock=clock, balances={USDT: account})
    venue.set_price(BTC, Decimal(50000))
    bot = make_bot(clock=clock, venue=venue)
    record = RunRecord(run_id=RunId("r2"), mode="test", started_at=T0)  # (make_bot stored r1)
    loop = StrategyOrchestrator(services=bot.services, store=bot.store, clock=clock, telemetry=bot.telemetry,
                                sleeper=Awake(), run=record, interval=timedelta(minutes=1), balance=balance,
                                until=T0 - timedelta(minutes=1),
                                balances=BalanceCheck(venue, bot.telemetry, clock))
    run(loop.run_until_stopped(lambda: Decimal(0)))
    return bot


def test_a_capital_above_what_the_account_holds_is_reported_at_start_up() -> None:
    # The user's account holds 1100 USDT but `balance` was left at its default of 10000: the daily loss limit of
    # 3 % would only fire after 300 lost, 27 % of the account.
    (event,) = _started(Decimal(1100), Decimal(10000)).telemetry.of_type(CapitalAboveAccount)
    assert (event.asset, Decimal(event.capital), Decimal(event.account)) == ("USDT", 10000, 1100)
    assert not _started(Decimal(100000), Decimal(10000)).telemetry.of_type(CapitalAboveAccount)
    assert not _started(Decimal(1100), Decimal(1100)).telemetry.of_type(CapitalAboveAccount)


def _fill(side: Side, quantity: str, price: str, fee: Money, trade_id: str) -> Fill:
    return Fill(trade_id=TradeId(trade_id), venue_order_id=VenueOrderId(f"v{trade_id}"),
                client_order_id=ClientOrderId(f"tc-r1-{trade_id}-1"), symbol=BTC, side=side,
                price=Price(Decimal(price)), quantity=Quantity(Decimal(quantity)), fee=fee, time=T0,
                liquidity=Liquidity.TAKER)


def test_dust_a_round_trip_left_takes_no_place_under_max_positions() -> None:
    bot = make_bot(risk=RiskPolicy(max_positions=1))
    tracker = bot.services.tracker
    # A round trip on a venue charging the buy's fee in the base asset (Binance without BNB): bought 0.02313 BTC,
    # 0.00002313 BTC went to the fee, the exit sold 0.02310 (the venue's step): 0.00000687 BTC is left, unsellable.
    fee_in_btc = Money(Decimal("0.00002313"), BTC.base)
    tracker.book(_fill(Side.BUY, "0.02313", "43217.55", fee_in_btc, "1"), run_id=RunId("r1"), venue="fake",
                 plan_id=None, role=OrderRole.ENTRY)
    tracker.book(_fill(Side.SELL, "0.02310", "43300", Money(Decimal(1), USDT), "2"), run_id=RunId("r1"), venue="fake",
                 plan_id=None, role=OrderRole.EXIT)
    assert tracker.holding(BTC).quantity == Decimal("0.00000687")
    assert bot.buy(ETH) == "order_open", "the BTC dust is no position: ETH is not a second one"


def test_a_new_capital_setting_moves_the_loss_limits_baselines_instead_of_reading_as_a_loss() -> None:
    store = InMemoryStore(BotId("test"))
    clock = SimulatedClock(T0)
    policy = LossLimitPolicy(max_drawdown_pct=Decimal(10))  # and the daily defaults: 1000 and 3 %
    first = make_bot(store=store, clock=clock, losses=policy)
    assert first.buy() == "order_open"
    first.tick()  # baselines at about 10000
    # Told the account holds 1100 (CapitalAboveAccount), the user sets balance to 1100 and restarts the same day.
    second = make_bot(store=store, clock=clock, venue=first.venue, losses=policy, run_id="r2",
                      allocation=Decimal(1100))
    second.services.tracker.start(StatsScope.for_mode("test", second.services.resync.executor.run_id))
    risk = second.services.risk
    assert risk is not None
    assert risk.observe({BTC: Decimal(50000)}) is None, "8900 less capital is not 8900 lost"
    assert second.services.health.status.state is TradingState.ACTIVE
    assert risk.state.day_start_equity is not None
    assert risk.state.day_start_equity < Decimal(1100)
    breach = risk.observe({BTC: Decimal(48000)})  # 40 lost on 0.02 BTC: 3.6 % of the new capital
    assert breach is not None
    assert breach.kind is LossLimitKind.DAILY_PERCENT


def test_an_entry_above_the_exposure_headroom_is_sized_down_to_it() -> None:
    bot = make_bot(risk=RiskPolicy(max_total_exposure=Decimal(1500)))
    assert bot.buy() == "order_open"
    bot.tick()  # 1000 of BTC held: 500 of headroom
    outcome = bot.act(Action.BUY, ETH, stop_pct=Decimal(2), target_pct=Decimal(3))  # a stake of 1000
    assert outcome.status is ActionStatus.ORDER_OPEN, "the original bought what the cap left, it did not refuse"
    assert "exposure headroom" in outcome.detail
    bot.tick()
    risk = bot.services.risk
    assert risk is not None
    assert bot.services.tracker.holding(ETH).quantity == Decimal("0.25")  # 500 at 2000
    assert risk.risk_book(bot.view().last_prices).exposure() <= Decimal(1500)


def test_an_entry_is_sized_down_to_what_it_may_lose_at_its_stop() -> None:
    """A stake of 1000 at 50,000 with its stop 2 % below loses 20 there; a per-trade cap of 10 buys half of it."""
    bot = make_bot(risk=RiskPolicy(max_trade_loss=Decimal(10), min_trade_size=Decimal(10)))
    outcome = bot.act(Action.BUY, BTC, stop_pct=Decimal(2), target_pct=Decimal(3))
    assert outcome.status is ActionStatus.ORDER_OPEN
    assert "trimmed from 0.02 to the per-trade loss cap 10" in outcome.detail
    bot.tick()
    assert bot.services.tracker.holding(BTC).quantity == Decimal("0.01")


def test_a_trade_stopped_out_loses_no_more_than_the_cap_with_both_fees_paid() -> None:
    """The cap is what the trade may lose, fees included: at 0.1 % a side, a stake of 1000 at 50,000 with its stop
    at 49,000 loses 10 + 0.5 + 0.49 there; a cap of 10 buys 0.00909 BTC (9.99 with the fees), not 0.01 (10.99)."""
    bot = make_bot(risk=RiskPolicy(max_trade_loss=Decimal(10), min_trade_size=Decimal(10),
                                   trade_fee_rate=Decimal("0.001")))
    outcome = bot.act(Action.BUY, BTC, stop_pct=Decimal(2), target_pct=Decimal(3))
    assert outcome.status is ActionStatus.ORDER_OPEN
    bot.tick()
    assert bot.services.tracker.holding(BTC).quantity == Decimal("0.00909")
    bot.venue.set_price(BTC, Decimal(49000))  # the stop fills at its price
    bot.tick()
    assert not bot.services.tracker.holding(BTC).quantity, "stopped out"
    assert Decimal(-10) <= bot.services.tracker.net_realized < Decimal("-9.9")


def test_the_per_trade_loss_cap_in_percent_counts_from_the_bots_equity() -> None:
    bot = make_bot(risk=RiskPolicy(max_trade_loss_pct=Decimal("0.05"), min_trade_size=Decimal(10)))  # 5 of 10,000
    outcome = bot.act(Action.BUY, BTC, stop_pct=Decimal(2), target_pct=Decimal(3))
    assert "per-trade loss cap 5.00" in outcome.detail
    bot.tick()
    assert bot.services.tracker.holding(BTC).quantity == Decimal("0.005")
    risk = bot.services.risk
    assert risk is not None
    assert risk.policy.trade_loss_cap(Decimal(20000)) == Decimal(10), "the percent follows the equity"
    both = RiskPolicy(max_trade_loss=Decimal(8), max_trade_loss_pct=Decimal("0.05"))
    assert both.trade_loss_cap(Decimal(10000)) == Decimal(5)
    assert both.trade_loss_cap(Decimal(100000)) == Decimal(8), "the smaller of the two binds"


def test_an_entry_without_a_stop_counts_its_whole_value_as_its_loss() -> None:
    """Without a stop nothing bounds the loss below what the entry paid: a cap of 10 leaves an entry of 10, which
    the minimum trade size (500 here) refuses."""
    bot = make_bot(risk=RiskPolicy(max_trade_loss=Decimal(10)))
    outcome = bot.act(Action.BUY, BTC)
    assert outcome.status is ActionStatus.RISK_BLOCKED
    assert outcome.detail == "order value 10 below minimum 500; trimmed from 0.02 to the per-trade loss cap 10"
    assert bot.placed() == []
    bot = make_bot(risk=RiskPolicy(max_trade_loss=Decimal(10), min_trade_size=Decimal(1)))
    outcome = bot.act(Action.BUY, BTC, quantity=Quantity(Decimal("0.0001")))  # 5 of value: within the cap
    assert outcome.status is ActionStatus.ORDER_OPEN
    risk = bot.services.risk
    assert risk is not None
    verdict = risk.check_entry(BTC, Quantity(Decimal("0.001")), Price(Decimal(50000)), {})
    assert not verdict.allowed
    assert "loss 50.000 without a stop (its whole value) would exceed the per-trade cap 10" in verdict.reasons
