"""Crash recovery: the process dies at any step of sending or booking; a new one, built from the store alone
on the same venue, reconciles. Never a client order id sent twice, never a fill lost or booked twice,
never a foreign order touched. Plus one scenario per outcome class, and the start-up gate."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Coroutine, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from trader_adapters.clock import SimulatedClock
from trader_adapters.memory import InMemoryStore
from trader_adapters.memory.exchange import FakeExchange
from trader_adapters.paper.instruments import default_rules
from trader_adapters.telemetry import RecordingTelemetry
from trader_app.bootstrap import build_services
from trader_app.orchestrator import StrategyOrchestrator
from trader_core.model import (
    Asset,
    Balance,
    BotId,
    ClientOrderId,
    ExchangeUnavailableError,
    Fill,
    IntentStatus,
    Money,
    OrderNotFoundError,
    OrderRequest,
    OrderRole,
    OrderType,
    OutcomeUnknownError,
    Price,
    Quantity,
    RunId,
    RunRecord,
    RunStatus,
    Side,
    Signal,
    StoreError,
    Symbol,
    Timeframe,
    TrackedOrder,
    TradeId,
)
from trader_core.model.events import CancelOutcomeUnknown, OrderLost, ReconciliationReported
from trader_core.model.health import TradingState
from trader_core.ports import Store
from trader_core.trading import ActionPolicy

BTC = Symbol.parse("BTC/USDT")
USDT = Asset("USDT")
T0 = datetime(2025, 1, 1, tzinfo=UTC)
PREFIX = "tc-crash"
T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


class Crash(BaseException):
    """The process dies here (nothing catches it: a BaseException, like a kill)."""


# -- a store that dies mid-way through a unit of work ---------------------------------------------------


class _Spy:
    def __init__(self, inner: Any, name: str, log: list[tuple[str, Any]]) -> None:
        self._inner, self._name, self._log = inner, name, log

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._inner, attr)
        if attr in ("add", "update"):
            def recorded(*args: Any, **kwargs: Any) -> Any:
                self._log.append((self._name, args[0]))
                return value(*args, **kwargs)
            return recorded
        return value


class _CrashingUnit:
    def __init__(self, inner: Any, store: CrashingStore) -> None:
        self._inner, self._store = inner, store
        self.log: list[tuple[str, Any]] = []
        self.orders = _Spy(inner.orders, "orders", self.log)
        self.fills = _Spy(inner.fills, "fills", self.log)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._inner, attr)

    def commit(self) -> None:
        if self._store.trips(self.log):
            raise Crash("died before the commit")  # the unit is left uncommitted: the store rolls it back
        self._inner.commit()


@attrs.define
class CrashingStore:
    """A real store whose unit of work raises ``Crash`` at the commit that matches the armed predicate."""

    inner: Store
    armed: Callable[[list[tuple[str, Any]]], bool] | None = None

    @property
    def bot_id(self) -> BotId:
        return self.inner.bot_id

    @contextmanager
    def unit_of_work(self) -> Iterator[Any]:
        with self.inner.unit_of_work() as uow:
            yield _CrashingUnit(uow, self)

    def close(self) -> None:
        self.inner.close()

    def maintain(self) -> None:
        self.inner.maintain()

    def trips(self, log: list[tuple[str, Any]]) -> bool:
        if self.armed is not None and self.armed(log):
            self.armed = None
            return True
        return False


def _acknowledgement(log: list[tuple[str, Any]]) -> bool:
    return any(name == "orders" and isinstance(o, TrackedOrder) and o.venue_order_id is not None for name, o in log)


def _booking(log: list[tuple[str, Any]]) -> bool:
    return any(name == "fills" for name, _ in log)


def _second_booking() -> Callable[[list[tuple[str, Any]]], bool]:
    seen = itertools.count()
    return lambda log: _booking(log) and next(seen) == 1


# -- a venue that reports every fill as two partial fills ------------------------------------------------


class SplittingVenue:
    """The fake venue, except that each fill comes as two partial fills (trade ids ``N-a``, ``N-b``)."""

    def __init__(self, venue: FakeExchange) -> None:
        self._venue = venue

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._venue, attr)

    @property
    def venue(self) -> str:
        return self._venue.venue

    @property
    def holds_protective_exits(self) -> bool:
        return self._venue.holds_protective_exits

    async def fetch_fills(self, symbol: Symbol, *, since: datetime | None = None, limit: int = 500) -> tuple[Fill, ...]:
        parts = [part for fill in await self._venue.fetch_fills(symbol, since=since, limit=10_000)
                 for part in _halves(fill)]
        return tuple(parts[:limit])


def _halves(fill: Fill) -> tuple[Fill, Fill]:
    first = fill.quantity.value / 2
    fee = fill.fee.amount / 2
    return (
        attrs.evolve(fill, trade_id=TradeId(f"{fill.trade_id}-a"), quantity=Quantity(first),
                     fee=Money(fee, fill.fee.asset)),
        attrs.evolve(fill, trade_id=TradeId(f"{fill.trade_id}-b"), quantity=Quantity(fill.quantity.value - first),
                     fee=Money(fill.fee.amount - fee, fill.fee.asset)),
    )


# -- the world: a venue that outlives the bot, a store, and a bot built from the store alone ---------------


class _Sleeper:
    async def sleep(self, duration: timedelta) -> bool:
        return True

    def wake(self) -> None:
        return None


class _NoStrategy:
    async def decide(self, context: object) -> tuple[Signal, ...]:
        return ()


@attrs.define
class World:
    clock: SimulatedClock
    venue: FakeExchange
    trading: Any
    store: CrashingStore
    telemetry: RecordingTelemetry = attrs.Factory(RecordingTelemetry)
    bot: StrategyOrchestrator | None = None
    runs: int = 0
    accept: bool = False

    @classmethod
    def create(cls, store: Store, *, split: bool = True) -> World:
        clock = SimulatedClock(T0)
        venue = FakeExchange(clock=clock, balances={USDT: Decimal(1_000_000)})
        venue.set_price(BTC, Decimal(50000))
        return cls(clock, venue, SplittingVenue(venue) if split else venue, CrashingStore(store))

    def boot(self) -> StrategyOrchestrator:
        """A new process: every object rebuilt from the store; start-up reconciliation runs."""
        self.runs += 1
        record = RunRecord(run_id=RunId(f"run{self.runs}"), mode="sandbox", started_at=self.clock.now())
        services = build_services(
            store=self.store, market=self.venue, trading=self.trading, clock=self.clock, telemetry=self.telemetry,
            strategy=_NoStrategy(), run=record, symbols=(BTC,), timeframe=Timeframe("1m"),
            rules={BTC: default_rules(BTC)}, policy=ActionPolicy(stake=Decimal(1000)), prefix=PREFIX,
        )
        bot = StrategyOrchestrator(services=services, store=self.store, clock=self.clock, telemetry=self.telemetry,
                                   sleeper=_Sleeper(), run=record, interval=timedelta(minutes=1),
                                   balance=Decimal(10000), accept_reconciliation=self.accept)
        self.bot = None
        run(bot.start())
        self.bot = bot
        return bot

    def restart(self) -> StrategyOrchestrator:
        """The process died (or stopped): drop it and boot again; a crash during start-up boots once more."""
        self.bot = None
        try:
            return self.boot()
        except Crash:
            return self.boot()

    @property
    def services(self) -> Any:
        assert self.bot is not None
        return self.bot.services

    def submit(self, *, market: bool, quantity: str = "0.01") -> TrackedOrder:
        executor = self.services.resync.executor
        price = self.venue._quotes[BTC].last - (0 if market else 100)
        return run(executor.submit(
            lambda cid: OrderRequest(
                client_order_id=cid, symbol=BTC, side=Side.BUY,
                order_type=OrderType.MARKET if market else OrderType.LIMIT, quantity=Quantity(quantity),
                price=None if market else Price(price),
            ),
            role=OrderRole.ENTRY, reference_price=price,
        ))

    def sync(self) -> None:
        self.clock.advance(timedelta(seconds=1))
        run(self.services.resync.sync())
        reconciler = self.services.reconciler
        if reconciler is not None:
            run(reconciler.review())

    # -- what must always hold -----------------------------------------------------------------------

    def sent(self) -> list[str]:
        return [call[2] for call in self.venue.calls if call[0] == "place_order"]

    def venue_fills(self) -> set[str]:
        fills = run(self.trading.fetch_fills(BTC, since=None, limit=100_000))
        return {f.trade_id.value for f in fills
                if f.client_order_id is not None and f.client_order_id.value.startswith(PREFIX + "-")}

    def booked(self) -> list[str]:
        with self.store.inner.unit_of_work() as uow:
            return [record.fill.trade_id.value for record in uow.fills.list_all()]

    def check(self) -> None:
        sent = [cid for cid in self.sent() if cid.startswith(PREFIX)]
        assert len(sent) == len(set(sent)), f"a client order id reached the venue twice: {sent}"
        booked = self.booked()
        assert len(booked) == len(set(booked)), "a fill was booked twice"
        assert set(booked) == self.venue_fills(), "the ledger is the venue's fills of the bot's orders"
        touched = [c for c in self.venue.calls if c[0] == "cancel_order" and not c[2].startswith(PREFIX)]
        assert not touched, f"a foreign order was touched: {touched}"
        assert self.services.tracker.stats.fills == len(booked)


# -- the stateful test -------------------------------------------------------------------------------------


class CrashRecovery(RuleBasedStateMachine):
    """Orders, fills, cancels and foreign trading on one venue, with deaths at every step of the order path."""

    store_factory: Callable[[], Store] = staticmethod(lambda: InMemoryStore(BotId("crash")))  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.world = World.create(self.store_factory())
        self.world.boot()
        self.foreign = 0

    @rule(market=st.booleans(), crash=st.sampled_from([None, "before_send", "after_send", "ack"]))
    def enter(self, market: bool, crash: str | None) -> None:
        world = self.world
        world.clock.advance(timedelta(seconds=1))
        if crash == "before_send":
            world.venue.fail_next("place_order", Crash("died with the request unsent"))  # type: ignore[arg-type]
        elif crash == "after_send":
            world.venue.apply_then_fail("place_order", Crash("died with the request sent"))  # type: ignore[arg-type]
        elif crash == "ack":
            world.store.armed = _acknowledgement
        try:
            world.submit(market=market)
        except Crash:
            world.restart()
            world.check()
        world.store.armed = None

    @rule(step=st.sampled_from([Decimal(-150), Decimal(-50), Decimal(100)]))
    def move_price(self, step: Decimal) -> None:
        world = self.world
        world.clock.advance(timedelta(seconds=1))
        world.venue.set_price(BTC, world.venue._quotes[BTC].last + step)

    @rule(crash=st.sampled_from([None, "booking", "between_partials"]))
    def sync(self, crash: str | None) -> None:
        world = self.world
        world.store.armed = {None: None, "booking": _booking, "between_partials": _second_booking()}[crash]
        try:
            world.sync()
        except Crash:
            world.restart()
        world.store.armed = None
        world.check()

    @precondition(lambda self: any(o.request.order_type is OrderType.LIMIT and o.venue_order_id is not None
                                   for o in self.world.services.book.orders()))
    @rule(lost=st.booleans())
    def cancel(self, lost: bool) -> None:
        world = self.world
        order = next(o for o in world.services.book.orders()
                     if o.request.order_type is OrderType.LIMIT and o.venue_order_id is not None)
        if lost:
            world.venue.apply_then_fail("cancel_order", OutcomeUnknownError("response lost"))
        run(world.services.resync.executor.cancel(order))

    @rule(market=st.booleans())
    def foreign_order(self, market: bool) -> None:
        world = self.world
        self.foreign += 1
        price = world.venue._quotes[BTC].last - (0 if market else 120)
        run(world.venue.place_order(OrderRequest(
            client_order_id=ClientOrderId(f"manual-{self.foreign}"), symbol=BTC, side=Side.BUY,
            order_type=OrderType.MARKET if market else OrderType.LIMIT, quantity=Quantity("0.02"),
            price=None if market else Price(price),
        )))

    @rule()
    def restart(self) -> None:
        self.world.restart()
        self.world.check()

    @invariant()
    def never_sent_twice(self) -> None:
        sent = [cid for cid in self.world.sent() if cid.startswith(PREFIX)]
        assert len(sent) == len(set(sent))

    def teardown(self) -> None:
        world = self.world
        world.restart()
        for _ in range(4):
            world.sync()
        world.check()
        # Every intent of the bot is resolved: nothing unknown or pending is left behind.
        assert not [o for o in world.services.book.orders()
                    if o.status in (IntentStatus.PENDING_SUBMIT, IntentStatus.UNKNOWN)]


TestCrashRecovery = CrashRecovery.TestCase
TestCrashRecovery.settings = settings(max_examples=60, stateful_step_count=25, deadline=None,
                                      suppress_health_check=[HealthCheck.too_slow])


def _sqlite_store(path: Path) -> Store:
    from trader_app.storage import open_store

    return open_store(f"sqlite:///{path}", BotId("crash"))


class _Counter:
    n = 0


@pytest.fixture
def sqlite_machine(tmp_path: Path) -> type[CrashRecovery]:
    def factory() -> Store:
        _Counter.n += 1
        return _sqlite_store(tmp_path / f"crash{_Counter.n}.db")

    class OnSqlite(CrashRecovery):
        store_factory = staticmethod(factory)  # type: ignore[assignment]

    return OnSqlite


def test_the_same_crashes_on_sqlite(sqlite_machine: type[CrashRecovery]) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(sqlite_machine, settings=settings(max_examples=6, stateful_step_count=15,
                                                                deadline=None,
                                                                suppress_health_check=list(HealthCheck)))


# -- scenarios: one per outcome class -------------------------------------------------------------------------


@pytest.fixture
def world() -> World:
    return World.create(InMemoryStore(BotId("crash")), split=False)


def _stored(world: World, cid: str) -> TrackedOrder:
    with world.store.unit_of_work() as uow:
        found = uow.orders.find(ClientOrderId(cid))
    assert found is not None
    return found


def test_acknowledged_then_filled_is_booked_once(world: World) -> None:
    world.boot()
    order = world.submit(market=True)
    assert order.venue_order_id is not None
    world.sync()
    world.sync()
    assert _stored(world, order.client_order_id.value).status is IntentStatus.FILLED
    world.check()


def test_rejected_is_final_and_never_sent_again(world: World) -> None:
    world.boot()
    order = world.submit(market=True, quantity="1000")  # far more than the balance pays for
    assert order.status is IntentStatus.REJECTED
    world.restart()
    world.sync()
    assert world.sent() == [order.client_order_id.value]


def test_failed_before_sending_is_final(world: World) -> None:
    from trader_core.model import ExchangeUnavailableError

    world.boot()
    world.venue.fail_next("place_order", ExchangeUnavailableError("connection refused"))
    order = world.submit(market=True)
    assert order.status is IntentStatus.FAILED
    world.sync()
    assert world.services.book.orders() == ()


def test_an_order_accepted_whose_response_was_lost_is_adopted_and_never_resent(world: World) -> None:
    world.boot()
    world.venue.apply_then_fail("place_order", OutcomeUnknownError("timeout"))
    order = world.submit(market=False)
    assert order.status is IntentStatus.UNKNOWN
    world.sync()
    found = _stored(world, order.client_order_id.value)
    assert found.status is IntentStatus.OPEN, "found among the open orders and adopted"
    assert found.venue_order_id is not None
    assert world.sent() == [order.client_order_id.value]


def test_an_unknown_outcome_never_sent_is_proven_absent_after_bounded_lookups(world: World) -> None:
    world.boot()
    world.venue.fail_next("place_order", OutcomeUnknownError("timeout before the venue saw it"))
    order = world.submit(market=True)
    assert order.status is IntentStatus.UNKNOWN
    cid = order.client_order_id.value
    world.sync()
    world.sync()
    assert _stored(world, cid).status is IntentStatus.UNKNOWN, "two not-found answers are not proof yet"
    world.sync()
    assert _stored(world, cid).status is IntentStatus.FAILED
    lookups = [c for c in world.venue.calls if c[0] == "fetch_order" and c[2] == cid]
    assert len(lookups) == 3
    world.sync()
    assert len([c for c in world.venue.calls if c[0] == "fetch_order" and c[2] == cid]) == 3, "no more lookups"
    assert world.sent() == [cid], "an entry is never sent again"


def test_not_found_answers_keep_counting_across_a_restart(world: World) -> None:
    """A bot restarted again and again under venue trouble must still gather its three not-found answers: the
    count is kept in the store, so a restart goes on from it instead of starting again."""
    world.boot()
    world.venue.fail_next("place_order", OutcomeUnknownError("timeout before the venue saw it"))
    order = world.submit(market=True)
    cid = order.client_order_id.value
    world.sync()
    world.sync()
    assert _stored(world, cid).status is IntentStatus.UNKNOWN
    world.restart()  # start-up reconciliation looks it up: the third not-found answer in a row
    assert _stored(world, cid).status is IntentStatus.FAILED
    lookups = [c for c in world.venue.calls if c[0] == "fetch_order" and c[2] == cid]
    assert len(lookups) == 3, "the restart went on counting"
    assert world.sent() == [cid]


def test_a_cancel_whose_response_was_lost_is_settled_by_lookup(world: World) -> None:
    world.boot()
    order = world.submit(market=False)
    world.venue.apply_then_fail("cancel_order", OutcomeUnknownError("response lost"))
    run(world.services.resync.executor.cancel(order))
    assert _stored(world, order.client_order_id.value).status is IntentStatus.OPEN, "nothing assumed"
    doubts = world.telemetry.of_type(CancelOutcomeUnknown)
    assert [e.client_order_id for e in doubts if isinstance(e, CancelOutcomeUnknown)] == [
        order.client_order_id.value], "said, so a person knows the order may be gone"
    # Cancelled again: the venue answers "unknown order"; the order is looked up and found cancelled.
    with pytest.raises(OrderNotFoundError):
        run(world.venue.cancel_order(BTC, order.client_order_id))
    again = run(world.services.resync.executor.cancel(_stored(world, order.client_order_id.value)))
    assert again.status is IntentStatus.CANCELED
    world.check()


def test_an_acknowledged_order_the_venue_forgets_becomes_lost(world: World) -> None:
    world.boot()
    order = world.submit(market=False)
    run(world.venue.cancel_order(BTC, order.client_order_id))
    for _ in range(3):
        world.venue.fail_next("fetch_order", OrderNotFoundError("unknown order"))
    for _ in range(3):
        world.sync()
    assert _stored(world, order.client_order_id.value).status is IntentStatus.LOST
    assert world.telemetry.of_type(OrderLost)
    assert world.services.book.orders() == ()


def test_lookups_per_sync_are_bounded(world: World) -> None:
    world.boot()
    for _ in range(15):
        world.venue.fail_next("place_order", OutcomeUnknownError("timeout"))
        world.submit(market=True)
    before = len(world.venue.calls)
    world.sync()
    lookups = [c for c in world.venue.calls[before:] if c[0] == "fetch_order"]
    assert len(lookups) == world.services.resync.policy.max_lookups


def test_retry_of_a_protective_order_uses_the_next_attempt_only_once_proven_absent(world: World) -> None:
    world.boot()
    executor = world.services.resync.executor
    world.venue.fail_next("place_order", OutcomeUnknownError("timeout"))
    stop = run(executor.submit(
        lambda cid: OrderRequest(client_order_id=cid, symbol=BTC, side=Side.SELL, order_type=OrderType.STOP_LOSS,
                                 quantity=Quantity("0.01"), stop_price=Price(40000)),
        role=OrderRole.STOP,
    ))
    assert run(executor.retry(stop)) is None, "an unknown intent is resolved before anything else"
    for _ in range(3):
        world.sync()
    failed = _stored(world, stop.client_order_id.value)
    assert failed.status is IntentStatus.FAILED
    again = run(executor.retry(failed))
    assert again is not None
    assert again.client_order_id.value == stop.client_order_id.value[:-1] + "2"
    entry = world.submit(market=True)
    assert run(executor.retry(entry)) is None, "entries never retry"


# -- the start-up gate ----------------------------------------------------------------------------------------


def _report(world: World) -> ReconciliationReported:
    event = world.telemetry.of_type(ReconciliationReported)[-1]
    assert isinstance(event, ReconciliationReported)
    return event


def test_a_clean_restart_adopts_orders_books_fills_made_while_away_and_trades(world: World) -> None:
    world.boot()
    resting = world.submit(market=False)
    filled = world.submit(market=False)
    run(world.venue.place_order(OrderRequest(client_order_id=ClientOrderId("manual-1"), symbol=BTC, side=Side.BUY,
                                             order_type=OrderType.LIMIT, quantity=Quantity("0.01"),
                                             price=Price(40000))))
    world.bot = None  # down
    world.venue.set_price(BTC, Decimal(49900))  # both fill while away
    world.venue.set_price(BTC, Decimal(50000))
    second = world.boot()
    report = _report(world)
    assert report.gate == "clean"
    assert report.foreign == 1
    assert set(report.closed_while_away) == {resting.client_order_id.value, filled.client_order_id.value}
    assert report.fills_booked == 2
    assert second.services.health.status.state is TradingState.ACTIVE
    world.check()
    assert not [c for c in world.venue.calls if c[0] == "cancel_order"]


def test_an_unclean_restart_reduces_until_accepted(world: World) -> None:
    world.boot()
    world.submit(market=True)
    world.sync()
    assert world.services.tracker.stats.fills == 1
    world.venue.deposit(Asset("BTC"), -Decimal("0.01"))  # someone took the bot's BTC while it was down
    bot = world.boot()
    report = _report(world)
    assert report.balance_issues
    assert report.gate == "reducing"
    assert bot.services.health.status.state is TradingState.REDUCING
    world.accept = True
    bot = world.boot()
    assert _report(world).gate == "accepted"
    assert bot.services.health.status.state is TradingState.ACTIVE


class _SellFillsAsBalancesAreRead(SplittingVenue):
    """The fake venue (fills whole), on which the price reaches the bot's resting sell just as its balances are
    read at start-up: after its open orders and fills were read, before the balances answer."""

    def __init__(self, venue: FakeExchange, price: Decimal, *, fills_late: bool = False) -> None:
        super().__init__(venue)
        self._price, self._armed, self.fills_late = price, True, fills_late

    async def fetch_fills(self, symbol: Symbol, *, since: datetime | None = None, limit: int = 500) -> tuple[Fill, ...]:
        fills = await self._venue.fetch_fills(symbol, since=since, limit=limit)
        # ``fills_late``: the venue's trade list does not show the sale yet (it lags its balances).
        return tuple(f for f in fills if f.side is Side.BUY) if self.fills_late else fills

    async def fetch_balances(self) -> tuple[Balance, ...]:
        if self._armed:
            self._armed = False
            self._venue.set_price(BTC, self._price)
        return await self._venue.fetch_balances()


def _holding_with_a_resting_sell_at_51000(world: World) -> None:
    """The bot bought 0.01 BTC (booked) and rests a limit sell of it at 51000; then its process goes."""
    world.boot()
    world.submit(market=True)
    world.sync()
    run(world.services.resync.executor.submit(
        lambda cid: OrderRequest(client_order_id=cid, symbol=BTC, side=Side.SELL, order_type=OrderType.LIMIT,
                                 quantity=Quantity("0.01"), price=Price(51000)),
        role=OrderRole.EXIT, reference_price=Decimal(51000),
    ))


def test_a_sell_that_fills_while_start_up_reads_the_balances_is_booked_not_a_shortfall(world: World) -> None:
    # The balances showed the sale, the bot's fills did not yet: "the venue holds less BTC than the bot's fills"
    # kept a restarted bot from entering until the operator accepted a report with nothing wrong in it.
    _holding_with_a_resting_sell_at_51000(world)
    world.trading = _SellFillsAsBalancesAreRead(world.venue, Decimal(51000))
    bot = world.boot()
    report = _report(world)
    assert report.balance_issues == ()
    assert report.gate == "clean"
    assert bot.services.health.status.state is TradingState.ACTIVE
    assert bot.services.tracker.stats.fills == 2, "the sale is booked"
    world.check()


def test_a_shortfall_a_later_fill_explains_lifts_the_gate_without_the_operator(world: World) -> None:
    # The venue's trade list lags its balances: start-up still cannot see the sale (entries held: the venue holds
    # less than the bot's fills); once a tick's sync books it, the next look at the balances lifts the gate.
    _holding_with_a_resting_sell_at_51000(world)
    venue = _SellFillsAsBalancesAreRead(world.venue, Decimal(51000), fills_late=True)
    world.trading = venue
    bot = world.boot()
    assert _report(world).gate == "reducing"
    world.sync()
    assert bot.services.health.status.state is TradingState.REDUCING, "the shortfall stands while unexplained"
    world.venue.fail_next("fetch_balances", ExchangeUnavailableError("503"))
    world.sync()  # a balance read that fails keeps the gate, and fails nothing else
    assert bot.services.health.status.state is TradingState.REDUCING
    venue.fills_late = False
    world.sync()
    assert bot.services.tracker.stats.fills == 2
    assert bot.services.health.status.state is TradingState.ACTIVE
    world.check()


def test_an_unresolved_intent_keeps_the_gate_until_a_sync_resolves_it(world: World) -> None:
    world.boot()
    world.venue.fail_next("place_order", OutcomeUnknownError("timeout"))
    order = world.submit(market=True)
    world.venue.fail_next("fetch_open_orders", OutcomeUnknownError("timeout"))  # start-up cannot finish
    bot = world.boot()
    assert _report(world).gate == "reducing"
    assert bot.services.health.status.state is TradingState.REDUCING
    for _ in range(3):
        world.sync()
    assert _stored(world, order.client_order_id.value).status is IntentStatus.FAILED
    assert bot.services.health.status.state is TradingState.ACTIVE


def _entry_placed_while_the_bot_was_down(world: World) -> str:
    """On a venue without an acceptance window (the in-memory one, as Gemini): a resting entry whose placement went
    unanswered is proven absent by three "not found" answers (its plan cancelled); the process is then killed and
    the venue places the request after all. Its client order id."""
    world.boot()
    world.venue.fail_then_apply_later("place_order", OutcomeUnknownError("connection dropped"))
    order = world.submit(market=False)
    for _ in range(3):
        world.sync()
    assert _stored(world, order.client_order_id.value).status is IntentStatus.FAILED
    world.bot = None  # killed
    assert world.venue.apply_held() == 1
    assert len(run(world.venue.fetch_open_orders(BTC))) == 1
    return order.client_order_id.value


def test_an_order_given_up_that_the_venue_placed_while_the_bot_was_down_is_cancelled_at_start_up(
        world: World) -> None:
    # Left open it would buy whenever the price comes to it, on a decision the bot gave up; reported as
    # "unexpected" it held entries back until a person accepted the report, for an order the bot knows all about.
    late = _entry_placed_while_the_bot_was_down(world)
    bot = world.boot()
    assert run(world.venue.fetch_open_orders(BTC)) == (), "cancelled at the venue"
    assert _stored(world, late).status is IntentStatus.CANCELED
    report = _report(world)
    assert report.gate == "clean"
    assert report.unexpected == ()
    assert report.concluded_found_open == (late,)
    assert bot.services.health.status.state is TradingState.ACTIVE
    world.check()


def test_a_given_up_order_whose_cancel_goes_unanswered_at_start_up_holds_entries_until_a_sync_cancels_it(
        world: World) -> None:
    late = _entry_placed_while_the_bot_was_down(world)
    for _ in range(2):  # the listing's cancel, and the start-up sync's (the symbol is watched once it failed)
        world.venue.fail_next("cancel_order", OutcomeUnknownError("timeout"))
    bot = world.boot()
    report = _report(world)
    assert report.gate == "reducing"
    assert report.concluded_found_open == (late,)
    assert bot.services.health.status.state is TradingState.REDUCING, "no new entry beside an order still open"
    assert len(run(world.venue.fetch_open_orders(BTC))) == 1
    world.venue.fail_next("cancel_order", OutcomeUnknownError("timeout"))
    world.sync()  # no order of the bot's in the symbol: it is listed because it is watched
    assert bot.services.health.status.state is TradingState.REDUCING, "its cancel unanswered again"
    world.sync()
    assert run(world.venue.fetch_open_orders(BTC)) == ()
    assert _stored(world, late).status is IntentStatus.CANCELED
    assert bot.services.health.status.state is TradingState.ACTIVE
    world.check()


@attrs.define(init=False, eq=False)
class RememberingExchange(FakeExchange):
    """The fake venue, with an adapter's order-id memory (``OrderIdMemory``): what it was told at start-up."""

    told: list[tuple[str, str | None]] = attrs.field(init=False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.told = []

    def remember_orders(self, orders: Iterable[TrackedOrder]) -> None:
        self.told.extend((o.client_order_id.value, o.venue_order_id and o.venue_order_id.value) for o in orders)


def test_a_restarted_bot_tells_its_venue_adapter_which_orders_are_its_own() -> None:
    # Binance's trade list names the venue's order id alone: an adapter that forgot which ids are the bot's looks
    # each one up before the first sync can book a fill, one request more on every restart.
    clock = SimulatedClock(T0)
    venue = RememberingExchange(clock=clock, balances={USDT: Decimal(1_000_000)})
    venue.set_price(BTC, Decimal(50000))
    world = World(clock, venue, venue, CrashingStore(InMemoryStore(BotId("crash"))))
    world.boot()
    filled = world.submit(market=True)
    resting = world.submit(market=False)
    venue.told.clear()
    world.restart()
    told = dict(venue.told)
    assert told[filled.client_order_id.value] == "1", "the order filled in the previous run"
    assert told[resting.client_order_id.value] == "2", "and the one still resting"
    assert all(venue_id is not None for venue_id in told.values()), "only orders the venue has an id for"


@attrs.define
class _GoesAway:
    """A store that can go away (a database server restarted, its network gone): every unit of work then fails."""

    inner: Store
    away: bool = False

    @property
    def bot_id(self) -> BotId:
        return self.inner.bot_id

    @contextmanager
    def unit_of_work(self) -> Iterator[Any]:
        if self.away:
            raise StoreError("cannot connect to postgresql://db/trader: connection refused")
        with self.inner.unit_of_work() as uow:
            yield uow

    def close(self) -> None:
        self.inner.close()

    def maintain(self) -> None:
        self.inner.maintain()


def test_a_run_whose_database_is_away_at_its_end_still_ends_with_its_summary_and_says_so() -> None:
    # A PostgreSQL server stopped while a live bot ran: stopping it raised out of the summary (a traceback, exit 1,
    # no summary), because the summary reads the run's plans and LLM calls from the store first.
    store = _GoesAway(InMemoryStore(BotId("crash")))
    world = World.create(store, split=False)  # type: ignore[arg-type]
    bot = world.boot()
    world.submit(market=True)
    world.sync()
    store.away = True
    summary = bot.finish(RunStatus.FINISHED, Decimal(0))
    assert summary.fills == 1, "what the bot booked in memory is in the summary"
    assert bot.record_failed is not None
    assert bot.record_failed.startswith("the run's record could not be read (cannot connect")
    assert bot.record_failed.endswith("the summary above counts no round trip or LLM call the database holds")
