"""MarketDataService and OHLCV capture: the original's scenarios (catalog §5, §13), properties of capture
and retention against the in-memory store, fan-out over many symbols with one failing, bad venue data."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trader_adapters.ccxt.marketdata import parse_candles
from trader_adapters.clock import SimulatedClock
from trader_adapters.memory import InMemoryStore
from trader_adapters.memory.exchange import FakeExchange
from trader_adapters.paper import PaperExchange, ReplayMarket
from trader_adapters.paper.instruments import default_rules
from trader_adapters.paper.live import LivePaperMarket
from trader_adapters.sleep import SimulatedSleeper
from trader_adapters.telemetry import RecordingTelemetry
from trader_app.bootstrap import build_services
from trader_app.orchestrator import StrategyOrchestrator
from trader_app.settings import load_settings
from trader_core.execution import SizingPolicy
from trader_core.health import ExchangeHealthManager, MonitoredMarketData
from trader_core.market_data import (
    CapturePolicy,
    CaptureSchedule,
    MarketDataPolicy,
    MarketDataService,
    OhlcvCapture,
    capture_spacing,
    closed_candles,
    screen_candles,
)
from trader_core.model import (
    Action,
    Asset,
    BotId,
    Candle,
    ClientOrderId,
    ConfigError,
    ExchangeUnavailableError,
    InstrumentRules,
    OrderRequest,
    OrderStatus,
    OrderType,
    Price,
    Quantity,
    Quote,
    RunId,
    RunRecord,
    Side,
    Signal,
    Symbol,
    Timeframe,
)
from trader_core.model.events import LiquidityChanged, MarketDataRejected
from trader_core.model.health import CircuitHealth, CircuitName, HealthPolicy
from trader_core.ports import DecisionContext
from trader_core.trading import ActionPolicy

T0 = datetime(2025, 1, 1, tzinfo=UTC)
BTC, ETH = Symbol.parse("BTC/USDT"), Symbol.parse("ETH/USDT")
M1 = Timeframe("1m")
FOUR = tuple(Timeframe(t) for t in ("1m", "5m", "1h", "1d"))


def bar(symbol: Symbol, timeframe: Timeframe, open_time: datetime, price: str = "100") -> Candle:
    p = Decimal(price)
    return Candle(symbol=symbol, timeframe=timeframe, open_time=open_time, open=p, high=p + 1, low=p - 1, close=p,
                  volume=Decimal(3))


@attrs.define
class SeriesMarket:
    """MarketData for capture tests: every timeframe's candles up to the clock, aligned to the epoch (the
    forming one included, as a careless venue would), and a log of what was asked."""

    clock: SimulatedClock
    calls: list[tuple[Symbol, Timeframe, timedelta]] = attrs.Factory(list)
    failing: set[Symbol] = attrs.Factory(set)

    async def fetch_candles(self, symbol: Symbol, timeframe: Timeframe, *, since: datetime | None = None,
                            limit: int = 500) -> tuple[Candle, ...]:
        del since
        self.calls.append((symbol, timeframe, self.clock.monotonic()))
        if symbol in self.failing:
            raise ExchangeUnavailableError(f"{symbol} down")
        step = timeframe.duration
        now = self.clock.now()
        forming = T0 + ((now - T0) // step) * step
        opens = (forming - i * step for i in reversed(range(limit)))
        return tuple(bar(symbol, timeframe, at) for at in opens if at >= T0)


def a_capture(policy: CapturePolicy, clock: SimulatedClock | None = None) -> tuple[OhlcvCapture, SeriesMarket,
                                                                                   InMemoryStore]:
    clock = clock or SimulatedClock(T0)
    market = SeriesMarket(clock)
    store = InMemoryStore(BotId("capture"))
    return OhlcvCapture(market, store, clock, RecordingTelemetry(), policy), market, store  # type: ignore[arg-type]


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


# --- timeframes (catalog §5.4; the original's "bad" -> 0 was a defect: it is a configuration error) ------


@pytest.mark.parametrize(("text", "seconds"), [("1m", 60), ("2h", 7200), ("1d", 86400), ("5m", 300), ("1w", 604800)])
def test_timeframes_parse_like_ccxt(text: str, seconds: int) -> None:
    assert Timeframe(text).duration == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["bad", "0m", "1x", "", "m1"])
def test_an_unknown_timeframe_is_a_configuration_error(text: str) -> None:
    with pytest.raises(ConfigError):
        Timeframe(text)


def test_capture_timeframes_are_validated_when_settings_load() -> None:
    with pytest.raises(ConfigError, match="ohlcv_timeframes"):
        load_settings({"ohlcv_timeframes": "1m,bad"}, environ={})
    loaded = load_settings({"ohlcv_timeframes": "1m, 5m,1m"}, environ={})
    assert loaded.ohlcv_timeframes == (Timeframe("1m"), Timeframe("5m"))
    assert load_settings({}, environ={}).ohlcv_timeframes is None  # the run's timeframe
    assert load_settings({"ohlcv_timeframes": "off"}, environ={}).ohlcv_timeframes == ()


def test_spacing_is_at_least_the_timeframe() -> None:
    minimum = timedelta(seconds=60)
    assert [capture_spacing(t, minimum).total_seconds() for t in FOUR] == [60, 300, 3600, 86400]
    assert capture_spacing(Timeframe("15s"), minimum) == minimum


# --- the original's capture scenarios (catalog §13) -------------------------------------------------------


def test_first_capture_fetches_every_timeframe_then_only_what_is_due() -> None:
    clock = SimulatedClock(T0 + timedelta(days=2))
    capture, market, _ = a_capture(CapturePolicy(timeframes=FOUR, max_age=None), clock)
    run(capture.capture([BTC]))
    assert [t.text for _, t, _ in market.calls] == ["1m", "5m", "1h", "1d"]
    clock.advance(timedelta(seconds=30))
    run(capture.capture([BTC]))
    assert len(market.calls) == 4, "at t=30 s nothing is due"
    clock.advance(timedelta(seconds=90))
    run(capture.capture([BTC]))
    assert [t.text for _, t, _ in market.calls[4:]] == ["1m"], "at t=120 s only 1m is due again"


def test_retention_keeps_the_newest_rows() -> None:
    clock = SimulatedClock(T0 + timedelta(hours=3))
    capture, _, store = a_capture(CapturePolicy(timeframes=(M1,), max_rows=2, max_age=None), clock)
    run(capture.capture([BTC]))
    with store.unit_of_work() as uow:
        kept = uow.candles.list_for(BTC, M1)
    assert len(kept) == 2
    assert kept[-1].close_time == clock.now(), "the newest closed candle is kept; the forming one never stored"


def test_spacing_is_tracked_per_symbol() -> None:
    clock = SimulatedClock(T0 + timedelta(hours=1))
    capture, market, _ = a_capture(CapturePolicy(timeframes=(M1,)), clock)
    run(capture.capture([BTC]))
    clock.advance(timedelta(seconds=10))
    run(capture.capture([BTC, ETH]))
    assert [s for s, _, _ in market.calls] == [BTC, ETH], "ETH is captured inside BTC's window"


def test_a_failed_fetch_is_retried_next_time_and_does_not_stop_the_other_symbols() -> None:
    clock = SimulatedClock(T0 + timedelta(hours=1))
    capture, market, store = a_capture(CapturePolicy(timeframes=(M1,)), clock)
    market.failing.add(BTC)
    run(capture.capture([BTC, ETH]))
    with store.unit_of_work() as uow:
        assert uow.candles.stored_keys() == ((ETH, M1),)
    market.failing.clear()
    clock.advance(timedelta(seconds=1))
    run(capture.capture([BTC, ETH]))
    assert [s for s, _, _ in market.calls] == [BTC, ETH, BTC], "only the failed key is due again"


def test_captured_candles_older_than_the_age_limit_are_not_kept() -> None:
    clock = SimulatedClock(T0 + timedelta(hours=5))
    capture, _, store = a_capture(CapturePolicy(timeframes=(Timeframe("1h"),), max_age=timedelta(hours=2)), clock)
    run(capture.capture([BTC]))
    with store.unit_of_work() as uow:
        kept = uow.candles.list_for(BTC, Timeframe("1h"))
    assert [c.open_time for c in kept] == [T0 + timedelta(hours=3), T0 + timedelta(hours=4)]


# --- properties -------------------------------------------------------------------------------------------

timeframe_sets = st.lists(st.sampled_from(["15s", "1m", "3m", "5m", "1h"]), min_size=1, max_size=3, unique=True)
schedules = st.lists(st.tuples(st.integers(0, 400), st.sets(st.sampled_from([BTC, ETH]), min_size=1)),
                     min_size=1, max_size=25)


@settings(max_examples=60, deadline=None)
@given(timeframes=timeframe_sets, schedule=schedules, max_rows=st.integers(1, 30),
       min_spacing=st.integers(0, 120), bars=st.integers(1, 40))
def test_capture_never_exceeds_the_cap_never_duplicates_respects_spacing_and_keeps_the_newest(
    timeframes: list[str], schedule: list[tuple[int, set[Symbol]]], max_rows: int, min_spacing: int, bars: int,
) -> None:
    clock = SimulatedClock(T0 + timedelta(days=1))
    policy = CapturePolicy(timeframes=tuple(Timeframe(t) for t in timeframes), max_rows=max_rows,
                           min_spacing=timedelta(seconds=min_spacing), bars=bars, max_age=None)
    capture, market, store = a_capture(policy, clock)
    seen: dict[tuple[Symbol, Timeframe], set[datetime]] = {}
    for step, symbols in schedule:
        clock.advance(timedelta(seconds=step))
        before = len(market.calls)
        run(capture.capture(sorted(symbols)))
        for symbol, timeframe, _ in market.calls[before:]:
            fetched = run(market.fetch_candles(symbol, timeframe, limit=bars))
            market.calls.pop()
            seen.setdefault((symbol, timeframe), set()).update(
                c.open_time for c in closed_candles(fetched, clock.now()))  # type: ignore[arg-type]
        with store.unit_of_work() as uow:
            for symbol, timeframe in uow.candles.stored_keys():
                rows = uow.candles.list_for(symbol, timeframe)
                times = [c.open_time for c in rows]
                assert len(rows) <= max_rows
                assert len(set(times)) == len(times) == uow.candles.count(symbol, timeframe)
                assert times == sorted(times)
                assert all(c.close_time <= clock.now() for c in rows), "only closed candles"
                newest = sorted(seen[(symbol, timeframe)])[-max_rows:]
                assert times == newest, "pruning keeps the newest rows"
    # Spacing: per (symbol, timeframe), consecutive fetches are at least max(min spacing, timeframe) apart;
    # one symbol's capture never delays another's.
    last: dict[tuple[Symbol, Timeframe], timedelta] = {}
    for symbol, timeframe, at in market.calls:
        key = (symbol, timeframe)
        if key in last:
            assert at - last[key] >= capture_spacing(timeframe, policy.min_spacing)
        last[key] = at
    fetched_symbols = {s for s, _, _ in market.calls}
    assert fetched_symbols == set().union(*(symbols for _, symbols in schedule))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 20), max_size=15), st.integers(0, 25))
def test_screening_keeps_candles_strictly_in_order_and_never_from_the_future(minutes: list[int], latest: int) -> None:
    candles = tuple(bar(BTC, M1, T0 + timedelta(minutes=m)) for m in minutes)
    kept, rejected = screen_candles(candles, after=T0, latest_open=T0 + timedelta(minutes=latest))
    times = [c.open_time for c in kept]
    assert times == sorted(set(times))
    assert all(T0 < t <= T0 + timedelta(minutes=latest) for t in times)
    assert len(kept) + len(rejected) == len(candles)


def test_the_schedule_records_only_successful_captures() -> None:
    schedule = CaptureSchedule((M1,), timedelta(seconds=60))
    assert schedule.due([BTC], timedelta(0)) == ((BTC, M1),)
    assert schedule.due([BTC], timedelta(seconds=5)) == ((BTC, M1),), "never captured: still due"
    schedule.captured((BTC, M1), timedelta(seconds=5))
    assert schedule.due([BTC], timedelta(seconds=64)) == ()
    assert schedule.due([BTC], timedelta(seconds=65)) == ((BTC, M1),)


# --- snapshots, fan-out, liquidity, bad data ------------------------------------------------------------

SYMBOLS = tuple(Symbol.parse(f"C{i:02d}/USDT") for i in range(20))


def a_service(venue: FakeExchange, clock: SimulatedClock, symbols: tuple[Symbol, ...],
              policy: MarketDataPolicy | None = None, held: Iterable[Symbol] = ()
              ) -> tuple[MarketDataService, ExchangeHealthManager, RecordingTelemetry]:
    telemetry = RecordingTelemetry()
    manager = ExchangeHealthManager(InMemoryStore(BotId("md")), clock, telemetry, HealthPolicy(), None, durable=False)
    held_symbols = tuple(held)
    service = MarketDataService(MonitoredMarketData(manager, venue), clock, symbols, M1, telemetry,
                                policy or MarketDataPolicy(), held=lambda: held_symbols)
    return service, manager, telemetry


def test_twenty_symbols_fetched_together_one_failing_leaves_the_other_nineteen_and_counts_once() -> None:
    clock = SimulatedClock(T0 + timedelta(minutes=5))
    venue = FakeExchange(clock=clock, symbols=SYMBOLS)
    for symbol in SYMBOLS:
        venue.add_candles([bar(symbol, M1, T0 + timedelta(minutes=m)) for m in range(5)])
        if symbol != SYMBOLS[7]:
            venue.set_quote(symbol, Decimal("99.99"), Decimal("100.01"), bid_size=Decimal(5), ask_size=Decimal(3),
                            venue_time=clock.now())
    service, manager, _ = a_service(venue, clock, SYMBOLS)
    manager.begin_tick()
    view = asyncio.run(service.refresh())
    assert view.failed == frozenset({SYMBOLS[7]})
    assert set(view.snapshots) == set(SYMBOLS) - {SYMBOLS[7]}
    assert all(len(view.candles_of(s)) == 5 for s in SYMBOLS), "its candles still arrived"
    circuit = manager.circuit(CircuitName.EXCHANGE)
    assert (circuit.health, circuit.streak) == (CircuitHealth.DEGRADED, 1)
    assert view.may_enter(SYMBOLS) == set(SYMBOLS) - {SYMBOLS[7]}
    snapshot = view.snapshots[SYMBOLS[0]]
    assert snapshot.imbalance == Decimal("0.25")  # (5 - 3) / (5 + 3)
    assert snapshot.spread_pct == Decimal("0.02")
    assert snapshot.quote.venue_time == snapshot.quote.observed_at == clock.now()


def test_when_every_symbol_fails_the_refresh_raises() -> None:
    clock = SimulatedClock(T0 + timedelta(minutes=5))
    venue = FakeExchange(clock=clock, symbols=(BTC, ETH))
    service, manager, _ = a_service(venue, clock, (BTC, ETH))
    manager.begin_tick()
    with pytest.raises(ExchangeUnavailableError):
        asyncio.run(service.refresh())


def test_active_symbols_are_the_configured_then_the_bots_own() -> None:
    clock = SimulatedClock(T0 + timedelta(minutes=5))
    venue = FakeExchange(clock=clock, symbols=(BTC, ETH))
    service, _, _ = a_service(venue, clock, (BTC,), held=(ETH, BTC, ETH))
    assert service.active_symbols() == (BTC, ETH)


def test_an_illiquid_symbol_gets_no_entries_and_the_change_is_reported_once() -> None:
    clock = SimulatedClock(T0 + timedelta(minutes=5))
    venue = FakeExchange(clock=clock, symbols=(BTC, ETH))
    for symbol in (BTC, ETH):
        venue.add_candles([bar(symbol, M1, T0 + timedelta(minutes=m)) for m in range(5)])
    venue.set_quote(BTC, Decimal("99.99"), Decimal("100.01"), bid_size=Decimal(10), ask_size=Decimal(10))
    venue.set_quote(ETH, Decimal(99), Decimal(101), bid_size=Decimal(10), ask_size=Decimal(10))  # 2 % wide
    liquidity = SizingPolicy(max_spread_pct=Decimal("0.2"), min_top_of_book_notional=Decimal(100))
    service, _, telemetry = a_service(venue, clock, (BTC, ETH), MarketDataPolicy(liquidity=liquidity))
    view = asyncio.run(service.refresh())
    assert view.may_enter({BTC, ETH}) == {BTC}
    assert "spread" in view.illiquid[ETH][0]
    asyncio.run(service.refresh())
    venue.set_quote(ETH, Decimal("99.99"), Decimal("100.01"), bid_size=Decimal(10), ask_size=Decimal(10))
    view = asyncio.run(service.refresh())
    assert view.may_enter({BTC, ETH}) == {BTC, ETH}
    changes = [(e.symbol, e.liquid) for e in telemetry.events if isinstance(e, LiquidityChanged)]
    assert changes == [("ETH/USDT", False), ("ETH/USDT", True)]


def test_future_and_out_of_order_data_is_rejected_with_an_event_and_never_used() -> None:
    clock = SimulatedClock(T0 + timedelta(minutes=5))
    venue = FakeExchange(clock=clock, symbols=(BTC, ETH))
    venue.add_candles([bar(BTC, M1, T0 + timedelta(minutes=m)) for m in (0, 1, 2)])
    venue.add_candles([bar(BTC, M1, T0 + timedelta(minutes=30), "500")])  # opened in the future
    venue.add_candles([bar(ETH, M1, T0 + timedelta(minutes=m)) for m in (0, 1)])
    venue.set_quote(BTC, Decimal(100), Decimal(100), venue_time=clock.now())
    venue.set_quote(ETH, Decimal(100), Decimal(100), venue_time=clock.now() + timedelta(hours=1))
    service, manager, telemetry = a_service(venue, clock, (BTC, ETH))
    manager.begin_tick()
    view = asyncio.run(service.refresh())
    assert [c.open_time.minute for c in view.candles_of(BTC)] == [0, 1, 2]
    assert view.last_prices[BTC] == Decimal(100)
    assert ETH in view.failed
    assert ETH not in view.snapshots
    assert len(view.candles_of(ETH)) == 2, "ETH's candles are fine; only its quote is refused"
    rejected = {(e.symbol, e.kind, e.reason) for e in telemetry.events if isinstance(e, MarketDataRejected)}
    assert rejected == {("BTC/USDT", "candles", "future"), ("ETH/USDT", "quote", "future")}
    # A venue that sends an old candle again (out of order) is refused too.
    late = (bar(BTC, M1, T0 + timedelta(minutes=3)), bar(BTC, M1, T0 + timedelta(minutes=2)))
    kept, problems = screen_candles(late, after=T0 + timedelta(minutes=2), latest_open=clock.now())
    assert [c.open_time.minute for c in kept] == [3]
    assert [r for r, _ in problems] == ["out_of_order"]


def test_malformed_venue_data_is_refused_at_the_edge_and_only_that_symbol_is_affected() -> None:
    clock = SimulatedClock(T0 + timedelta(minutes=5))
    venue = FakeExchange(clock=clock, symbols=(BTC, ETH))
    for symbol in (BTC, ETH):
        venue.add_candles([bar(symbol, M1, T0 + timedelta(minutes=m)) for m in range(3)])
        venue.set_quote(symbol, Decimal(100), Decimal(100))
    from trader_core.model import InvalidDataError

    venue.fail_next("fetch_candles", InvalidDataError("candle high/low inconsistent"))  # the first symbol's
    service, manager, telemetry = a_service(venue, clock, (BTC, ETH))
    manager.begin_tick()
    view = asyncio.run(service.refresh())
    assert view.failed == {BTC}
    assert len(view.candles_of(ETH)) == 3
    assert BTC not in view.last_prices
    assert [(e.symbol, e.reason) for e in telemetry.events if isinstance(e, MarketDataRejected)] == [
        ("BTC/USDT", "invalid")]
    # Refused data is the venue answering about one market, not the venue failing: the circuit (which pauses
    # entries in every symbol when it trips) does not count it.
    assert manager.circuit(CircuitName.EXCHANGE).streak == 0


def test_quotes_can_be_turned_off() -> None:
    clock = SimulatedClock(T0 + timedelta(minutes=5))
    venue = FakeExchange(clock=clock, symbols=(BTC,))
    venue.add_candles([bar(BTC, M1, T0)])
    service, _, _ = a_service(venue, clock, (BTC,), MarketDataPolicy(quotes=False))
    view = asyncio.run(service.refresh())
    assert view.snapshots == {}
    assert view.may_enter({BTC}) == {BTC}
    assert [c[0] for c in venue.calls] == ["fetch_candles"]


# --- wired into the loop ----------------------------------------------------------------------------------


@attrs.define
class Watcher:
    """A strategy that records what it is offered and never trades."""

    offered: list[frozenset[Symbol]] = attrs.Factory(list)
    quotes: list[int] = attrs.Factory(list)

    async def decide(self, context: DecisionContext) -> tuple[Signal, ...]:
        self.offered.append(context.may_enter)
        self.quotes.append(len(context.quotes))
        return ()


def test_the_loop_offers_entries_only_in_liquid_symbols_and_captures_candles_when_due() -> None:
    clock = SimulatedClock(T0 + timedelta(minutes=3))
    venue = FakeExchange(clock=clock, balances={Asset("USDT"): Decimal(10000)}, symbols=(BTC, ETH))
    for symbol in (BTC, ETH):
        venue.add_candles([bar(symbol, M1, T0 + timedelta(minutes=m)) for m in range(3)])
    venue.set_quote(BTC, Decimal("99.99"), Decimal("100.01"), bid_size=Decimal(10), ask_size=Decimal(10))
    venue.set_quote(ETH, Decimal(99), Decimal(101), bid_size=Decimal(10), ask_size=Decimal(10))
    store, telemetry, strategy = InMemoryStore(BotId("loop")), RecordingTelemetry(), Watcher()
    run_record = RunRecord(run_id=RunId("md-loop"), mode="paper", started_at=clock.now())
    services = build_services(
        store=store, market=venue, trading=venue, clock=clock, telemetry=telemetry, strategy=strategy,
        run=run_record, symbols=(BTC, ETH), timeframe=M1, rules={s: default_rules(s) for s in (BTC, ETH)},
        policy=ActionPolicy(stake=Decimal(100)), prefix="tc-md", capture=CapturePolicy(timeframes=(M1,)),
    )
    loop = StrategyOrchestrator(services=services, store=store, clock=clock, telemetry=telemetry,
                                sleeper=SimulatedSleeper(clock), run=run_record, interval=timedelta(minutes=1),
                                balance=Decimal(10000))
    asyncio.run(loop.start())
    asyncio.run(loop.tick())
    assert strategy.offered == [frozenset({BTC})], "ETH's 2 % spread keeps it out of entries"
    assert strategy.quotes == [2]
    with store.unit_of_work() as uow:
        assert uow.candles.stored_keys() == ((BTC, M1), (ETH, M1))
        assert uow.candles.count(BTC, M1) == 3
    clock.advance(timedelta(seconds=30))
    asyncio.run(loop.tick())
    fetches = [c for c in venue.calls if c[0] == "fetch_candles"]
    assert len(fetches) == 2 + 2 + 2, "two refreshes and one capture of both symbols; not due again at 30 s"


@attrs.define
class BuysOnce:
    """A strategy that buys BTC once, with a 2 % stop and a 3 % target."""

    bought: bool = False

    async def decide(self, context: DecisionContext) -> tuple[Signal, ...]:
        if self.bought:
            return ()
        self.bought = True
        return (Signal(action=Action.BUY, symbol=BTC, stop_pct=Decimal(2), target_pct=Decimal(3)),)


def test_a_stop_the_bot_holds_fires_on_the_live_price_not_a_candle_close_up_to_a_minute_later() -> None:
    # On a venue that holds no protection (OKX here) the bot compares each price with the plan's levels. The price
    # was the last candle's close: a crash within the minute went unanswered until the candle closed, ticks later.
    clock = SimulatedClock(T0 + timedelta(minutes=3))
    venue = FakeExchange(clock=clock, balances={Asset("USDT"): Decimal(10000)}, symbols=(BTC,),
                         holds_protective_exits=False, holds_protective_stops=False)
    venue.add_candles([bar(BTC, M1, T0 + timedelta(minutes=m)) for m in range(3)])
    venue.set_quote(BTC, Decimal("99.99"), Decimal("100.01"), last=Decimal(100), bid_size=Decimal(10),
                    ask_size=Decimal(10))
    store, telemetry = InMemoryStore(BotId("held")), RecordingTelemetry()
    run_record = RunRecord(run_id=RunId("held-stop"), mode="live", started_at=clock.now())
    services = build_services(
        store=store, market=venue, trading=venue, clock=clock, telemetry=telemetry, strategy=BuysOnce(),
        run=run_record, symbols=(BTC,), timeframe=M1, rules={BTC: default_rules(BTC)},
        policy=ActionPolicy(stake=Decimal(100)), prefix="tc-held",
    )
    loop = StrategyOrchestrator(services=services, store=store, clock=clock, telemetry=telemetry,
                                sleeper=SimulatedSleeper(clock), run=run_record, interval=timedelta(seconds=5),
                                balance=Decimal(10000))
    asyncio.run(loop.start())
    asyncio.run(loop.tick())
    asyncio.run(loop.tick())
    (plan,) = services.book.plans(BTC)
    assert plan.quantity.value > 0
    assert plan.stop_price is not None
    clock.advance(timedelta(seconds=10))  # minute 3 is under way: its candle has not closed
    venue.set_quote(BTC, Decimal("96.99"), Decimal("97.01"), last=Decimal(97), bid_size=Decimal(10),
                    ask_size=Decimal(10))
    asyncio.run(loop.tick())
    asyncio.run(loop.tick())
    assert services.book.plans(BTC) == (), "the stop at 98 was passed: the bot sold on the live price"
    assert services.tracker.holding(BTC).quantity == 0


@attrs.define
class OhlcvRows:
    """A venue answering ccxt OHLCV rows, read by the ccxt adapter's own parser (``parse_candles``); no quotes."""

    clock: SimulatedClock
    rows: list[list[object]] = attrs.Factory(list)

    def add(self, minute: int, o: object, h: object, low: object, c: object) -> None:
        self.rows.append([int((T0 + timedelta(minutes=minute)).timestamp() * 1000), o, h, low, c, 1.0])

    async def fetch_quote(self, symbol: Symbol) -> Quote:
        raise ExchangeUnavailableError("no quotes here")

    async def fetch_candles(self, symbol: Symbol, timeframe: Timeframe, *, since: datetime | None = None,
                            limit: int = 500) -> tuple[Candle, ...]:
        return parse_candles(self.rows, symbol, timeframe, now=self.clock.now(), since=since, limit=limit)

    async def fetch_instrument(self, symbol: Symbol) -> InstrumentRules:
        return default_rules(symbol)

    async def close(self) -> None:
        return None


def test_one_malformed_candle_is_passed_over_not_met_again_at_every_tick_and_a_paper_stop_still_fires() -> None:
    clock = SimulatedClock(T0 + timedelta(minutes=3))
    venue = OhlcvRows(clock)
    venue.add(0, 100, 101, 99, 100)
    venue.add(1, 100, 101, 99, 100)
    replay = ReplayMarket({BTC: ()}, clock, timeframe=M1)
    paper = PaperExchange(market=replay, clock=clock, balances={Asset("BTC"): Decimal(1)})
    telemetry = RecordingTelemetry()
    service = MarketDataService(LivePaperMarket(venue, replay), clock, (BTC,), M1, telemetry,
                                MarketDataPolicy(quotes=False))
    asyncio.run(service.refresh())
    stop = OrderRequest(client_order_id=ClientOrderId("sl"), symbol=BTC, side=Side.SELL,
                        order_type=OrderType.STOP_LOSS, quantity=Quantity("1"), stop_price=Price("95"))
    asyncio.run(paper.place_order(stop))
    venue.add(2, 0, 101, 0, 100)  # the venue publishes a bar with zero prices (a no-trade bar on some venues)
    venue.add(3, 100, 101, 99, 100)
    minutes: list[list[int]] = []
    for minute in (4, 5, 6):
        venue.add(minute, 90, 91, 80, 85)  # the market falls through the stop
        clock.advance_to(T0 + timedelta(minutes=minute + 1))
        view = asyncio.run(service.refresh())
        minutes.append([c.open_time.minute for c in view.candles_of(BTC)])
    assert minutes == [[3, 4], [5], [6]], "the bars after the bad one arrive; the bad one is not asked for again"
    assert [(e.reason, "candle at 2025-01-01T00:02" in e.detail) for e in telemetry.events  # type: ignore[attr-defined]
            if isinstance(e, MarketDataRejected)] == [("invalid", True)]
    assert asyncio.run(paper.fetch_order(BTC, ClientOrderId("sl"))).status is OrderStatus.FILLED
