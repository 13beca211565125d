"""The loop with the health manager, on a failing fake venue and the simulated clock: entries stop while a
pause is in force, plan protection goes on, trading resumes after the window; all of it visible as events."""

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
from trader_adapters.sleep import SimulatedSleeper
from trader_adapters.telemetry import RecordingTelemetry
from trader_app.bootstrap import build_services
from trader_app.orchestrator import StrategyOrchestrator
from trader_core.model import (
    Action,
    Asset,
    AuthenticationError,
    BotId,
    Candle,
    ExchangeUnavailableError,
    InstrumentRules,
    InvalidDataError,
    OutcomeUnknownError,
    Quote,
    RateLimitedError,
    RunId,
    RunRecord,
    RunStatus,
    Signal,
    Symbol,
    Timeframe,
    TransientVenueError,
)
from trader_core.model.events import (
    CircuitTripped,
    Event,
    MarketDataRejected,
    OrderSubmitted,
    PauseRequested,
    SignalHandled,
    TickFailed,
    TradingStateChanged,
)
from trader_core.model.health import CircuitName, CircuitPolicy, HealthPolicy, TradingState
from trader_core.ports import DecisionContext
from trader_core.trading import ActionPolicy

BTC = Symbol.parse("BTC/USDT")
USDT = Asset("USDT")
T0 = datetime(2025, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
TF = Timeframe("1m")
_RUNS = itertools.count(1)


@attrs.define
class Buyer:
    """Buys BTC every tick, whatever ``may_enter`` says (the action path must still refuse), or raises."""

    seen: list[frozenset[Symbol]] = attrs.Factory(list)
    fail_with: list[Exception] = attrs.Factory(list)
    extra: list[Signal] = attrs.Factory(list)
    buys: bool = True  # off: only the ``extra`` signals

    async def decide(self, context: DecisionContext) -> tuple[Signal, ...]:
        self.seen.append(context.may_enter)
        if self.fail_with:
            raise self.fail_with.pop(0)
        extra, self.extra = tuple(self.extra), []
        if not self.buys:
            return extra
        return (*extra, Signal(action=Action.BUY, symbol=BTC, notional=Decimal(100), stop_pct=Decimal(2),
                               target_pct=Decimal(3)))


@attrs.define
class Loop:
    orchestrator: StrategyOrchestrator
    venue: FakeExchange
    clock: SimulatedClock
    telemetry: RecordingTelemetry
    strategy: Buyer
    store: InMemoryStore

    def tick(self) -> list[Event]:
        """Advance a minute, publish the candle that just closed, run one tick; the events it emitted."""
        self.clock.advance(MINUTE)
        self.venue.add_candles([_candle(self.clock.now() - MINUTE)])
        before = len(self.telemetry.events)
        asyncio.run(self.orchestrator.tick())
        return self.telemetry.events[before:]

    def outcomes(self, events: list[Event]) -> list[str]:
        """Each signal's outcome; ``sent`` for an order that went to the venue."""
        statuses = [e.status for e in events if isinstance(e, SignalHandled)]  # type: ignore[attr-defined]
        return ["sent" if s in ("order_open", "sent") else s for s in statuses]


def protected(events: list[Event]) -> bool:
    """True when a stop or target was sent to the venue."""
    return any(isinstance(e, OrderSubmitted) and e.role in ("stop", "target") for e in events)


def _candle(open_time: datetime) -> Candle:
    p = Decimal(50000)
    return Candle(symbol=BTC, timeframe=TF, open_time=open_time, open=p, high=p, low=p, close=p, volume=Decimal(1))


def a_loop(policy: HealthPolicy, *, store: InMemoryStore | None = None, mode: str = "paper",
           answers_with_fills: bool = False, started: bool = True, stop_limit_offset: Decimal | None = None) -> Loop:
    clock = SimulatedClock(T0)
    venue = FakeExchange(clock=clock, balances={USDT: Decimal(100000)}, answers_with_fills=answers_with_fills,
                         stop_limit_offset=stop_limit_offset)
    venue.set_price(BTC, Decimal(50000))
    venue.add_candles([_candle(T0 - MINUTE)])
    store = store or InMemoryStore(BotId("health"))
    telemetry = RecordingTelemetry()
    strategy = Buyer()
    run = RunRecord(run_id=RunId(f"r{next(_RUNS)}"), mode=mode, started_at=T0)
    services = build_services(
        store=store, market=venue, trading=venue, clock=clock, telemetry=telemetry, strategy=strategy, run=run,
        symbols=(BTC,), timeframe=TF, rules={BTC: default_rules(BTC)},
        policy=ActionPolicy(stake=Decimal(100), max_plans_per_symbol=10), prefix="tc-health", health=policy,
    )
    orchestrator = StrategyOrchestrator(
        services=services, store=store, clock=clock, telemetry=telemetry, sleeper=SimulatedSleeper(clock), run=run,
        interval=MINUTE, balance=Decimal(100000),
    )
    if started:
        asyncio.run(orchestrator.start())
    return Loop(orchestrator, venue, clock, telemetry, strategy, store)


POLICY = HealthPolicy(exchange=CircuitPolicy(threshold=3, pause=timedelta(minutes=3)))


def test_a_tripped_exchange_circuit_stops_entries_keeps_protecting_plans_and_trading_resumes_after_the_window() -> None:
    loop = a_loop(POLICY)
    first = loop.tick()
    assert loop.outcomes(first) == ["sent"]
    assert protected(first), "the filled entry gets its stop and target in the tick that sent it"
    for _ in range(3):
        loop.venue.fail_next("fetch_candles", ExchangeUnavailableError("connection reset"))
    failed = loop.tick() + loop.tick() + loop.tick()
    assert [e.name for e in failed if isinstance(e, TickFailed)] == ["TickFailed"] * 3
    (trip,) = [e for e in failed if isinstance(e, CircuitTripped)]
    assert trip.paused_until == T0 + 4 * MINUTE + timedelta(minutes=3)  # type: ignore[attr-defined]
    assert [(e.previous, e.state) for e in failed if isinstance(e, TradingStateChanged)] == [  # type: ignore[attr-defined]
        ("active", "reducing")]

    paused = loop.tick()
    assert loop.outcomes(paused) == ["entries_blocked"], "the action path refuses the entry"
    assert loop.strategy.seen[-1] == frozenset(), "the strategy is offered no symbol to enter"
    assert not [e for e in paused if e.name == "OrderClosed"], "its stop and target stay at the venue"
    assert "CircuitRecovered" in [e.name for e in paused], "a clean tick recovers the circuit, not the window"
    assert loop.outcomes(loop.tick()) == ["entries_blocked"]

    resumed = loop.tick()
    assert [(e.previous, e.state) for e in resumed if isinstance(e, TradingStateChanged)] == [  # type: ignore[attr-defined]
        ("reducing", "active")]
    assert loop.outcomes(resumed) == ["sent"]
    assert loop.strategy.seen[-1] == {BTC}


def test_a_tick_whose_market_data_fails_still_protects_an_unprotected_plan() -> None:
    loop = a_loop(POLICY)
    loop.venue.fail_next("place_exit_bracket", ExchangeUnavailableError("connection reset"))
    first = loop.tick()
    assert loop.outcomes(first) == ["sent"]
    assert [e.role for e in first if isinstance(e, OrderSubmitted)] == ["entry", "stop", "target"]
    assert asyncio.run(loop.venue.fetch_open_orders(BTC)) == (), "the bracket never reached the venue"
    loop.venue.fail_next("fetch_candles", ExchangeUnavailableError("connection reset"))
    events = loop.tick()
    assert [e.name for e in events if isinstance(e, TickFailed)] == ["TickFailed"], "the tick failed"
    assert protected(events), "protection must not wait for a tick that meets no fault"


def test_a_read_that_meets_one_passing_failure_is_retried_and_the_tick_protects_the_plan() -> None:
    loop = a_loop(POLICY)
    loop.venue.fail_next("place_exit_bracket", ExchangeUnavailableError("connection reset"))
    loop.tick()
    assert asyncio.run(loop.venue.fetch_open_orders(BTC)) == (), "the bracket never reached the venue"
    for read in ("fetch_candles", "fetch_fills", "fetch_open_orders"):
        loop.venue.fail_next(read, TransientVenueError(f"{read}: 503 Service Unavailable"))
    events = loop.tick()
    assert not [e for e in events if isinstance(e, TickFailed)], "each read was retried once and answered"
    assert protected(events)
    assert [e.site for e in events if e.name == "VenueReadRetried"] == [  # type: ignore[attr-defined]
        "fetch_candles BTC/USDT", "fetch_fills BTC/USDT", "fetch_open_orders BTC/USDT"], "each retry is seen"
    assert not [e for e in events if e.name == "CircuitDegraded"], "a read its retry answered is no circuit failure"


def test_a_read_is_retried_once_and_a_timeout_or_a_write_never() -> None:
    loop = a_loop(POLICY)
    loop.tick()
    calls = len(loop.venue.calls)
    loop.venue.fail_next("fetch_candles", TransientVenueError("503"))
    loop.venue.fail_next("fetch_candles", TransientVenueError("502"))
    assert [e.name for e in loop.tick() if isinstance(e, TickFailed)] == ["TickFailed"]
    assert [c[0] for c in loop.venue.calls[calls:]].count("fetch_candles") == 2, "one retry, not more"
    calls = len(loop.venue.calls)
    loop.venue.fail_next("fetch_candles", ExchangeUnavailableError("RequestTimeout: 10000 ms"))
    assert [e.name for e in loop.tick() if isinstance(e, TickFailed)] == ["TickFailed"]
    assert [c[0] for c in loop.venue.calls[calls:]].count("fetch_candles") == 1, "a timed out read is not retried"
    writer = a_loop(POLICY)
    writer.venue.fail_next("place_order", TransientVenueError("503"))
    writer.tick()
    assert [c[0] for c in writer.venue.calls].count("place_order") == 1, "a write is never retried"


def test_a_tick_whose_read_is_rate_limited_still_protects_an_unprotected_plan() -> None:
    loop = a_loop(POLICY)
    loop.venue.fail_next("place_exit_bracket", ExchangeUnavailableError("connection reset"))
    loop.tick()
    assert asyncio.run(loop.venue.fetch_open_orders(BTC)) == (), "the bracket never reached the venue"
    loop.venue.fail_next("fetch_candles", RateLimitedError("429 Too Many Requests", retry_after=timedelta(seconds=30)))
    events = loop.tick()
    assert [e.name for e in events if e.name in ("VenueCallsSuspended", "TickFailed")] == [
        "VenueCallsSuspended", "TickFailed"]
    assert protected(events), "protection goes out while the venue asks us to hold off, in this tick as in the next"


def test_a_plan_whose_exit_lost_its_answer_is_protected_again_in_the_same_tick() -> None:
    """A CLOSE_POSITION withdraws the plan's bracket, then its market sell meets a dropped connection while the venue
    still holds it. The account holds only the bot's BTC, so a bracket beside the sell in doubt is safe (whichever
    reaches the book first takes the BTC): it goes out in that tick, not at the next (issue 17: a restarted bot
    whose first tick closes a plan)."""
    loop = a_loop(POLICY)
    assert protected(loop.tick())
    loop.strategy.extra, loop.strategy.buys = [Signal(action=Action.CLOSE_POSITION, symbol=BTC)], False
    loop.venue.fail_then_apply_later("place_order", OutcomeUnknownError("connection dropped"))
    events = loop.tick()
    assert loop.outcomes(events) == ["close_position_deferred"]
    assert protected(events), "the position is not left bare until the next tick"
    assert "ProtectionBesideDoubt" in [e.name for e in events]
    assert len(asyncio.run(loop.venue.fetch_open_orders(BTC))) == 2, "one bracket rests"
    assert loop.venue.apply_held() == 0, "the late sell is refused: the bracket holds the BTC"


def test_a_second_protective_pass_in_a_tick_is_not_a_second_tick_for_a_stop_the_price_gapped_through() -> None:
    """A stop-limit the price gapped through is replaced by a market exit once the price has been past it at two ticks
    in a row (the venue may still be filling it at the first). A tick whose strategy sent an order runs the
    protective pass twice; the second counted as another tick and the plan was sold at the market at once."""
    loop = a_loop(POLICY, stop_limit_offset=Decimal("0.005"))
    assert protected(loop.tick())
    loop.venue.set_price(BTC, Decimal(47000))  # through the stop (49,000) and its limit (48,755): it rests unfilled
    first = loop.tick()
    assert "sent" in loop.outcomes(first), "the strategy's order: the tick's second protective pass runs"
    assert not [e for e in first if e.name == "ProtectionFailed"], "one tick past the stop: the venue may still fill it"
    second = loop.tick()
    (failed,) = [e for e in second if e.name == "ProtectionFailed"]
    assert failed.action == "exit"  # type: ignore[attr-defined]
    assert "gapped through the stop 49000: last 47000" in failed.reason, "plain digits, not 4.9E+4"  # type: ignore[attr-defined]


def test_a_market_entrys_fill_in_the_answer_is_booked_and_protected_in_its_tick_though_the_fill_query_fails() -> None:
    loop = a_loop(POLICY, answers_with_fills=True)
    loop.venue.fail_next("fetch_fills", ExchangeUnavailableError("fills BTC/USDT: RequestTimeout"))
    events = loop.tick()
    assert loop.outcomes(events) == ["sent"]
    assert [e.name for e in events if isinstance(e, TickFailed)] == ["TickFailed"], "the fill query failed"
    assert [e.trade_id for e in events if e.name == "FillRecorded"] == ["1"], \
        "booked from the answer"  # type: ignore[attr-defined]
    assert [e.name for e in events if e.name == "PlanOpened"] == ["PlanOpened"]
    assert protected(events), "the new position is protected in the tick that opened it"
    events = loop.tick()
    assert not [e for e in events if e.name == "FillRecorded" and e.trade_id == "1"], \
        "the fill query finds it later: booked once"  # type: ignore[attr-defined]


class TidiedStore(InMemoryStore):
    """Counts the housekeeping the loop asks of it."""

    maintained = 0

    def maintain(self) -> None:
        self.maintained += 1


@pytest.mark.parametrize(("mode", "expected"), [("paper", 2), ("sandbox", 2), ("replay", 0)])
def test_the_store_tidies_up_between_ticks_of_a_venue_run_never_inside_one(mode: str, expected: int) -> None:
    store = TidiedStore(BotId("health"))
    loop = a_loop(POLICY, store=store, mode=mode)
    loop.tick()
    assert store.maintained == 0, "not inside a tick"
    asyncio.run(loop.orchestrator.sleep(MINUTE))
    loop.tick()
    asyncio.run(loop.orchestrator.sleep(MINUTE))
    assert store.maintained == expected


def test_failures_of_the_strategy_count_against_the_tool_circuit() -> None:
    loop = a_loop(HealthPolicy(tool=CircuitPolicy(threshold=2, pause=timedelta(minutes=5))))
    loop.strategy.fail_with = [ExchangeUnavailableError("llm timeout"), ExchangeUnavailableError("llm timeout")]
    events = loop.tick() + loop.tick()
    assert [e.circuit for e in events if isinstance(e, CircuitTripped)] == ["tool"]  # type: ignore[attr-defined]
    assert not [e for e in events if isinstance(e, TickFailed)], "a strategy failure does not fail the tick"
    assert loop.outcomes(loop.tick()) == ["entries_blocked"]
    health = loop.orchestrator.services.health
    assert health.circuit(CircuitName.TOOL).health.value == "ok"
    assert health.circuit(CircuitName.EXCHANGE).health.value == "ok"


def test_a_pause_trading_signal_pauses_entries_through_the_manager() -> None:
    loop = a_loop(POLICY)
    loop.strategy.extra = [Signal(action=Action.PAUSE_TRADING, symbol=BTC, pause=timedelta(minutes=2),
                                  reason="news")]
    events = loop.tick()
    assert loop.outcomes(events) == ["paused", "entries_blocked"]
    (asked,) = [e for e in events if isinstance(e, PauseRequested)]
    assert (asked.source, asked.until) == ("signal", T0 + 3 * MINUTE)  # type: ignore[attr-defined]
    assert loop.outcomes(loop.tick()) == ["entries_blocked"]
    assert loop.outcomes(loop.tick()) == ["sent"]


def test_refused_credentials_stop_the_loop_with_one_event_and_leave_protection_at_the_venue() -> None:
    loop = a_loop(POLICY, started=False)
    orchestrator, venue = loop.orchestrator, loop.venue
    orchestrator.exit_policy = "flatten"  # would exit every plan on a clean stop: not when the keys are refused
    orchestrator.until = T0 + 10 * MINUTE  # a loop that never stops ends here, and the test fails
    calls: list[int] = []

    def after_tick(ticks: int) -> None:
        if ticks == 1:  # the entry filled and its stop and target rest at the venue: now the key is revoked
            venue.fail_next("fetch_fills", AuthenticationError("fills BTC/USDT: -2015 Invalid API-key"))
            calls.append(len(venue.calls))

    orchestrator.on_tick = after_tick
    summary = asyncio.run(orchestrator.run_until_stopped(lambda: Decimal(0)))

    assert orchestrator.ticks == 2, "the loop stopped after the tick that met the refusal"
    assert summary.stop_reason.startswith("venue refused the credentials (authentication failed at fetch_fills")
    assert orchestrator.credentials_refused is not None
    seen = [e.name for e in loop.telemetry.events
            if e.name in ("VenueAuthenticationFailed", "TickFailed", "TradingStateChanged", "CircuitDegraded")]
    assert seen == ["VenueAuthenticationFailed"], "one alert"
    after = [c[0] for c in venue.calls[calls[0]:]]
    assert not [c for c in after if c in ("place_order", "place_exit_bracket", "cancel_order")], after
    legs = asyncio.run(venue.fetch_open_orders(BTC))
    assert len(legs) == 2, "the stop and target still rest at the venue"
    with loop.store.unit_of_work() as uow:
        run = uow.runs.find(orchestrator.run.run_id)
        stored_state = uow.trading_state.find()
    assert run is not None
    assert run.status is RunStatus.FAILED
    assert stored_state is None or stored_state.state is TradingState.ACTIVE, "no halt stored for the next start"


def test_a_rate_limit_suspends_fetching_until_retry_after_while_protection_goes_on() -> None:
    loop = a_loop(POLICY)
    loop.tick()
    # The entry's fill is booked; the venue rate-limits the bracket: the plan is still unprotected.
    loop.venue.fail_next("place_exit_bracket", RateLimitedError("429", retry_after=timedelta(seconds=90)))
    assert "VenueCallsSuspended" in [e.name for e in loop.tick()]
    calls = len(loop.venue.calls)
    loop.tick()
    assert [c[0] for c in loop.venue.calls[calls:]] == ["place_exit_bracket"], "only protection reaches the venue"
    health = loop.orchestrator.services.health
    assert health.circuit(CircuitName.EXCHANGE).health.value == "ok", "a rate limit is no circuit failure"
    calls = len(loop.venue.calls)
    assert loop.outcomes(loop.tick()) == ["sent"]
    assert "fetch_candles" in [c[0] for c in loop.venue.calls[calls:]]


def test_a_halt_in_force_survives_a_restart_and_shows_in_the_summary() -> None:
    store = InMemoryStore(BotId("health"))
    first = a_loop(POLICY, store=store)
    first.orchestrator.services.health.halt("operator halt", "operator")
    second = a_loop(POLICY, store=store)
    assert second.orchestrator.services.health.status.state is TradingState.HALTED
    summary = second.orchestrator.finish(second.orchestrator.run.status, Decimal(0))
    assert summary.trading_state == "halted (operator halt)"
    assert (summary.exchange_circuit, summary.tool_circuit) == ("ok", "ok")
    assert summary.as_dict()["trading_state"] == "halted (operator halt)"


@pytest.mark.parametrize("failures", [1, 3])
def test_failed_ticks_back_off(failures: int) -> None:
    loop = a_loop(HealthPolicy(exchange=CircuitPolicy(threshold=10)))
    for _ in range(failures):
        loop.venue.fail_next("fetch_candles", ExchangeUnavailableError("down"))
        loop.tick()
    assert loop.orchestrator.next_sleep() == MINUTE * 2 ** (failures - 1)
    loop.tick()
    assert loop.orchestrator.next_sleep() == MINUTE


def test_an_entry_the_venue_filled_at_once_is_booked_and_protected_in_the_same_tick() -> None:
    loop = a_loop(POLICY)
    events = loop.tick()
    assert loop.outcomes(events)[:1] == ["sent"]
    names = [e.name for e in events]
    assert "FillRecorded" in names, "the market entry's fill is booked in the tick that sent it"
    assert protected(events), "and its position is protected in that tick, not the next"


@attrs.define
class OneSidedBook:
    """The fake venue's market data, except that ``broken``'s order book has no asks (a halted or delisting
    market): its quote is refused at the adapter's edge every time, as the ccxt adapter refuses one."""

    inner: FakeExchange
    broken: Symbol

    async def fetch_quote(self, symbol: Symbol) -> Quote:
        if symbol == self.broken:
            raise InvalidDataError(f"{symbol} order book: no ask")
        return await self.inner.fetch_quote(symbol)

    async def fetch_candles(self, symbol: Symbol, timeframe: Timeframe, *, since: datetime | None = None,
                            limit: int = 500) -> tuple[Candle, ...]:
        return await self.inner.fetch_candles(symbol, timeframe, since=since, limit=limit)

    async def fetch_instrument(self, symbol: Symbol) -> InstrumentRules:
        return await self.inner.fetch_instrument(symbol)

    async def close(self) -> None:
        await self.inner.close()


def test_one_symbol_with_a_one_sided_book_does_not_pause_entries_in_the_others() -> None:
    eth = Symbol.parse("ETH/USDT")
    clock = SimulatedClock(T0)
    venue = FakeExchange(clock=clock, balances={USDT: Decimal(100000)})
    venue.set_price(BTC, Decimal(50000))
    venue.set_price(eth, Decimal(3000))
    venue.add_candles([_candle(T0 - MINUTE), attrs.evolve(_candle(T0 - MINUTE), symbol=eth)])
    store, telemetry, strategy = InMemoryStore(BotId("health")), RecordingTelemetry(), Buyer()
    run = RunRecord(run_id=RunId(f"r{next(_RUNS)}"), mode="paper", started_at=T0)
    services = build_services(
        store=store, market=OneSidedBook(venue, eth), trading=venue, clock=clock, telemetry=telemetry,
        strategy=strategy, run=run, symbols=(BTC, eth), timeframe=TF,
        rules={BTC: default_rules(BTC), eth: default_rules(eth)},
        policy=ActionPolicy(stake=Decimal(100), max_plans_per_symbol=10), prefix="tc-health", health=POLICY,
    )
    orchestrator = StrategyOrchestrator(
        services=services, store=store, clock=clock, telemetry=telemetry, sleeper=SimulatedSleeper(clock), run=run,
        interval=MINUTE, balance=Decimal(100000),
    )
    asyncio.run(orchestrator.start())
    outcomes = []
    for _ in range(6):  # twice the circuit's threshold of ticks
        clock.advance(MINUTE)
        venue.add_candles([_candle(clock.now() - MINUTE), attrs.evolve(_candle(clock.now() - MINUTE), symbol=eth)])
        before = len(telemetry.events)
        asyncio.run(orchestrator.tick())
        outcomes.append([e.status for e in telemetry.events[before:] if isinstance(e, SignalHandled)])  # type: ignore[attr-defined]
    # ETH's book is refused every tick (and said so), ETH is never offered; BTC keeps trading: the venue answers.
    assert strategy.seen == [{BTC}] * 6, strategy.seen
    assert all(statuses and statuses[0] != "entries_blocked" for statuses in outcomes), outcomes
    assert not [e for e in telemetry.events if isinstance(e, (CircuitTripped, PauseRequested))]
    rejected = [e for e in telemetry.events if isinstance(e, MarketDataRejected)]
    assert len(rejected) == 6
    assert {(e.symbol, e.kind) for e in rejected} == {("ETH/USDT", "quote")}  # type: ignore[attr-defined]
