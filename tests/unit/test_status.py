"""``trader-app status`` on a bot built on fakes: the trading state and its reason, positions with unrealized
PnL at the last prices the loop stored, open plans with their protective orders, open orders, today's and
total PnL and fees; the loop stores its status (not in replays) and reports a tick that overran its interval."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

from tests.unit.trading_bot import BTC, ETH, T0, Bot, make_bot, run
from trader_adapters.sleep import SimulatedSleeper
from trader_app.commands.status import collect_status, render_status
from trader_app.loop_status import STATUS_KEY, LoopStatus, capture_loop_status, protection_form
from trader_app.orchestrator import StrategyOrchestrator
from trader_core.model import Action, Candle, RunId, RunRecord, Signal, Timeframe
from trader_core.model.events import LoopLagged
from trader_core.model.health import TradingState, TradingStatus


def _store_loop_status(bot: Bot) -> None:
    prices = bot.view().last_prices
    status = capture_loop_status(at=bot.clock.now(), ticks=7, duration=timedelta(milliseconds=250),
                                 lag=timedelta(0), interval=timedelta(seconds=10), health=bot.services.health,
                                 tracker=bot.services.tracker, prices=prices, symbols=(BTC, ETH))
    with bot.store.unit_of_work() as uow:
        uow.values.put(STATUS_KEY, status.to_json())
        uow.commit()


def _bot_with_a_protected_position() -> Bot:
    bot = make_bot()
    bot.buy()
    bot.tick()  # the entry fills; the bracket goes out
    bot.venue.set_price(BTC, Decimal(51000))
    return bot


def test_status_shows_state_positions_plans_orders_and_pnl() -> None:
    bot = _bot_with_a_protected_position()
    with bot.store.unit_of_work() as uow:
        uow.trading_state.put(TradingStatus(state=TradingState.REDUCING, since=bot.clock.now(),
                                            reason="loss limit breached", source="risk",
                                            until=bot.clock.now() + timedelta(hours=1)))
        uow.commit()
    _store_loop_status(bot)

    status = collect_status(bot.store, bot.clock.now() + timedelta(seconds=3))

    assert status["trading_state"]["state"] == "reducing"
    assert status["trading_state"]["reason"] == "loss limit breached"
    assert status["loop"]["ticks"] == 7
    assert status["loop"]["age_s"] == "3.0"
    assert status["circuits"]["exchange"]["health"] == "ok"
    (position,) = status["positions"]
    holding = next(h for h in bot.services.tracker.holdings() if h.symbol == BTC)
    assert position["symbol"] == "BTC/USDT"
    assert Decimal(position["quantity"]) == holding.quantity > 0
    assert position["last_price"] == "51000"
    assert Decimal(position["unrealized_pnl"]) == holding.quantity * 51000 - holding.cost
    (plan,) = status["plans"]
    assert plan["symbol"] == "BTC/USDT"
    assert plan["protected"] is True
    assert {o["role"] for o in plan["protection"]} == {"stop", "target"}
    assert {o["client_order_id"] for o in status["orders"]} >= {o["client_order_id"] for o in plan["protection"]}
    stats = bot.services.tracker.stats
    assert status["pnl"]["total"]["fills"] == stats.fills >= 1
    assert Decimal(status["pnl"]["total"]["fees"]) == stats.fees > 0
    assert status["pnl"]["today"]["fills"] == stats.fills, "every fill of the test falls on its one day"
    assert status["pnl"]["day"] == T0.date().isoformat()

    text = render_status(status)
    assert "trading state  reducing" in text
    assert "loss limit breached" in text
    assert "BTC/USDT" in text
    assert "stop" in text
    assert "target" in text


def test_json_output_is_plain_data_with_decimals_as_strings() -> None:
    bot = _bot_with_a_protected_position()
    _store_loop_status(bot)
    status = collect_status(bot.store, bot.clock.now())
    again = json.loads(json.dumps(status))
    assert again == status
    assert set(status) == {"bot", "run", "process", "trading_state", "loop", "circuits", "positions", "plans",
                           "orders", "pnl", "replay_end", "llm_budget"}
    assert status["llm_budget"] is None  # never ran the LLM strategy

    def walk(value: Any) -> None:
        assert not isinstance(value, float | Decimal)
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(status)
    assert isinstance(status["pnl"]["total"]["gross_pnl"], str)


def test_a_bot_with_nothing_stored_is_active_and_flat() -> None:
    bot = make_bot()
    status = collect_status(bot.store, bot.clock.now())
    assert status["trading_state"]["state"] == "active"
    assert status["loop"] is None
    assert status["positions"] == []
    assert status["plans"] == []
    assert status["orders"] == []
    assert status["pnl"]["total"] == {"fills": 0, "gross_pnl": "0", "fees": "0", "net": "0"}
    assert "none recorded" in render_status(status)


@attrs.define
class SlowStrategy:
    """Takes ``delay`` of the simulated clock to decide."""

    bot: Bot
    delay: timedelta

    async def decide(self, context: object) -> tuple[Signal, ...]:
        self.bot.clock.advance(self.delay)
        return (Signal(action=Action.HOLD, symbol=BTC),)


def _loop(bot: Bot, mode: str, delay: timedelta) -> StrategyOrchestrator:
    services = attrs.evolve(bot.services, strategy=SlowStrategy(bot, delay))
    record = RunRecord(run_id=_fresh_id(), mode=mode, started_at=bot.clock.now())
    return StrategyOrchestrator(services=services, store=bot.store, clock=bot.clock, telemetry=bot.telemetry,
                                sleeper=SimulatedSleeper(bot.clock), run=record, interval=timedelta(seconds=10),
                                balance=Decimal(100000))


@pytest.mark.parametrize("mode", ["sandbox", "replay"])
def test_a_tick_that_overruns_its_interval_is_reported_and_the_status_stored_outside_replays(mode: str) -> None:
    bot = make_bot(run_id="r2")
    price = Decimal(50000)
    bot.venue.add_candles([Candle(symbol=BTC, timeframe=Timeframe("1m"), open_time=T0 - timedelta(minutes=2),
                                  open=price, high=price, low=price, close=price, volume=Decimal(1))])
    loop = _loop(bot, mode, timedelta(seconds=13))
    seen: list[LoopStatus] = []
    loop.on_status = seen.append
    asyncio.run(loop.start())
    run(loop.tick())

    (lagged,) = bot.telemetry.of_type(LoopLagged)
    assert isinstance(lagged, LoopLagged)
    assert lagged.lag_s == "3.000"
    assert lagged.interval_s == "10.000"
    assert loop.last_lag == timedelta(seconds=3)
    with bot.store.unit_of_work() as uow:
        stored = uow.values.find(STATUS_KEY)
    if mode == "replay":
        assert stored is None
        assert not seen
        return
    assert stored is not None
    status = LoopStatus.from_json(stored)
    assert status == seen[0]
    assert status.lag_s == Decimal("3.000")
    assert status.ticks == 1
    assert status.circuits["exchange"]["health"] == "ok"
    assert status.prices["BTC/USDT"] == Decimal(50000)
    assert status.protection == "venue-held stop and target (OCO)"  # the fake venue holds brackets


def test_the_status_is_written_at_most_every_few_seconds_while_on_time() -> None:
    bot = make_bot(run_id="r3")
    loop = _loop(bot, "sandbox", timedelta(seconds=1))
    seen: list[LoopStatus] = []
    loop.on_status = seen.append
    asyncio.run(loop.start())
    for _ in range(6):  # one simulated second per tick: writes at the first tick and 5 s later
        run(loop.tick())
    assert [s.ticks for s in seen] == [1, 6]
    assert not bot.telemetry.of_type(LoopLagged)


_ids = iter(range(100, 1000))


def _fresh_id() -> RunId:
    return RunId(f"loop{next(_ids)}")


def test_llm_budget_shows_the_state_burn_and_hours_to_the_cap_and_net_after_llm() -> None:
    from trader_adapters.llm.traces import BUDGET_KEY
    from trader_app.commands.status import render_status
    from trader_core.model import RunId
    from trader_core.model.llm import LlmCallRecord

    bot = _bot_with_a_protected_position()
    now = bot.clock.now()
    with bot.store.unit_of_work() as uow:
        uow.values.put(BUDGET_KEY, json.dumps({"budget": "10", "model": "m"}))
        uow.llm_calls.add(LlmCallRecord(trace_id="t1", run_id=RunId("r"), at=now - timedelta(hours=2), model="m",
                                        tokens_in=1, tokens_out=1, cost=Decimal("8.5")))
        uow.llm_calls.add(LlmCallRecord(trace_id="t2", run_id=RunId("r"), at=now, model="m", tokens_in=1,
                                        tokens_out=1, cost=Decimal("3"), replayed=True))
        uow.commit()
    status = collect_status(bot.store, now)
    assert status["llm_budget"] == {
        "state": "near_cap", "budget": "10", "cost": "8.5", "remaining": "1.5", "pct_of_budget": "85",
        "burn_rate_per_hour": "4.25", "hours_to_cap": "0.35", "calls": 2, "tokens_in": 2, "tokens_out": 2,
        "replayed_calls": 1, "replayed_cost": "3"}
    net = Decimal(status["pnl"]["total"]["net"]) - Decimal("8.5")
    assert f"llm budget     near_cap: 8.5 of 10 (85 %), burn 4.25/h, 0.35 h to the cap, 2 calls; net after LLM {net}" \
        in render_status(status)


@pytest.mark.parametrize(("holds_exits", "holds_stops", "words"), [
    (True, True, "venue-held stop and target (OCO)"),
    (False, True, "venue-held stop; target held by the bot"),
    (False, False, "stop and target held by the bot alone"),
])
def test_status_says_how_the_venue_protects_open_plans(holds_exits: bool, holds_stops: bool, words: str) -> None:
    bot = make_bot()
    status = capture_loop_status(at=bot.clock.now(), ticks=1, duration=timedelta(0), lag=timedelta(0),
                                 interval=timedelta(seconds=10), health=bot.services.health,
                                 tracker=bot.services.tracker, prices={}, symbols=(BTC,),
                                 protection=protection_form(holds_exits=holds_exits, holds_stops=holds_stops))
    with bot.store.unit_of_work() as uow:
        uow.values.put(STATUS_KEY, status.to_json())
        uow.commit()
    shown = collect_status(bot.store, bot.clock.now())
    assert shown["loop"]["protection"] == words
    assert f"protection     {words}" in render_status(shown)


def test_status_tells_a_run_whose_process_is_gone_from_a_live_one() -> None:
    """A bot killed with -9 (or a power cut) leaves its run marked running: only its lease, expired and not
    renewed, tells the operator that nothing is watching the positions."""
    from trader_core.model.lease import Lease

    bot = _bot_with_a_protected_position()
    now = bot.clock.now()
    with bot.store.unit_of_work() as uow:
        uow.runs.add(RunRecord(run_id=RunId("live-1"), mode="live", started_at=now - timedelta(days=2)))
        uow.leases.take(Lease(token="t", host="box", pid=4242, since=now - timedelta(days=2),
                              expires_at=now + timedelta(seconds=20)), now)
        uow.commit()

    alive = collect_status(bot.store, now)
    assert alive["process"] == {"host": "box", "pid": 4242, "since": (now - timedelta(days=2)).isoformat(),
                                "expires_at": (now + timedelta(seconds=20)).isoformat(), "alive": True}
    assert f"process        running: host box, pid 4242, since {(now - timedelta(days=2)).isoformat()}" \
        in render_status(alive)

    gone = collect_status(bot.store, now + timedelta(minutes=5))
    assert gone["run"]["status"] == "running"
    assert gone["process"]["alive"] is False
    assert (f"process        none since {(now + timedelta(seconds=20)).isoformat()}: the run is marked running "
            "but no process holds the bot (killed or crashed)") in render_status(gone)
