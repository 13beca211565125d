"""Operator commands through the loop, on a fake venue, the in-memory store and the simulated clock: stop,
pause/resume/halt, close-all and cancel-all (the bot's own plans and orders only), stale commands, and a
command that arrives while the loop sleeps (it ends the sleep: no wall time involved)."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest

from trader_adapters.clock import SimulatedClock
from trader_adapters.memory import InMemoryStore
from trader_adapters.memory.exchange import FakeExchange
from trader_adapters.paper.instruments import default_rules
from trader_adapters.telemetry import RecordingTelemetry
from trader_app.bootstrap import build_services
from trader_app.operator import CommandProcessor
from trader_app.orchestrator import StrategyOrchestrator
from trader_core.model import (
    Action,
    Asset,
    BotId,
    Candle,
    ClientOrderId,
    ExchangeUnavailableError,
    OrderRequest,
    OrderType,
    PlanStatus,
    Price,
    Quantity,
    RunId,
    RunRecord,
    RunStatus,
    Side,
    Signal,
    Symbol,
    Timeframe,
)
from trader_core.model.commands import CommandName, CommandStatus, OperatorCommand
from trader_core.model.events import CommandHandled, RunFinished
from trader_core.model.health import HealthPolicy, TradingState
from trader_core.model.lease import Lease
from trader_core.ports import DecisionContext
from trader_core.trading import ActionPolicy

BTC = Symbol.parse("BTC/USDT")
USDT, BTC_ASSET = Asset("USDT"), Asset("BTC")
T0 = datetime(2025, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
TF = Timeframe("1m")
PRICE = Decimal(50000)
_IDS = itertools.count(1)


@attrs.define
class BuyOnce:
    """One BUY on the first decision that may enter, then nothing."""

    done: bool = False

    async def decide(self, context: DecisionContext) -> tuple[Signal, ...]:
        if self.done or BTC not in context.may_enter:
            return ()
        self.done = True
        return (Signal(action=Action.BUY, symbol=BTC, notional=Decimal(1000), stop_pct=Decimal(2),
                       target_pct=Decimal(3)),)


def _candle(open_time: datetime) -> Candle:
    return Candle(symbol=BTC, timeframe=TF, open_time=open_time, open=PRICE, high=PRICE, low=PRICE, close=PRICE,
                  volume=Decimal(1))


def queue(store: InMemoryStore, name: CommandName, at: datetime, minutes: int | None = None) -> str:
    command_id = f"cmd-{next(_IDS)}"
    with store.unit_of_work() as uow:
        uow.commands.add(OperatorCommand(command_id=command_id, name=name, created_at=at, minutes=minutes))
        uow.commit()
    return command_id


def stored(store: InMemoryStore, command_id: str) -> OperatorCommand:
    with store.unit_of_work() as uow:
        command = uow.commands.find(command_id)
    assert command is not None
    return command


@attrs.define
class FeedingSleeper:
    """The simulated sleeper, which also publishes each candle as it closes and queues the scripted commands
    once the clock reaches their time (as ``trader-app command`` would, from another process)."""

    clock: SimulatedClock
    venue: FakeExchange
    store: InMemoryStore
    script: list[tuple[datetime, CommandName]] = attrs.Factory(list)
    next_open: datetime = T0
    slept: list[timedelta] = attrs.Factory(list)

    async def sleep(self, duration: timedelta) -> bool:
        self.slept.append(duration)
        self.clock.advance(duration)
        while self.next_open + MINUTE <= self.clock.now():
            self.venue.add_candles([_candle(self.next_open)])
            self.next_open += MINUTE
        for at, name in [s for s in self.script if s[0] <= self.clock.now()]:
            self.script.remove((at, name))
            queue(self.store, name, self.clock.now())
        return True

    def wake(self) -> None:
        """Nothing blocks."""


@attrs.define
class Bot:
    orchestrator: StrategyOrchestrator
    venue: FakeExchange
    clock: SimulatedClock
    telemetry: RecordingTelemetry
    store: InMemoryStore
    sleeper: FeedingSleeper

    def tick(self) -> None:
        """A minute on, the candle that closed published, one tick (commands first)."""
        self.clock.advance(MINUTE)
        self.venue.add_candles([_candle(self.clock.now() - MINUTE)])
        asyncio.run(self.orchestrator.tick())

    def command(self, name: CommandName, minutes: int | None = None) -> OperatorCommand:
        """Queue ``name`` now and run the next tick; the stored command afterwards."""
        command_id = queue(self.store, name, self.clock.now(), minutes)
        self.tick()
        return stored(self.store, command_id)

    @property
    def health(self):  # type: ignore[no-untyped-def]
        return self.orchestrator.services.health

    def handled(self) -> list[CommandHandled]:
        return [e for e in self.telemetry.events if isinstance(e, CommandHandled)]


def a_bot(*, mode: str = "paper", exit_policy: str = "cancel", interval: timedelta = MINUTE,
          start: bool = True, store: InMemoryStore | None = None, wall: SimulatedClock | None = None) -> Bot:
    clock = SimulatedClock(T0)
    venue = FakeExchange(clock=clock, balances={USDT: Decimal(100000)})
    venue.set_price(BTC, PRICE)
    venue.add_candles([_candle(T0 - MINUTE)])
    store = store or InMemoryStore(BotId("ops"))
    telemetry = RecordingTelemetry()
    run = RunRecord(run_id=RunId(f"ops{next(_IDS)}"), mode=mode, started_at=T0)
    services = build_services(
        store=store, market=venue, trading=venue, clock=clock, telemetry=telemetry, strategy=BuyOnce(), run=run,
        symbols=(BTC,), timeframe=TF, rules={BTC: default_rules(BTC)},
        policy=ActionPolicy(stake=Decimal(1000), max_plans_per_symbol=10), prefix="tc-ops", health=HealthPolicy(),
    )
    sleeper = FeedingSleeper(clock, venue, store)
    orchestrator = StrategyOrchestrator(
        services=services, store=store, clock=clock, telemetry=telemetry, sleeper=sleeper, run=run,
        interval=interval, balance=Decimal(100000), exit_policy=exit_policy,
        commands=CommandProcessor(services, store, clock, telemetry, exit_policy=exit_policy, wall=wall), wall=wall,
    )
    if start:
        asyncio.run(orchestrator.start())
    return Bot(orchestrator, venue, clock, telemetry, store, sleeper)


def a_bot_in_a_position(**kwargs: object) -> Bot:
    """A bot whose entry filled and whose bracket (stop and target) rests at the venue, next to a foreign
    order and a foreign holding of the same symbol."""
    bot = a_bot(**kwargs)  # type: ignore[arg-type]
    _foreign(bot)
    for _ in range(3):
        bot.tick()
    book = bot.orchestrator.services.book
    assert [p.status for p in book.plans()] == [PlanStatus.OPEN]
    assert sorted(o.role.value for o in book.orders()) == ["stop", "target"]
    return bot


def _foreign(bot: Bot) -> None:
    """Someone else's holding and resting order in the bot's symbol, at the same venue."""
    bot.venue.deposit(BTC_ASSET, Decimal(5))
    foreign = OrderRequest(client_order_id=ClientOrderId("manual-1"), symbol=BTC, side=Side.BUY,
                           order_type=OrderType.LIMIT, quantity=Quantity(Decimal("0.1")), price=Price(Decimal(40000)))
    asyncio.run(bot.venue.place_order(foreign))


def open_at_venue(bot: Bot) -> set[str]:
    return {o.client_order_id.value for o in asyncio.run(bot.venue.fetch_open_orders(BTC))}


def venue_btc(bot: Bot) -> Decimal:
    balances = {b.asset: b.total for b in asyncio.run(bot.venue.fetch_balances())}
    return balances.get(BTC_ASSET, Decimal(0))


# --- stop ------------------------------------------------------------------------------------------------


def a_stopped_bot(policy: str) -> Bot:
    """A bot run by ``run_until_stopped``: it enters at T0, protects the position, and is stopped by an
    operator at T0 + 3 min (a foreign order and a foreign holding of the same symbol sit at the venue)."""
    bot = a_bot(exit_policy=policy, start=False)
    _foreign(bot)
    bot.sleeper.script.append((T0 + 3 * MINUTE + timedelta(seconds=1), CommandName.STOP))
    asyncio.run(bot.orchestrator.run_until_stopped(lambda: Decimal(0)))
    return bot


def test_a_stop_command_ends_the_loop_with_manual_stop_and_a_complete_cleanup() -> None:
    bot = a_stopped_bot("flatten")
    (finished,) = [e for e in bot.telemetry.events if isinstance(e, RunFinished)]
    assert finished.reason == "manual stop"
    (stop,) = [e for e in bot.handled() if e.command == "stop"]
    assert stop.status == "executed"
    assert stop.result == "stopping (exit policy: flatten)"
    # flatten: the bracket cancelled, the plan exited, its fill booked; foreign order and holding untouched.
    assert open_at_venue(bot) == {"manual-1"}
    assert venue_btc(bot) == Decimal(5)
    with bot.store.unit_of_work() as uow:
        run = uow.runs.find(bot.orchestrator.run.run_id)
        plans = uow.plans.list_for_run(bot.orchestrator.run.run_id)
    assert [p.status for p in plans] == [PlanStatus.CLOSED]
    assert run is not None
    assert run.status is RunStatus.FINISHED
    assert run.summary_json is not None
    assert '"stop_reason": "manual stop"' in run.summary_json


def test_a_bot_that_lost_its_lease_sends_nothing_more_whatever_its_exit_policy() -> None:
    """Stalled past its lease (a paused VM), the bot finds another process holding it: the positions are that
    process's now. Under ``flatten`` the old one sold the plan the new one protected, and the new one sold it
    again; it ends with nothing sent: no exit policy, no last sync."""
    bot = a_bot(exit_policy="flatten", start=False)
    _foreign(bot)
    taken_at = T0 + 3 * MINUTE
    bot.orchestrator.guard = lambda: "lease lost to host vm, pid 1" if bot.clock.now() > taken_at else None
    asyncio.run(bot.orchestrator.run_until_stopped(lambda: Decimal(0)))
    assert bot.orchestrator.stop_reason == "lease lost to host vm, pid 1"
    sent_after = [c for c in bot.venue.calls if c[0] in ("place_order", "cancel_order")]
    assert [c[0] for c in sent_after].count("cancel_order") == 0, "the bracket the new holder took over stays"
    assert [p.status for p in bot.orchestrator.services.book.plans()] == [PlanStatus.OPEN]
    with bot.store.unit_of_work() as uow:
        run = uow.runs.find(bot.orchestrator.run.run_id)
    assert run is not None
    assert run.status is RunStatus.FAILED


@pytest.mark.parametrize("policy", ["cancel", "leave"])
def test_a_stop_under_cancel_or_leave_keeps_the_venue_held_bracket(policy: str) -> None:
    bot = a_stopped_bot(policy)
    assert bot.orchestrator.stop_reason == "manual stop"
    roles = sorted(o.role.value for o in bot.orchestrator.services.book.orders())
    assert roles == ["stop", "target"]  # they guard the position while the bot is down
    assert len(open_at_venue(bot) - {"manual-1"}) == 2
    assert [p.status for p in bot.orchestrator.services.book.plans()] == [PlanStatus.OPEN]


# --- the health manager ---------------------------------------------------------------------------------


def test_pause_resume_and_halt_go_through_the_health_manager() -> None:
    bot = a_bot()
    paused = bot.command(CommandName.PAUSE, minutes=15)
    assert paused.status is CommandStatus.EXECUTED
    status = bot.health.status
    assert status.state is TradingState.REDUCING
    assert status.source == "operator"
    assert paused.handled_at is not None
    assert status.until == paused.handled_at + timedelta(minutes=15)
    assert paused.result is not None
    assert "reducing" in paused.result
    assert bot.orchestrator.services.book.plans() == ()  # no entry while paused
    resumed = bot.command(CommandName.RESUME)
    assert resumed.status is CommandStatus.EXECUTED
    assert bot.health.status.state is TradingState.ACTIVE
    assert len(bot.orchestrator.services.book.plans()) == 1  # the same tick entered
    halted = bot.command(CommandName.HALT)
    assert halted.status is CommandStatus.EXECUTED
    assert bot.health.status.state is TradingState.HALTED
    with bot.store.unit_of_work() as uow:
        persisted = uow.trading_state.find()
    assert persisted is not None
    assert persisted.state is TradingState.HALTED  # survives a restart
    indefinite = bot.command(CommandName.PAUSE)
    assert bot.health.status.state is TradingState.HALTED  # a halted bot stays halted
    assert indefinite.status is CommandStatus.EXECUTED
    assert [e.command for e in bot.handled()] == ["pause", "resume", "halt", "pause"]


# --- close-all, cancel-all: the bot's own plans and orders ---------------------------------------------


def test_cancel_all_cancels_only_the_bots_own_orders() -> None:
    bot = a_bot_in_a_position()
    bot.health.halt("hold still", "test")  # no new bracket while we look (and cancel-all works while halted)
    command = bot.command(CommandName.CANCEL_ALL)
    assert command.status is CommandStatus.EXECUTED
    assert command.result == "cancelled 2 of 2 open orders of the bot"
    assert open_at_venue(bot) == {"manual-1"}
    cancels = {str(c[2]) for c in bot.venue.calls if c[0] == "cancel_order"}
    assert all(cid.startswith("tc-ops") for cid in cancels)
    assert bot.orchestrator.services.book.orders() == ()


def test_close_all_exits_only_the_bots_own_plans() -> None:
    bot = a_bot_in_a_position()
    held = venue_btc(bot) - Decimal(5)
    assert held > 0
    before = len(bot.venue.calls)
    command = bot.command(CommandName.CLOSE_ALL)
    assert command.status is CommandStatus.EXECUTED
    assert command.result is not None
    assert command.result.startswith("close_position_executed")
    bot.tick()  # the exit's fill is booked
    assert venue_btc(bot) == Decimal(5)  # the foreign holding stays
    assert open_at_venue(bot) == {"manual-1"}  # the foreign order stays
    assert [p.status for p in bot.orchestrator.services.book.plans()] == []
    sells = [c for c in bot.venue.calls[before:] if c[0] == "place_order"]
    assert sells
    assert all(str(c[2]).startswith("tc-ops") for c in sells)


def test_close_all_and_cancel_all_with_nothing_to_do_say_so() -> None:
    bot = a_bot()
    bot.health.halt("hold still", "test")
    assert bot.command(CommandName.CLOSE_ALL).result == "nothing to close: the bot has no open plan"
    assert bot.command(CommandName.CANCEL_ALL).result == "cancelled 0 of 0 open orders of the bot"


def test_accept_reconciliation_lifts_the_start_up_gate() -> None:
    bot = a_bot(mode="sandbox")
    reconciler = bot.orchestrator.services.reconciler
    assert reconciler is not None
    bot.venue.fail_next("fetch_open_orders", ExchangeUnavailableError("down"))
    asyncio.run(reconciler.reconcile())
    assert bot.health.status.state is TradingState.REDUCING
    queue(bot.store, CommandName.ACCEPT_RECONCILIATION, bot.clock.now())
    asyncio.run(bot.orchestrator.process_commands())
    assert bot.health.status.state is TradingState.ACTIVE
    (accepted,) = bot.handled()
    assert accepted.status == "executed"
    assert accepted.result.startswith("reconciliation accepted")
    again = bot.command(CommandName.ACCEPT_RECONCILIATION)
    assert again.result == "nothing to accept: no reconciliation gate in force"


# --- stale commands --------------------------------------------------------------------------------------


def test_a_command_queued_before_the_run_started_is_reported_stale_not_executed() -> None:
    store = InMemoryStore(BotId("ops"))
    old = queue(store, CommandName.STOP, T0 - timedelta(hours=3))
    bot = a_bot(store=store)
    bot.tick()
    command = stored(store, old)
    assert command.status is CommandStatus.STALE
    assert command.handled_at == T0 + MINUTE
    assert command.result is not None
    assert "before this run started" in command.result
    assert bot.orchestrator.stop_reason is None  # not executed
    (event,) = bot.handled()
    assert (event.command, event.status) == ("stop", "stale")
    with store.unit_of_work() as uow:
        assert not uow.commands.has_pending()


@pytest.mark.parametrize(("name", "state"), [(CommandName.HALT, TradingState.HALTED),
                                             (CommandName.PAUSE, TradingState.REDUCING)])
def test_a_halt_or_pause_queued_while_the_bot_was_down_is_carried_out(name: CommandName,
                                                                       state: TradingState) -> None:
    """They only hold trading back: dropping one as stale let a bot that was told not to trade trade."""
    store = InMemoryStore(BotId("ops"))
    old = queue(store, name, T0 - timedelta(hours=3))
    bot = a_bot(store=store)
    bot.tick()
    assert stored(store, old).status is CommandStatus.EXECUTED
    assert bot.health.status.state is state


def test_a_command_queued_while_the_process_started_is_this_runs() -> None:
    """The run's start is the process's (``since``), not the moment the loop's command reader was built after the
    venue's start-up: a stop sent while the bot connected is carried out."""
    store = InMemoryStore(BotId("ops"))
    sent = queue(store, CommandName.CLOSE_ALL, T0 - timedelta(seconds=2))
    bot = a_bot(store=store)
    bot.orchestrator.commands = attrs.evolve(bot.orchestrator.commands, since=T0 - timedelta(seconds=5))
    bot.tick()
    assert stored(store, sent).status is CommandStatus.EXECUTED


def test_commands_are_judged_on_the_operators_clock_when_the_bot_follows_a_venue_clock_ahead_of_it() -> None:
    wall = SimulatedClock(T0 - timedelta(minutes=30))  # the machine's clock; the bot's (the venue's) reads T0
    store = InMemoryStore(BotId("ops"))
    old = queue(store, CommandName.CLOSE_ALL, wall.now() - timedelta(seconds=1))
    bot = a_bot(store=store, wall=wall)
    wall.advance(timedelta(seconds=5))
    fresh = queue(store, CommandName.HALT, wall.now())
    bot.tick()
    assert stored(store, old).status is CommandStatus.STALE
    assert stored(store, fresh).status is CommandStatus.EXECUTED
    assert stored(store, fresh).handled_at == wall.now()
    assert bot.health.status.state is TradingState.HALTED


# --- the sleep is interruptible --------------------------------------------------------------------------


def test_a_command_arriving_while_the_loop_sleeps_ends_the_sleep() -> None:
    interval = timedelta(minutes=10)
    bot = a_bot(interval=interval, start=False)
    bot.sleeper.script.append((T0 + timedelta(seconds=31), CommandName.STOP))
    summary = asyncio.run(bot.orchestrator.run_until_stopped(lambda: Decimal(0)))
    assert summary.stop_reason == "manual stop"
    assert bot.orchestrator.ticks == 1  # the first tick, then the command: no ten-minute wait
    (finished,) = [e for e in bot.telemetry.events if isinstance(e, RunFinished)]
    assert finished.at - T0 < timedelta(seconds=31) + bot.orchestrator.command_poll
    assert all(d <= bot.orchestrator.command_poll for d in bot.sleeper.slept)
    (stop,) = bot.handled()
    assert stop.at - T0 < interval


def test_without_a_command_the_loop_sleeps_the_whole_interval_in_slices() -> None:
    interval = timedelta(minutes=10)
    bot = a_bot(interval=interval, start=False)
    bot.sleeper.script.append((T0 + interval + timedelta(seconds=1), CommandName.STOP))
    asyncio.run(bot.orchestrator.run_until_stopped(lambda: Decimal(0)))
    assert bot.orchestrator.ticks == 2  # T0 and T0 + 10 min; the stop came during the second sleep
    assert sum(bot.sleeper.slept, timedelta(0)) < 2 * interval


# --- dry run ---------------------------------------------------------------------------------------------


def test_a_dry_run_records_every_order_and_sends_none() -> None:
    from trader_adapters.dry_run import DRY_RUN_REASON, DryRunTrading
    from trader_core.model.events import OrderRejected, OrderWithheld, SignalHandled

    clock = SimulatedClock(T0)
    venue = FakeExchange(clock=clock, balances={USDT: Decimal(100000)})
    venue.set_price(BTC, PRICE)
    venue.add_candles([_candle(T0 - MINUTE)])
    store, telemetry = InMemoryStore(BotId("dry")), RecordingTelemetry()
    dry = DryRunTrading(venue, telemetry, clock)
    run = RunRecord(run_id=RunId("dry1"), mode="paper", started_at=T0)
    services = build_services(
        store=store, market=venue, trading=dry, clock=clock, telemetry=telemetry, strategy=BuyOnce(), run=run,
        symbols=(BTC,), timeframe=TF, rules={BTC: default_rules(BTC)},
        policy=ActionPolicy(stake=Decimal(1000), max_plans_per_symbol=10), prefix="tc-dry", health=HealthPolicy(),
    )
    orchestrator = StrategyOrchestrator(services=services, store=store, clock=clock, telemetry=telemetry,
                                        sleeper=FeedingSleeper(clock, venue, store), run=run, interval=MINUTE,
                                        balance=Decimal(100000))
    asyncio.run(orchestrator.start())
    asyncio.run(orchestrator.tick())
    assert not [c for c in venue.calls if c[0] in ("place_order", "place_exit_bracket")]  # nothing was sent
    (withheld,) = [e for e in telemetry.events if isinstance(e, OrderWithheld)]
    assert withheld.symbol == "BTC/USDT"
    assert withheld.side == "buy"
    assert [r.client_order_id for r in dry.withheld] == [ClientOrderId(withheld.client_order_id)]
    (handled,) = [e for e in telemetry.events if isinstance(e, SignalHandled)]
    assert handled.status == "order_rejected"  # type: ignore[attr-defined]
    with store.unit_of_work() as uow:
        (order,) = uow.orders.list_for_run(RunId("dry1"))
        (plan,) = uow.plans.list_for_run(RunId("dry1"))
    assert order.status.value == "rejected"
    assert plan.status is PlanStatus.CANCELLED
    (rejected,) = [e for e in telemetry.events if isinstance(e, OrderRejected)]
    assert DRY_RUN_REASON in rejected.reason  # the log says why: a dry run, not the venue


def test_exit_policy_and_dry_run_are_settings() -> None:
    from trader_app.settings import load_settings
    from trader_core.model import ConfigError

    assert load_settings({}).exit_policy == "cancel"
    assert load_settings({}).dry_run is False
    chosen = load_settings({"exit_policy": "Flatten", "dry_run": True})
    assert (chosen.exit_policy, chosen.dry_run) == ("flatten", True)
    with pytest.raises(ConfigError, match="exit_policy must be leave, cancel or flatten"):
        load_settings({"exit_policy": "panic"})


# --- trader-app command ------------------------------------------------------------------------------------


def test_the_command_cli_queues_and_times_out_when_no_bot_answers(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from trader_app.commands.command import command_command
    from trader_app.storage import open_store
    from trader_core.model import ConfigError

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    store = open_store(url, BotId("ops"))  # the schema and the run, as the bot's first run creates them
    try:
        with store.unit_of_work() as uow:
            uow.runs.add(RunRecord(run_id=RunId("ops-first"), mode="paper", started_at=T0))
            now = datetime.now(UTC)  # a process holds the bot (its lease in force) but never answers
            uow.leases.take(Lease(token="hung", host="box", pid=1, since=now, expires_at=now + timedelta(hours=1)),
                            now)
            uow.commit()
    finally:
        store.close()
    assert command_command("pause", url, "ops", minutes=5) == 0
    assert command_command("stop", url, "ops", wait=True, timeout=0.3) == 1
    out = capsys.readouterr().out
    assert "queued pause" in out
    assert "timed out after 0.3s" in out
    store = open_store(url, BotId("ops"), migrate=False)
    try:
        with store.unit_of_work() as uow:
            pending = uow.commands.list_pending()
    finally:
        store.close()
    assert [(c.name, c.minutes) for c in pending] == [(CommandName.PAUSE, 5), (CommandName.STOP, None)]
    with pytest.raises(ConfigError, match="--minutes goes with pause only"):
        command_command("stop", url, "ops", minutes=5)


@pytest.mark.parametrize("name", ["stop", "close-all", "cancel-all", "resume", "accept-reconciliation"])
def test_a_command_a_stopped_bot_would_drop_as_stale_is_refused_not_queued(tmp_path, capsys, name: str) -> None:  # type: ignore[no-untyped-def]
    """Told "queued", an operator expected a close-all sent to a bot that was down to run at its next start; it
    was reported stale there and never ran. A halt or pause is kept: it holds from the next start."""
    from trader_app.cli import main
    from trader_app.storage import open_store

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    store = open_store(url, BotId("ops"))
    try:
        with store.unit_of_work() as uow:
            uow.runs.add(RunRecord(run_id=RunId("ops-first"), mode="live", started_at=T0))
            uow.leases.take(Lease(token="killed", host="box", pid=7, since=T0, expires_at=T0 + timedelta(seconds=30)),
                            T0)
            uow.commit()
    finally:
        store.close()
    assert main(["command", name, "--db", url, "--bot", "ops"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"trader-app: error: the bot is not running (its last process (box, pid 7) stopped holding it at "
                   f"2025-01-01T00:00:30+00:00): {name} is carried out by a running bot only, and one queued now "
                   "would be stale at its next start; halt and pause are kept for its next start; nothing queued")
    assert main(["command", "halt", "--db", url, "--bot", "ops"]) == 0
    assert "; the bot is not running: the halt holds from its next start" in capsys.readouterr().out
    store = open_store(url, BotId("ops"), migrate=False)
    try:
        with store.unit_of_work() as uow:
            assert [c.name for c in uow.commands.list_pending()] == [CommandName.HALT]
    finally:
        store.close()


@pytest.mark.parametrize(("args", "message"), [
    (["command", "pause", "--minutes", "99999999999999999999999"], "minutes must be 1 to 525600"),
    (["command", "pause", "--wait", "--timeout", "nan"], "--timeout must be a positive number of seconds, got nan"),
    (["llm", "traces", "--last", "99999999999999999999999"], "--last must be 1 to 10000"),
    (["sandbox", "--port", "99999"], "a port is 0 (any free one) to 65535, got '99999'"),
    (["sandbox", "--port", "-1"], "a port is 0 (any free one) to 65535, got '-1'"),
    (["llm-sandbox", "--port", "70000"], "a port is 0 (any free one) to 65535, got '70000'"),
])
def test_a_number_out_of_range_on_the_command_line_exits_2_with_one_line_and_queues_nothing(
        tmp_path, capsys, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    from trader_app.cli import main
    from trader_app.storage import open_store

    url = f"sqlite:///{tmp_path / 'base.db'}"
    open_store(url, BotId("default")).close()
    targeted = [*args, "--db", url] if args[0] in ("command", "llm") else args
    try:
        code = main(targeted)
    except SystemExit as exit_:  # a usage error found by the parser
        code = exit_.code  # type: ignore[assignment]
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("trader-app: error: ")
    assert message in err
    assert len(err.strip().splitlines()) == 1
    store = open_store(url, BotId("default"), migrate=False)
    try:
        with store.unit_of_work() as uow:
            assert not uow.commands.list_pending()
    finally:
        store.close()


# --- a clean stop (issue 17 item 7) ----------------------------------------------------------------------


@attrs.define
class StopWhileDeciding:
    """A strategy during whose decision a stop arrives (SIGTERM mid-tick), and which still says BUY."""

    stop: list[StrategyOrchestrator] = attrs.Factory(list)

    async def decide(self, context: DecisionContext) -> tuple[Signal, ...]:
        self.stop[0].request_stop("signal SIGTERM")
        return (Signal(action=Action.BUY, symbol=BTC, notional=Decimal(1000)),)


def test_no_new_entry_is_sent_once_a_stop_is_requested() -> None:
    bot = a_bot(start=False)
    strategy = StopWhileDeciding()
    bot.orchestrator.services = attrs.evolve(bot.orchestrator.services, strategy=strategy)
    strategy.stop.append(bot.orchestrator)
    asyncio.run(bot.orchestrator.run_until_stopped(lambda: Decimal(0)))
    assert bot.orchestrator.stop_reason == "signal SIGTERM"
    assert open_at_venue(bot) == set()
    assert venue_btc(bot) == Decimal(0)  # no market entry reached the venue
    assert bot.orchestrator.services.book.plans() == ()


@attrs.define
class RallyingSleeper:
    """The feeding sleeper, and from ``at`` on a price through the bracket's target (the venue fills it
    while the bot sleeps)."""

    inner: FeedingSleeper
    at: datetime

    async def sleep(self, duration: timedelta) -> bool:
        woke = await self.inner.sleep(duration)
        if self.inner.clock.now() >= self.at:
            self.inner.venue.set_price(BTC, PRICE * Decimal("1.05"))
        return woke

    def wake(self) -> None:
        self.inner.wake()


def test_a_fill_at_the_venue_after_the_last_tick_is_booked_before_the_summary() -> None:
    """The target fills while the loop sleeps and a stop command ends the loop at its next tick: the last
    sync books that fill, so the plan is closed and every venue fill is booked before the summary."""
    bot = a_bot(exit_policy="leave", start=False)
    stop_at = T0 + 3 * MINUTE + timedelta(seconds=1)
    bot.sleeper.script.append((stop_at, CommandName.STOP))
    bot.orchestrator.sleeper = RallyingSleeper(bot.sleeper, stop_at)
    asyncio.run(bot.orchestrator.run_until_stopped(lambda: Decimal(0)))
    assert bot.orchestrator.stop_reason == "manual stop"
    with bot.store.unit_of_work() as uow:
        plans = uow.plans.list_for_run(bot.orchestrator.run.run_id)
    assert [p.status for p in plans] == [PlanStatus.CLOSED]
    assert open_at_venue(bot) == set()
