"""ExchangeHealthManager: circuits, pause windows that never shrink, the trading state and its persistence,
rate-limit suspensions, reconnects with a cooldown and stale market data.

The original suite's health scenarios (catalog §13) are here as examples, with the 5d3a5bf defect (a
PAUSE_TRADING that overwrote a longer pause) turned around; a stateful test checks the rules against a
small reference model.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from trader_adapters.clock import SimulatedClock
from trader_adapters.memory import InMemoryStore
from trader_adapters.telemetry import RecordingTelemetry
from trader_core.health import (
    CANDLE_BASIS,
    ExchangeHealthManager,
    MonitoredTrading,
    assess_freshness,
    record_clean_tick,
    record_failure,
    request_pause,
)
from trader_core.model import (
    AuthenticationError,
    BotId,
    Candle,
    ClientOrderId,
    ExchangeUnavailableError,
    OrderNotFoundError,
    OrderRejectedError,
    RateLimitedError,
    Symbol,
    Timeframe,
    TransientVenueError,
)
from trader_core.model.events import (
    CircuitDegraded,
    CircuitRecovered,
    CircuitTripped,
    Event,
    ExchangeReconnected,
    MarketDataFresh,
    MarketDataStale,
    PauseRequested,
    TradingStateRestored,
    VenueCallsResumed,
    VenueCallsSuspended,
)
from trader_core.model.health import (
    CircuitHealth,
    CircuitName,
    CircuitPolicy,
    CircuitState,
    HealthPolicy,
    TradingState,
    TradingStatus,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
BTC = Symbol.parse("BTC/USDT")
ETH = Symbol.parse("ETH/USDT")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def secs(value: float) -> timedelta:
    return timedelta(seconds=value)


@attrs.define
class Reconnector:
    calls: list[datetime] = attrs.Factory(list)
    clock: SimulatedClock | None = None

    async def reconnect(self) -> None:
        assert self.clock is not None
        self.calls.append(self.clock.now())


def a_manager(
    policy: HealthPolicy | None = None, *, start: datetime = T0, store: InMemoryStore | None = None,
    reconnector: Reconnector | None = None,
) -> tuple[ExchangeHealthManager, SimulatedClock, RecordingTelemetry]:
    clock = SimulatedClock(start)
    telemetry = RecordingTelemetry()
    if reconnector is not None:
        reconnector.clock = clock
    manager = ExchangeHealthManager(store or InMemoryStore(BotId("health")), clock, telemetry,
                                    policy or HealthPolicy(), reconnector)
    manager.load()
    return manager, clock, telemetry


def end_tick(manager: ExchangeHealthManager, *, completed: bool = True) -> None:
    asyncio.run(manager.end_tick(completed=completed))


def names(events: tuple[Event, ...] | list[Event]) -> list[str]:
    return [event.name for event in events]


# --- the original suite's scenarios (§13) ------------------------------------------------------------


def test_exchange_threshold_two_pauses_thirty_seconds_on_the_second_failure_and_a_clean_tick_recovers() -> None:
    manager, _clock, _ = a_manager(HealthPolicy(exchange=CircuitPolicy(threshold=2, pause=secs(30))), start=at(100))
    manager.begin_tick()
    manager.report_exchange_failure("fetch_candles BTC/USDT", ExchangeUnavailableError("down"))
    assert manager.status.state is TradingState.ACTIVE
    assert manager.circuit(CircuitName.EXCHANGE).health is CircuitHealth.DEGRADED
    manager.report_exchange_failure("fetch_fills BTC/USDT", ExchangeUnavailableError("down"))
    assert manager.status.until == at(130)
    assert manager.status.state is TradingState.REDUCING
    assert manager.circuit(CircuitName.EXCHANGE).health is CircuitHealth.TRIPPED
    end_tick(manager)
    manager.begin_tick()
    end_tick(manager)
    assert manager.circuit(CircuitName.EXCHANGE).health is CircuitHealth.OK
    assert manager.status.until == at(130), "recovery does not end the pause window"


def test_tool_threshold_one_pauses_twenty_seconds_at_once_and_a_success_recovers() -> None:
    manager, _, telemetry = a_manager(HealthPolicy(tool=CircuitPolicy(threshold=1, pause=secs(20))), start=at(50))
    manager.begin_tick()
    manager.report_tool_failure("strategy.decide", ExchangeUnavailableError("llm timeout"))
    assert manager.status.until == at(70)
    assert manager.circuit(CircuitName.TOOL).health is CircuitHealth.TRIPPED
    manager.begin_tick()
    end_tick(manager)
    assert manager.circuit(CircuitName.TOOL).health is CircuitHealth.OK
    assert names(telemetry.events)[:3] == ["CircuitDegraded", "CircuitTripped", "PauseRequested"]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ((secs(0), 1500, secs(60), 1000), (True, "latency 1500 ms above 1000 ms")),
        ((secs(5), 0, secs(4), 5000), (True, "age 5.0 s above 4.0 s")),
        ((secs(0.3), 500, secs(5), 2000), (False, "")),
    ],
)
def test_staleness_by_latency_first_then_by_age(
    case: tuple[timedelta, int, timedelta, int], expected: tuple[bool, str]
) -> None:
    age, latency_ms, max_age, max_latency_ms = case
    verdict = assess_freshness(BTC, at(10), at(10) - age, timedelta(milliseconds=latency_ms), max_age=max_age,
                               max_latency=timedelta(milliseconds=max_latency_ms))
    assert (verdict.stale, verdict.reason, verdict.symbol) == (*expected, BTC)
    assert verdict.basis == CANDLE_BASIS, "the verdict says what it rests on: no quote time from the venue"


def test_pause_windows_merge_by_maximum_a_shorter_request_keeps_the_longer_pause() -> None:
    manager, clock, _ = a_manager(start=at(10))
    assert manager.request_pause(secs(20), "first", "signal").until == at(30)
    clock.advance_to(at(25))
    assert manager.request_pause(secs(2), "second", "signal").until == at(30)
    assert manager.status.until is not None
    assert manager.status.until - clock.now() == secs(5)
    clock.advance_to(at(31))
    assert manager.status.state is TradingState.ACTIVE


def test_a_pause_trading_request_never_shortens_a_circuit_pause() -> None:
    """5d3a5bf overwrote the pause with now + duration: a 5 s PAUSE_TRADING cut a 60 s circuit pause short."""
    manager, clock, _ = a_manager(HealthPolicy(exchange=CircuitPolicy(threshold=1, pause=secs(60))))
    manager.begin_tick()
    manager.report_exchange_failure("place_order BTC/USDT", ExchangeUnavailableError("down"))
    manager.request_pause(secs(5), "llm asked", "signal")
    clock.advance(secs(30))
    assert manager.status.state is TradingState.REDUCING
    assert manager.status.until == at(60)


def test_reconnect_is_throttled_by_its_cooldown() -> None:
    reconnector = Reconnector()
    manager, clock, _ = a_manager(HealthPolicy(reconnect_cooldown=secs(30)), reconnector=reconnector)
    for moment in (0, 10, 45):
        clock.advance_to(at(moment))
        manager.begin_tick()
        manager.report_exchange_failure("fetch_candles BTC/USDT", ExchangeUnavailableError("connection reset"))
        end_tick(manager)
    assert reconnector.calls == [at(0), at(45)]


def test_market_health_is_judged_per_symbol_and_each_symbol_gets_its_own_event() -> None:
    manager, _clock, telemetry = a_manager()
    tf = Timeframe("1m")
    fresh = manager.assess_market(((BTC, (a_candle(BTC, at(-60)),)), (ETH, (a_candle(ETH, at(-600)),))), tf, secs(0))
    assert fresh == {BTC}
    verdicts = {e.symbol: e.name for e in telemetry.events if isinstance(e, MarketDataFresh | MarketDataStale)}
    assert verdicts == {"BTC/USDT": "MarketDataFresh", "ETH/USDT": "MarketDataStale"}
    assert manager.entry_refusal(ETH) == "stale market data: age 540.0 s above 130.0 s"
    assert manager.entry_refusal(BTC) is None


# --- the corrected and added behaviour -------------------------------------------------------------


def a_candle(symbol: Symbol, open_time: datetime, tf: str = "1m") -> Candle:
    p = Decimal(100)
    return Candle(symbol=symbol, timeframe=Timeframe(tf), open_time=open_time, open=p, high=p, low=p, close=p,
                  volume=Decimal(1))


def test_a_circuit_goes_ok_degraded_tripped_degraded_ok() -> None:
    policy = CircuitPolicy(threshold=2, pause=secs(60))
    circuit = CircuitState(name=CircuitName.EXCHANGE)
    seen = [circuit.health]
    for moment in range(3):
        step = record_failure(circuit, policy, at(moment), "fetch_fills BTC/USDT", "down")
        circuit = step.circuit
        seen.append(circuit.health)
    circuit, events = record_clean_tick(circuit, at(4))
    seen.append(circuit.health)
    assert [h.value for h in seen] == ["ok", "degraded", "tripped", "degraded", "ok"]
    assert names(events) == ["CircuitRecovered"]
    assert record_clean_tick(circuit, at(5)) == (circuit, ()), "a clean tick on an ok circuit records nothing"


def test_refused_credentials_stop_every_order_with_one_event_and_store_no_halt() -> None:
    store = InMemoryStore(BotId("health"))
    manager, clock, telemetry = a_manager(store=store)
    manager.begin_tick()
    manager.report_exchange_failure("fetch_balances", AuthenticationError("invalid API key"))
    manager.report_exchange_failure("fetch_fills BTC/USDT", AuthenticationError("invalid API key"))
    assert not manager.may_send_orders(), "no order of any kind, protection included"
    assert manager.entry_refusal(BTC) == manager.credentials_refused
    assert manager.credentials_refused == (
        "authentication failed at fetch_balances: AuthenticationError: invalid API key")
    assert [e.name for e in telemetry.events] == ["VenueAuthenticationFailed"], \
        "one event, no circuit failure, no trading state change"
    assert manager.circuit(CircuitName.EXCHANGE).health.value == "ok"
    clock.advance(secs(3600))
    manager.resume("alice")
    assert not manager.may_send_orders(), "keys need the operator: nothing in the process lifts the refusal"
    with store.unit_of_work() as uow:
        stored = uow.trading_state.find()
    assert stored is None or stored.state is TradingState.ACTIVE, \
        "nothing stored: a restart with working keys trades at once"


def test_only_an_operator_resume_ends_a_pause_early() -> None:
    manager, clock, _ = a_manager()
    manager.request_pause(secs(600), "circuit", "circuit:exchange")
    clock.advance(secs(1))
    assert manager.request_pause(secs(1), "operator wants a short one", "operator").until == at(600)
    assert manager.resume("bob").state is TradingState.ACTIVE
    assert manager.entry_refusal(BTC) is None


def test_a_rate_limit_suspends_venue_calls_for_retry_after_and_is_no_circuit_failure() -> None:
    manager, clock, telemetry = a_manager()
    manager.begin_tick()
    manager.report_exchange_failure("fetch_candles BTC/USDT", RateLimitedError("429", retry_after=secs(7)))
    assert manager.circuit(CircuitName.EXCHANGE).health is CircuitHealth.OK
    assert manager.suspended_until == at(7)
    assert manager.entry_refusal(BTC) == f"venue calls suspended until {at(7).isoformat()}"
    clock.advance(secs(7))
    manager.begin_tick()
    assert not manager.venue_suspended()
    assert names(telemetry.events) == ["VenueCallsSuspended", "VenueCallsResumed"]


def test_a_rate_limit_without_retry_after_waits_the_policy_default() -> None:
    manager, _, telemetry = a_manager(HealthPolicy(rate_limit_wait=secs(45)))
    manager.report_exchange_failure("place_order BTC/USDT", RateLimitedError("banned"))
    (event,) = telemetry.of_type(VenueCallsSuspended)
    assert event.until == at(45)  # type: ignore[attr-defined]


def test_the_same_failure_reported_twice_counts_once() -> None:
    manager, _, _ = a_manager()
    manager.begin_tick()
    error = ExchangeUnavailableError("down")
    manager.report_exchange_failure("fetch_fills BTC/USDT", error)
    manager.report_exchange_failure("tick", error)
    assert manager.circuit(CircuitName.EXCHANGE).streak == 1


def test_a_tick_that_did_not_complete_recovers_no_circuit() -> None:
    manager, _, _ = a_manager()
    manager.begin_tick()
    manager.report_tool_failure("strategy.decide", ExchangeUnavailableError("llm down"))
    manager.begin_tick()
    end_tick(manager, completed=False)
    assert manager.circuit(CircuitName.TOOL).health is CircuitHealth.DEGRADED


def test_a_pause_in_force_survives_a_restart_and_an_expired_one_does_not() -> None:
    store = InMemoryStore(BotId("health"))
    first, _, _ = a_manager(store=store)
    paused = first.request_pause(secs(120), "exchange circuit tripped", "circuit:exchange")
    again, _, telemetry = a_manager(store=store, start=at(60))
    assert again.status == paused
    assert names(telemetry.events) == ["TradingStateRestored"]
    later, _, _ = a_manager(store=store, start=at(121))
    assert later.status.state is TradingState.ACTIVE


def test_a_replay_manager_neither_reads_nor_writes_the_stored_state() -> None:
    store = InMemoryStore(BotId("health"))
    live, _, _ = a_manager(store=store)
    live.halt("operator halt", "operator")
    replay = ExchangeHealthManager(store, SimulatedClock(T0), RecordingTelemetry(), durable=False)
    replay.load()
    assert replay.status.state is TradingState.ACTIVE
    replay.request_pause(secs(10), "strategy", "signal")
    with store.unit_of_work() as uow:
        stored = uow.trading_state.find()
    assert stored is not None
    assert stored.state is TradingState.HALTED


def test_a_symbol_with_no_candle_yet_is_stale_and_a_late_candle_makes_it_stale_again() -> None:
    manager, clock, telemetry = a_manager(HealthPolicy(max_data_age_timeframes=2, data_age_offset=secs(10)))
    tf = Timeframe("1m")
    assert manager.assess_market(((BTC, ()),), tf, secs(0)) == frozenset()
    assert manager.assess_market(((BTC, (a_candle(BTC, at(-60)),)),), tf, secs(0)) == {BTC}
    clock.advance(secs(130))
    assert manager.assess_market(((BTC, ()),), tf, secs(0)) == {BTC}, "two timeframes plus the offset"
    clock.advance(secs(1))
    assert manager.assess_market(((BTC, ()),), tf, secs(0)) == frozenset()
    assert names([e for e in telemetry.events if e.name.startswith("MarketData")]) == [
        "MarketDataStale", "MarketDataFresh", "MarketDataStale",
    ]


def test_a_slow_fetch_makes_its_symbols_stale() -> None:
    manager, _, _ = a_manager(HealthPolicy(max_latency=timedelta(milliseconds=5000)))
    candles = ((BTC, (a_candle(BTC, at(-60)),)),)
    assert manager.assess_market(candles, Timeframe("1m"), timedelta(milliseconds=5001)) == frozenset()


def test_a_rejection_is_the_venue_answering_not_failing() -> None:
    # The monitored ports only report health errors; a rejection never reaches the circuit.
    from trader_core.health.monitored import _HEALTH_ERRORS

    assert not isinstance(OrderRejectedError("filter"), _HEALTH_ERRORS)


def test_a_reconnect_happens_only_after_connection_failures() -> None:
    reconnector = Reconnector()
    manager, _, telemetry = a_manager(reconnector=reconnector)
    manager.begin_tick()
    manager.report_exchange_failure("fetch_balances", RateLimitedError("429", retry_after=secs(1)))
    end_tick(manager)
    assert reconnector.calls == []
    manager.begin_tick()
    manager.report_exchange_failure("fetch_balances", ExchangeUnavailableError("reset by peer"))
    end_tick(manager)
    assert reconnector.calls == [T0]
    assert telemetry.of_type(ExchangeReconnected)


# --- a reference model, checked by hypothesis --------------------------------------------------------

THRESHOLD = 3
PAUSE = secs(60)
_ALLOWED = {("ok", "degraded"), ("degraded", "tripped"), ("tripped", "degraded"), ("degraded", "ok"),
            ("tripped", "ok")}


@attrs.define
class Model:
    """What the rules promise, kept the simplest way: failures since the last trip or clean tick, the
    latest pause end asked for since the last resume, and whether an operator halted the bot."""

    failures: int = 0
    pause_end: datetime | None = None
    halted: bool = False


class HealthMachine(RuleBasedStateMachine):
    """Random failures, tick ends (clean when the tick had no failure), pause requests, resumes, halts and
    clock advances."""

    @initialize()
    def start(self) -> None:
        self.store = InMemoryStore(BotId("machine"))
        policy = HealthPolicy(exchange=CircuitPolicy(threshold=THRESHOLD, pause=PAUSE))
        self.manager, self.clock, self.telemetry = a_manager(policy, store=self.store)
        self.model = Model()
        self.manager.begin_tick()
        self.last_end: datetime | None = None
        self.failed_this_tick = False

    def _ask_pause(self, end: datetime) -> None:
        now = self.clock.now()
        if self.model.halted or end <= now:
            return
        in_force = self.model.pause_end is not None and self.model.pause_end > now
        self.model.pause_end = max(end, self.model.pause_end) if in_force and self.model.pause_end else end

    @rule()
    def failure(self) -> None:
        before = len(self.telemetry.events)
        self.manager.report_exchange_failure("fetch_candles BTC/USDT", ExchangeUnavailableError("down"))
        self.model.failures += 1
        self.failed_this_tick = True
        tripped_now = self.model.failures == THRESHOLD
        trips = [e for e in self.telemetry.events[before:] if isinstance(e, CircuitTripped)]
        assert len(trips) == (1 if tripped_now else 0), "a trip happens exactly at the threshold"
        if tripped_now:
            self.model.failures = 0
            self._ask_pause(self.clock.now() + PAUSE)

    @rule()
    def tick_ends(self) -> None:
        end_tick(self.manager)
        self.manager.begin_tick()
        if not self.failed_this_tick:
            self.model.failures = 0  # a clean tick
        self.failed_this_tick = False

    @rule(seconds=st.integers(min_value=0, max_value=300))
    def pause_request(self, seconds: int) -> None:
        self.manager.request_pause(secs(seconds), "asked", "signal")
        self._ask_pause(self.clock.now() + secs(seconds))

    @rule()
    def resume(self) -> None:
        self.manager.resume("operator")
        self.model.pause_end = None
        self.model.halted = False
        self.last_end = None

    @rule()
    def halt(self) -> None:
        self.manager.halt("operator halt", "operator")
        self.model.halted = True

    @rule(seconds=st.integers(min_value=0, max_value=120))
    def advance(self, seconds: int) -> None:
        self.clock.advance(secs(seconds))

    @invariant()
    def the_pause_end_never_moves_earlier_except_by_resume(self) -> None:
        status = self.manager.status
        if self.model.halted:
            assert status.state is TradingState.HALTED
            return
        now = self.clock.now()
        expected = self.model.pause_end if self.model.pause_end is not None and self.model.pause_end > now else None
        assert status.until == expected
        assert status.state is (TradingState.REDUCING if expected is not None else TradingState.ACTIVE)
        if status.until is not None and self.last_end is not None and self.last_end > now:
            assert status.until >= self.last_end
        self.last_end = status.until

    @invariant()
    def the_streak_is_the_failures_since_the_last_trip_or_clean_tick(self) -> None:
        assert self.manager.circuit(CircuitName.EXCHANGE).streak == self.model.failures

    @invariant()
    def only_the_allowed_transitions_occur(self) -> None:
        health = [e for e in self.telemetry.events if isinstance(e, CircuitDegraded | CircuitTripped |
                                                                   CircuitRecovered)]
        state = "ok"
        for event in health:
            target = {CircuitDegraded: "degraded", CircuitTripped: "tripped", CircuitRecovered: "ok"}[type(event)]
            assert (state, target) in _ALLOWED, f"{state} -> {target}"
            state = target
        assert state == self.manager.circuit(CircuitName.EXCHANGE).health.value

    @invariant()
    def the_persisted_state_reloads_identically(self) -> None:
        with self.store.unit_of_work() as uow:
            stored = uow.trading_state.find()
        current = self.manager._current()
        assert stored is None or stored == current or current.state is TradingState.ACTIVE
        if stored is not None and stored.in_force(self.clock.now()):
            reloaded = ExchangeHealthManager(self.store, self.clock, RecordingTelemetry())
            reloaded.load()
            assert reloaded.status == self.manager.status


HealthMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
test_the_health_rules_match_the_reference_model = HealthMachine.TestCase


def test_request_pause_is_pure_and_merges_by_maximum() -> None:
    active = TradingStatus.active(T0)
    paused, events = request_pause(active, T0, at(60), "a", "signal")
    assert (paused.state, paused.until) == (TradingState.REDUCING, at(60))
    assert names(events) == ["PauseRequested", "TradingStateChanged"]
    same, events = request_pause(paused, at(1), at(30), "b", "operator")
    assert same == paused
    assert events == (PauseRequested(at=at(1), source="operator", reason="b", requested_until=at(30), until=at(60),
                                     extended=False),)
    indefinite, _ = request_pause(paused, at(1), None, "reconciliation", "resync")
    assert indefinite.until is None
    assert indefinite.state is TradingState.REDUCING
    assert request_pause(indefinite, at(2), at(10_000), "c", "signal")[0] == indefinite


def test_a_restored_state_is_announced() -> None:
    store = InMemoryStore(BotId("health"))
    first, _, _ = a_manager(store=store)
    first.halt("invariant breach", "invariant")
    _, _, telemetry = a_manager(store=store, start=at(10))
    (event,) = telemetry.of_type(TradingStateRestored)
    assert (event.state, event.source) == ("halted", "invariant")  # type: ignore[attr-defined]
    assert not telemetry.of_type(VenueCallsResumed)


def test_a_read_whose_retry_is_answered_is_seen_and_counts_against_no_circuit_whatever_the_answer() -> None:
    from trader_adapters.memory.exchange import FakeExchange

    manager, clock, telemetry = a_manager()
    venue = FakeExchange(clock=clock, symbols=(BTC,))
    trading = MonitoredTrading(manager, venue)
    venue.fail_next("fetch_open_orders", TransientVenueError("503"))
    assert asyncio.run(trading.fetch_open_orders(BTC)) == ()
    venue.fail_next("fetch_order", TransientVenueError("502"))
    with pytest.raises(OrderNotFoundError):  # the retry was answered: no such order
        asyncio.run(trading.fetch_order(BTC, ClientOrderId("tc-absent")))
    assert names(telemetry.events) == ["VenueReadRetried", "VenueReadRetried"]
    venue.fail_next("fetch_open_orders", TransientVenueError("503"))
    venue.fail_next("fetch_open_orders", TransientVenueError("503"))
    with pytest.raises(TransientVenueError):
        asyncio.run(trading.fetch_open_orders(BTC))
    assert names(telemetry.events)[2:] == ["CircuitDegraded"], "a failed retry counts (both failures)"
    assert manager.circuit(CircuitName.EXCHANGE).streak == 2
