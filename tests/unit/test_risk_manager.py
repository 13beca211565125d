"""RiskManager: the bot's own book, entry limits, loss limits whose baselines survive a restart."""

from __future__ import annotations

import json
from decimal import Decimal

from tests.unit.trading_bot import BTC, ETH, T0, make_bot
from trader_adapters.clock import SimulatedClock
from trader_adapters.memory import InMemoryStore
from trader_core.model import Action, BotId
from trader_core.model.health import TradingState
from trader_core.model.stats import StatsScope
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
