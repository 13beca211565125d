"""The ``Store`` contract, run against every implementation: in memory, SQLite and PostgreSQL.

Each test reads as the sentence it checks; ``make_store``/``store`` come from conftest.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from itertools import count, product

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trader_core.model.commands import CommandName, CommandStatus, OperatorCommand
from trader_core.model.errors import InvalidDataError, InvalidValueError, StoreError
from trader_core.model.health import TradingState, TradingStatus
from trader_core.model.ids import Asset, ClientOrderId, PlanId, RunId, Symbol, TradeId, VenueOrderId
from trader_core.model.lease import Lease
from trader_core.model.market import Candle, Timeframe
from trader_core.model.money import Money, Price, Quantity
from trader_core.model.orders import Fill, Liquidity, OrderRequest, OrderType, Side
from trader_core.model.plans import ExitReason, Plan, PlanStatus
from trader_core.model.records import FillRecord, IntentStatus, OrderRole, RunRecord, RunStatus, TrackedOrder
from trader_core.model.stats import DayStats, Holding, LedgerSnapshot, LedgerTotals, StatsScope
from trader_core.ports.store import Store

MakeStore = Callable[[str], Store]

T0 = datetime(2025, 5, 20, 0, 1, 0, 123456, tzinfo=UTC)
BTC_USDT = Symbol.parse("BTC/USDT")
R1, R2 = RunId("run-1"), RunId("run-2")
_ids = count(1)

few_examples = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def a_run(run_id: RunId = R1, *, started_at: datetime = T0, **changes: object) -> RunRecord:
    return RunRecord(run_id=run_id, mode="paper", started_at=started_at, **changes)  # type: ignore[arg-type]


def an_order(
    coid: str,
    *,
    run_id: RunId = R1,
    status: IntentStatus = IntentStatus.OPEN,
    created_at: datetime = T0,
    **changes: object,
) -> TrackedOrder:
    request = OrderRequest(
        client_order_id=ClientOrderId(coid),
        symbol=BTC_USDT,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=Quantity("0.00000001"),
        price=Price("123456789.123456789"),
    )
    return TrackedOrder(
        run_id=run_id, request=request, role=OrderRole.ENTRY, status=status,
        created_at=created_at, updated_at=created_at, **changes,  # type: ignore[arg-type]
    )


def a_fill(
    trade_id: str,
    *,
    run_id: RunId = R1,
    symbol: Symbol = BTC_USDT,
    time: datetime = T0,
    realized_pnl: Decimal = Decimal("-1.5"),
    fee_quote: Decimal = Decimal("0.00000001"),
    venue: str = "binance",
) -> FillRecord:
    fill = Fill(
        trade_id=TradeId(trade_id), venue_order_id=VenueOrderId("v-1"), client_order_id=ClientOrderId("c-1"),
        symbol=symbol, side=Side.SELL, price=Price("67000.12345678"), quantity=Quantity("0.00123000"),
        fee=Money(Decimal("0.0000001"), Asset("BNB")), time=time, liquidity=Liquidity.MAKER,
    )
    return FillRecord(
        run_id=run_id, venue=venue, fill=fill, plan_id=PlanId("p-1"), role=OrderRole.EXIT,
        realized_pnl=realized_pnl, fee_quote=fee_quote,
    )


def a_plan(
    plan_id: str, *, run_id: RunId = R1, status: PlanStatus = PlanStatus.OPEN, opened_at: datetime = T0
) -> Plan:
    return Plan(
        plan_id=PlanId(plan_id), run_id=run_id, symbol=BTC_USDT, side=Side.BUY, status=status,
        entry_client_order_id=ClientOrderId(f"entry-{plan_id}"), opened_at=opened_at,
    )


def full_plan(plan_id: str = "p-full") -> Plan:
    return attrs.evolve(
        a_plan(plan_id),
        quantity=Quantity("0.00000001"), entry_price=Price("123456789.123456789"), entry_filled=Quantity("0.00000002"),
        stop_price=Price("60000.5"), target_price=Price("70000.25"),
        stop_pct=Decimal("1.25"), target_pct=Decimal("2.500"), version=3,
        closed_at=at(90), exit_reason=ExitReason.TRAIL, reason="trailing stop hit",
    )


def seed(store: Store, *, runs: tuple[RunRecord, ...] = (), orders: tuple[TrackedOrder, ...] = (),
         plans: tuple[Plan, ...] = (), fills: tuple[FillRecord, ...] = ()) -> None:
    with store.unit_of_work() as uow:
        for run in runs:
            uow.runs.add(run)
        for order in orders:
            uow.orders.add(order)
        for plan in plans:
            uow.plans.add(plan)
        for record in fills:
            uow.fills.add(record)
        uow.commit()


# --- round trips ------------------------------------------------------------------------------------


def test_every_record_type_round_trips_exactly(store: Store) -> None:
    run = a_run(status=RunStatus.FINISHED, finished_at=at(120), config_json='{"a": 1}', summary_json='{"pnl": "1"}')
    order = an_order(
        "c-full", plan_id=PlanId("p-full"), venue_order_id=VenueOrderId("v-9"),
        filled_quantity=Quantity("0.00000001"), exit_reason=ExitReason.STOP, reason="stopped out",
    )
    stop = attrs.evolve(
        an_order("c-stop"),
        request=OrderRequest(
            client_order_id=ClientOrderId("c-stop"), symbol=Symbol.parse("ETH/BTC"), side=Side.SELL,
            order_type=OrderType.STOP_LOSS, quantity=Quantity("1.000"), stop_price=Price("0.05"),
        ),
        role=OrderRole.STOP,
    )
    post_only = attrs.evolve(
        an_order("c-post"),
        request=attrs.evolve(an_order("c-post").request, post_only=True),
    )
    record = a_fill("t-1", realized_pnl=Decimal("123456789.123456789"))
    plan = full_plan()
    seed(store, runs=(run,), orders=(order, stop, post_only), plans=(plan,), fills=(record,))

    with store.unit_of_work() as uow:
        assert uow.runs.find(R1) == run
        assert uow.orders.find(ClientOrderId("c-full")) == order
        assert uow.orders.find(ClientOrderId("c-stop")) == stop
        assert uow.orders.find(ClientOrderId("c-post")) == post_only
        assert uow.plans.find(PlanId("p-full")) == plan
        (loaded,) = uow.fills.list_all()
    assert loaded == record
    # Equal is not enough for money: the digits and exponent must survive too.
    assert str(loaded.realized_pnl) == "123456789.123456789"
    assert str(loaded.fee_quote) == str(Decimal("0.00000001"))
    assert str(loaded.fill.quantity.value) == "0.00123000"
    assert loaded.fill.time.utcoffset() == timedelta(0)


def test_absent_optional_fields_come_back_as_none(store: Store) -> None:
    run = a_run()
    market = attrs.evolve(
        an_order("c-market"),
        request=OrderRequest(
            client_order_id=ClientOrderId("c-market"), symbol=BTC_USDT, side=Side.BUY,
            order_type=OrderType.MARKET, quantity=Quantity("2"),
        ),
    )
    record = attrs.evolve(a_fill("t-1"), plan_id=None, fill=attrs.evolve(a_fill("t-1").fill, client_order_id=None))
    plan = a_plan("p-bare")
    seed(store, runs=(run,), orders=(market,), plans=(plan,), fills=(record,))

    with store.unit_of_work() as uow:
        assert uow.runs.find(R1) == run
        assert uow.runs.find(R1).finished_at is None  # type: ignore[union-attr]
        assert uow.orders.find(ClientOrderId("c-market")) == market
        assert uow.plans.find(PlanId("p-bare")) == plan
        assert uow.fills.list_all() == (record,)


def test_every_enum_value_round_trips(store: Store) -> None:
    combinations = product(IntentStatus, OrderRole, (*ExitReason, None), Side)
    orders = tuple(
        attrs.evolve(
            an_order(f"c-{i}", status=status, exit_reason=reason, created_at=at(i)),
            role=role,
            request=attrs.evolve(an_order(f"c-{i}").request, side=side),
        )
        for i, (status, role, reason, side) in enumerate(combinations)
    )
    plans = tuple(
        attrs.evolve(a_plan(f"p-{i}", status=status, opened_at=at(i)), side=side, exit_reason=reason)
        for i, (status, side, reason) in enumerate(product(PlanStatus, Side, (*ExitReason, None)))
    )
    runs = tuple(a_run(RunId(f"r-{status.value}"), status=status) for status in RunStatus)
    fills = tuple(
        attrs.evolve(a_fill(f"t-{liquidity.value}-{role.value}"), role=role,
                     fill=attrs.evolve(a_fill(f"t-{liquidity.value}-{role.value}").fill, liquidity=liquidity))
        for liquidity in Liquidity for role in OrderRole
    )
    seed(store, runs=runs, orders=orders, plans=plans, fills=fills)
    with store.unit_of_work() as uow:
        assert uow.orders.list_for_run(R1) == orders
        assert uow.plans.list_for_run(R1) == plans
        assert tuple(uow.runs.find(run.run_id) for run in runs) == runs
        assert uow.fills.list_all() == fills


finite_decimals = st.decimals(allow_nan=False, allow_infinity=False)
utc_times = st.datetimes(timezones=st.just(UTC))


@few_examples
@given(pnl=finite_decimals, fee=finite_decimals)
def test_any_finite_decimal_round_trips_with_its_exact_digits(store: Store, pnl: Decimal, fee: Decimal) -> None:
    record = a_fill(f"t-{next(_ids)}", realized_pnl=pnl, fee_quote=fee)
    with store.unit_of_work() as uow:
        assert uow.fills.add(record)
        uow.commit()
    with store.unit_of_work() as uow:
        loaded = uow.fills.list_all()[-1]
    assert (str(loaded.realized_pnl), str(loaded.fee_quote)) == (str(pnl), str(fee))


@few_examples
@given(time=utc_times)
def test_any_utc_time_round_trips_to_the_microsecond(store: Store, time: datetime) -> None:
    run = a_run(RunId(f"run-{next(_ids)}"), started_at=time, finished_at=time)
    seed(store, runs=(run,))
    with store.unit_of_work() as uow:
        loaded = uow.runs.find(run.run_id)
    assert loaded is not None
    assert loaded.started_at == time
    assert loaded.started_at.utcoffset() == timedelta(0)
    assert loaded.started_at.microsecond == time.microsecond


# --- transactions -----------------------------------------------------------------------------------


def test_uncommitted_work_is_rolled_back(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.runs.add(a_run())
        uow.orders.add(an_order("c-1"))
        uow.plans.add(a_plan("p-1"))
        uow.fills.add(a_fill("t-1"))
        assert uow.runs.find(R1) is not None  # visible inside the unit
    with store.unit_of_work() as uow:
        assert uow.runs.find(R1) is None
        assert uow.orders.find(ClientOrderId("c-1")) is None
        assert uow.plans.find(PlanId("p-1")) is None
        assert uow.fills.list_all() == ()


def test_work_is_rolled_back_when_the_block_raises(store: Store) -> None:
    def crash_after_a_write() -> None:
        with store.unit_of_work() as uow:
            uow.runs.add(a_run())
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        crash_after_a_write()
    with store.unit_of_work() as uow:
        assert uow.runs.find(R1) is None


def test_rollback_discards_only_the_uncommitted_writes(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.runs.add(a_run(R1))
        uow.commit()
        uow.runs.add(a_run(R2))
        uow.rollback()
        assert uow.runs.find(R2) is None
        uow.orders.add(an_order("c-1"))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.runs.find(R1) is not None
        assert uow.runs.find(R2) is None
        assert uow.orders.find(ClientOrderId("c-1")) is not None


def test_committed_work_is_seen_by_another_store_of_the_same_bot(make_store: MakeStore) -> None:
    seed(make_store("bot-a"), runs=(a_run(),))
    with make_store("bot-a").unit_of_work() as uow:
        assert uow.runs.find(R1) == a_run()


@pytest.mark.parametrize(
    "add_twice",
    [
        pytest.param(lambda uow: uow.runs.add(a_run()), id="run"),
        pytest.param(lambda uow: uow.orders.add(an_order("c-1")), id="order"),
        pytest.param(lambda uow: uow.plans.add(a_plan("p-1")), id="plan"),
    ],
)
def test_adding_a_duplicate_raises_and_rolls_back_the_unit(store: Store, add_twice: Callable[..., None]) -> None:
    with store.unit_of_work() as uow:
        add_twice(uow)
        uow.commit()
    with store.unit_of_work() as uow:
        uow.runs.add(a_run(R2))
        with pytest.raises(StoreError):
            add_twice(uow)
        with pytest.raises(StoreError):  # the unit is unusable after a failure...
            uow.commit()
    with store.unit_of_work() as uow:
        assert uow.runs.find(R2) is None  # ...and its earlier writes are gone


@pytest.mark.parametrize(
    "update_unknown",
    [
        pytest.param(lambda uow: uow.runs.update(a_run()), id="run"),
        pytest.param(lambda uow: uow.orders.update(an_order("c-1")), id="order"),
        pytest.param(lambda uow: uow.plans.update(a_plan("p-1").evolve()), id="plan"),
    ],
)
def test_updating_an_unknown_record_raises(store: Store, update_unknown: Callable[..., None]) -> None:
    with store.unit_of_work() as uow, pytest.raises(StoreError, match="no such"):
        update_unknown(uow)


def test_updates_replace_runs_and_orders(store: Store) -> None:
    seed(store, runs=(a_run(),), orders=(an_order("c-1"),))
    finished = a_run(status=RunStatus.FAILED, finished_at=at(5), summary_json="{}")
    filled = attrs.evolve(
        an_order("c-1"), status=IntentStatus.FILLED, updated_at=at(3), filled_quantity=Quantity("0.00000001"),
        venue_order_id=VenueOrderId("v-1"),
    )
    with store.unit_of_work() as uow:
        uow.runs.update(finished)
        uow.orders.update(filled)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.runs.find(R1) == finished
        assert uow.orders.find(ClientOrderId("c-1")) == filled


# --- plans: optimistic versions ---------------------------------------------------------------------


def test_a_plan_update_with_the_next_version_is_stored(store: Store) -> None:
    plan = a_plan("p-1")
    seed(store, plans=(plan,))
    v2 = plan.evolve(status=PlanStatus.CLOSED, closed_at=at(10), exit_reason=ExitReason.TARGET)
    with store.unit_of_work() as uow:
        uow.plans.update(v2)
        uow.plans.update(v2.evolve(reason="closed"))
        uow.commit()
    with store.unit_of_work() as uow:
        stored = uow.plans.find(PlanId("p-1"))
    assert stored == v2.evolve(reason="closed")
    assert stored is not None
    assert stored.version == 3


def test_a_plan_read_back_keeps_what_its_entry_bought(store: Store) -> None:
    """A plan whose entry filled in part is read back (a restart) with the quantity its entry bought, so a later
    entry fill averages the entry price over both fills, not over itself alone."""
    plan = a_plan("p-1")
    seed(store, plans=(plan,))
    part = plan.evolve(status=PlanStatus.OPEN, quantity=Quantity("0.01"), entry_filled=Quantity("0.01"),
                       entry_price=Price("100000"))
    with store.unit_of_work() as uow:
        uow.plans.update(part)
        uow.commit()
    with store.unit_of_work() as uow:
        stored = uow.plans.find(PlanId("p-1"))
    assert stored is not None
    assert stored.entry_filled == Quantity("0.01")
    assert stored == part


@pytest.mark.parametrize("version", [1, 3, 5])
def test_a_plan_version_conflict_raises_and_changes_nothing(store: Store, version: int) -> None:
    plan = a_plan("p-1")
    seed(store, plans=(plan,))
    with store.unit_of_work() as uow:
        uow.orders.add(an_order("c-1"))
        with pytest.raises(StoreError, match="version conflict"):
            uow.plans.update(attrs.evolve(plan, version=version, status=PlanStatus.CANCELLED))
    with store.unit_of_work() as uow:
        assert uow.plans.find(PlanId("p-1")) == plan
        assert uow.orders.find(ClientOrderId("c-1")) is None


def test_concurrent_writers_of_one_plan_version_never_both_win(make_store: MakeStore) -> None:
    plan = a_plan("p-1")
    seed(make_store("bot-a"), plans=(plan,))
    stores = [make_store("bot-a") for _ in range(4)]
    outcomes: list[str] = []

    def write(store: Store, reason: str) -> None:
        try:
            with store.unit_of_work() as uow:
                uow.plans.update(plan.evolve(reason=reason))
                uow.commit()
            outcomes.append(reason)
        except StoreError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=write, args=(s, f"writer-{i}")) for i, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if o != "conflict"]
    assert len(winners) == 1
    assert outcomes.count("conflict") == 3
    with stores[0].unit_of_work() as uow:
        stored = uow.plans.find(PlanId("p-1"))
    assert stored is not None
    assert (stored.version, stored.reason) == (2, winners[0])


# --- fills ------------------------------------------------------------------------------------------


def test_a_duplicate_fill_returns_false_and_the_other_writes_still_commit(store: Store) -> None:
    seed(store, fills=(a_fill("t-1"),))
    with store.unit_of_work() as uow:
        assert uow.fills.add(a_fill("t-2"))
        assert not uow.fills.add(attrs.evolve(a_fill("t-1"), realized_pnl=Decimal(99)))
        assert not uow.fills.add(a_fill("t-2"))
        uow.orders.add(an_order("c-1"))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.fills.list_all() == (a_fill("t-1"), a_fill("t-2"))
        assert uow.orders.find(ClientOrderId("c-1")) is not None


def test_a_fill_is_identified_by_venue_symbol_and_trade_id(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert uow.fills.add(a_fill("t-1"))
        assert uow.fills.add(a_fill("t-1", symbol=Symbol.parse("ETH/USDT")))
        assert uow.fills.add(a_fill("t-1", venue="paper"))
        assert not uow.fills.add(a_fill("t-1", run_id=R2, time=at(1)))
        uow.commit()
    with store.unit_of_work() as uow:
        assert len(uow.fills.list_all()) == 3


def test_fills_are_listed_in_booking_order_and_by_run(store: Store) -> None:
    late, early, other = a_fill("t-late", time=at(9)), a_fill("t-early", time=at(1)), a_fill("t-x", run_id=R2)
    seed(store, fills=(late, other))
    seed(store, fills=(early,))
    with store.unit_of_work() as uow:
        assert uow.fills.list_all() == (late, other, early)
        assert uow.fills.list_for_run(R1) == (late, early)
        assert uow.fills.list_for_run(RunId("nope")) == ()


# --- listing ----------------------------------------------------------------------------------------


def test_active_orders_are_listed_oldest_first_and_filtered_by_run(store: Store) -> None:
    newest = an_order("c-new", created_at=at(3), status=IntentStatus.UNKNOWN)
    oldest = an_order("c-old", created_at=at(1), status=IntentStatus.PENDING_SUBMIT)
    middle = an_order("c-mid", created_at=at(2), status=IntentStatus.PARTIALLY_FILLED, run_id=R2)
    done = [an_order(f"c-{s.value}", created_at=at(0), status=s) for s in IntentStatus if not s.is_active]
    seed(store, orders=(newest, *done, oldest, middle))
    with store.unit_of_work() as uow:
        assert uow.orders.list_active() == (oldest, middle, newest)
        assert uow.orders.list_active(R1) == (oldest, newest)
        assert uow.orders.list_active(R2) == (middle,)
        assert uow.orders.list_for_run(R1) == (*done, oldest, newest)
        assert uow.orders.list_for_run(RunId("nope")) == ()


def test_orders_created_at_the_same_time_keep_the_order_they_were_stored_in(store: Store) -> None:
    orders = tuple(an_order(f"c-{i}", created_at=T0) for i in (5, 1, 3))
    seed(store, orders=orders)
    with store.unit_of_work() as uow:
        assert uow.orders.list_for_run(R1) == orders


def test_recent_orders_are_the_last_stored_of_the_bot_whatever_their_status_newest_first(
        make_store: MakeStore) -> None:
    # What a restarted bot hands its venue adapter (OrderIdMemory): the last intents it stored, whichever run
    # stored them and whatever became of them; never another bot's.
    store, theirs = make_store("bot-a"), make_store("bot-b")
    first = an_order("c-first", created_at=at(3), status=IntentStatus.FILLED)
    second = an_order("c-second", created_at=at(1), status=IntentStatus.OPEN, run_id=R2)
    third = an_order("c-third", created_at=at(2), status=IntentStatus.FAILED)
    seed(store, orders=(first, second))
    seed(theirs, orders=(an_order("c-theirs", created_at=at(9)),))
    seed(store, orders=(third,))
    with store.unit_of_work() as uow:
        assert uow.orders.list_recent(2) == (third, second)
        assert uow.orders.list_recent(10) == (third, second, first)
        with pytest.raises(StoreError):
            uow.orders.list_recent(0)


def test_active_plans_are_listed_oldest_first_and_filtered_by_run(store: Store) -> None:
    pending = a_plan("p-pending", status=PlanStatus.PENDING, opened_at=at(2))
    open_ = a_plan("p-open", status=PlanStatus.OPEN, opened_at=at(1))
    other = a_plan("p-other", status=PlanStatus.OPEN, opened_at=at(3), run_id=R2)
    closed = a_plan("p-closed", status=PlanStatus.CLOSED, opened_at=at(0))
    cancelled = a_plan("p-cancelled", status=PlanStatus.CANCELLED, opened_at=at(4))
    seed(store, plans=(pending, closed, other, open_, cancelled))
    with store.unit_of_work() as uow:
        assert uow.plans.list_active() == (open_, pending, other)
        assert uow.plans.list_active(R1) == (open_, pending)
        assert uow.plans.list_for_run(R1) == (closed, open_, pending, cancelled)


def test_the_latest_run_is_the_most_recently_started(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert uow.runs.find_latest() is None
    seed(store, runs=(a_run(R2, started_at=at(10)), a_run(R1, started_at=at(5)), a_run(RunId("r-3"), started_at=at(7))))
    with store.unit_of_work() as uow:
        assert uow.runs.find_latest() == a_run(R2, started_at=at(10))


def test_finding_an_unknown_record_gives_none(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert uow.runs.find(R1) is None
        assert uow.orders.find(ClientOrderId("c-1")) is None
        assert uow.plans.find(PlanId("p-1")) is None


# --- sequences --------------------------------------------------------------------------------------


def test_sequences_start_at_one_and_increment_per_name(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert [uow.sequences.next("order") for _ in range(3)] == [1, 2, 3]
        assert uow.sequences.next("plan") == 1
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.sequences.next("order") == 4  # rolled back below
    with store.unit_of_work() as uow:
        assert uow.sequences.next("order") == 4
        assert uow.sequences.next("plan") == 2


def test_concurrent_sequence_users_never_get_the_same_number(make_store: MakeStore) -> None:
    stores = [make_store("bot-a") for _ in range(4)]
    taken: list[int] = []
    lock = threading.Lock()

    def take(store: Store) -> None:
        for _ in range(5):
            with store.unit_of_work() as uow:
                value = uow.sequences.next("ids")
                uow.commit()
            with lock:
                taken.append(value)

    threads = [threading.Thread(target=take, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == list(range(1, 21))


# --- isolation between bots -------------------------------------------------------------------------


def test_two_bots_in_one_database_never_see_each_others_rows(make_store: MakeStore) -> None:
    alice, bob = make_store("alice"), make_store("bob")
    seed(alice, runs=(a_run(),), orders=(an_order("c-1"),), plans=(a_plan("p-1"),), fills=(a_fill("t-1"),))
    with alice.unit_of_work() as uow:
        assert uow.sequences.next("ids") == 1
        assert uow.sequences.next("ids") == 2
        uow.commit()

    with bob.unit_of_work() as uow:
        assert uow.runs.find(R1) is None
        assert uow.runs.find_latest() is None
        assert uow.orders.find(ClientOrderId("c-1")) is None
        assert uow.orders.list_active() == ()
        assert uow.orders.list_for_run(R1) == ()
        assert uow.plans.find(PlanId("p-1")) is None
        assert uow.plans.list_active() == ()
        assert uow.plans.list_for_run(R1) == ()
        assert uow.fills.list_all() == ()
        assert uow.fills.list_for_run(R1) == ()
        assert uow.sequences.next("ids") == 1
        with pytest.raises(StoreError):
            uow.plans.update(a_plan("p-1").evolve())
    # The same ids are free for the other bot.
    seed(bob, runs=(a_run(),), orders=(an_order("c-1"),), plans=(a_plan("p-1"),), fills=(a_fill("t-1"),))
    with alice.unit_of_work() as uow:
        assert len(uow.fills.list_all()) == 1
        assert uow.orders.list_active() == (an_order("c-1"),)


# --- refused values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_time",
    [
        pytest.param(datetime(2025, 5, 20, 0, 1), id="naive"),  # the point of the test
        pytest.param(datetime(2025, 5, 20, 2, 1, tzinfo=timezone(timedelta(hours=2))), id="not-utc"),
    ],
)
def test_a_time_that_is_not_aware_utc_is_refused(store: Store, bad_time: datetime) -> None:
    # The records refuse it at construction, so nothing naive can even reach a store.
    with pytest.raises(InvalidDataError, match="UTC"):
        a_run(started_at=bad_time)
    with pytest.raises(InvalidDataError, match="UTC"):
        an_order("c-1", created_at=bad_time)
    with store.unit_of_work() as uow:
        assert uow.runs.find(R1) is None


def test_a_float_where_a_decimal_belongs_is_refused(store: Store) -> None:
    with pytest.raises(InvalidValueError, match="float"):
        a_fill("t-1", realized_pnl=0.1)  # type: ignore[arg-type]
    with store.unit_of_work() as uow:
        assert uow.fills.list_all() == ()


def test_a_closed_store_refuses_new_units_of_work_and_closes_twice(store: Store) -> None:
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"), store.unit_of_work():
        pass


# --- fills: streaming, counting, lookup (0002) --------------------------------------------------------


def test_fills_stream_in_booking_order_in_batches_and_by_run(store: Store) -> None:
    fills = tuple(a_fill(f"t-{i}", run_id=R1 if i % 3 else R2, time=at(10 - i)) for i in range(7))
    seed(store, fills=fills)
    with store.unit_of_work() as uow:
        assert tuple(uow.fills.iter_all(batch=2)) == fills
        assert tuple(uow.fills.iter_all(R2, batch=1)) == tuple(f for f in fills if f.run_id == R2)
        assert (uow.fills.count(), uow.fills.count(R1), uow.fills.count(RunId("nope"))) == (7, 4, 0)


def test_a_unit_of_work_that_streamed_fills_can_still_write_as_a_rebuild_does(store: Store) -> None:
    # The rebuild's sequence: stream the fills, count them, replace the cached ledger (a DELETE), commit.
    # The stream's server-side cursor (PostgreSQL) must stay with its SELECT, not with the later statements.
    fills = tuple(a_fill(f"t-{i}") for i in range(3))
    seed(store, fills=fills)
    with store.unit_of_work() as uow:
        assert tuple(uow.fills.iter_all(R1, batch=2)) == fills
        assert uow.fills.count(R1) == 3
        uow.ledger.replace(a_snapshot())
        uow.ledger.replace(a_snapshot())
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.ledger.find(RUN_SCOPE) == a_snapshot()


def test_a_stored_fills_identity_is_found_and_an_unknown_one_is_not(store: Store) -> None:
    seed(store, fills=(a_fill("t-1"),))
    with store.unit_of_work() as uow:
        assert uow.fills.contains("binance", BTC_USDT, "t-1")
        assert not uow.fills.contains("paper", BTC_USDT, "t-1")
        assert not uow.fills.contains("binance", Symbol.parse("ETH/USDT"), "t-1")


def test_a_fee_rate_and_its_source_round_trip_with_the_fill_and_default_to_none(store: Store) -> None:
    rated = attrs.evolve(a_fill("t-1"), fee_rate=Decimal("612.345678901234567890"), fee_rate_source="quote:BNB/USDT")
    seed(store, fills=(rated, a_fill("t-2")))
    with store.unit_of_work() as uow:
        loaded, plain = uow.fills.list_all()
        streamed = tuple(uow.fills.iter_all())
    assert loaded == rated == streamed[0]
    assert str(loaded.fee_rate) == "612.345678901234567890"
    assert (plain.fee_rate, plain.fee_rate_source) == (None, None)


def test_an_orders_estimated_fee_round_trips(store: Store) -> None:
    order = an_order("c-1", estimated_fee=Decimal("0.123456789"))
    seed(store, orders=(order, an_order("c-2")))
    with store.unit_of_work() as uow:
        assert uow.orders.find(ClientOrderId("c-1")) == order
        assert uow.orders.find(ClientOrderId("c-2")).estimated_fee is None  # type: ignore[union-attr]


# --- the cached ledger (0002) -------------------------------------------------------------------------

RUN_SCOPE, BOT_SCOPE = StatsScope(R1), StatsScope()


def a_snapshot(scope: StatsScope = RUN_SCOPE, *, fills: int = 3) -> LedgerSnapshot:
    return LedgerSnapshot(
        scope=scope, day_timezone="Europe/Zurich",
        totals=LedgerTotals(fills=fills, realized_pnl=Decimal("12.000000000000000001"), fees=Decimal("0.30"),
                            cash=Decimal("-1000.5")),
        holdings=(Holding(BTC_USDT, Decimal("0.00123000"), Decimal("82.5")), Holding(Symbol.parse("ETH/USDT"))),
        fees_by_asset=(Money(Decimal("0.0003"), Asset("BNB")), Money(Decimal("0.29"), Asset("USDT"))),
        days=(DayStats(day=date(2025, 5, 19), fills=1, cash=Decimal(-1000)),
              DayStats(day=date(2025, 5, 20), fills=2, realized_pnl=Decimal(12), fees=Decimal("0.3"))),
    )


def test_a_ledger_snapshot_round_trips_exactly_per_scope(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert uow.ledger.find(RUN_SCOPE) is None
        uow.ledger.replace(a_snapshot())
        uow.ledger.replace(a_snapshot(BOT_SCOPE, fills=9))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.ledger.find(RUN_SCOPE) == a_snapshot()
        assert uow.ledger.find(BOT_SCOPE) == a_snapshot(BOT_SCOPE, fills=9)
        assert uow.ledger.scopes() == (BOT_SCOPE, RUN_SCOPE)
        loaded = uow.ledger.find(RUN_SCOPE)
    assert loaded is not None
    assert str(loaded.totals.realized_pnl) == "12.000000000000000001"
    assert str(loaded.holdings[0].quantity) == "0.00123000"


def test_saving_one_bookings_rows_creates_or_replaces_only_those_rows(store: Store) -> None:
    seed_snapshot = a_snapshot()
    with store.unit_of_work() as uow:
        uow.ledger.replace(seed_snapshot)
        uow.commit()
    moved = Holding(BTC_USDT, Decimal(1), Decimal(100))
    day = DayStats(day=date(2025, 5, 21), fills=1, cash=Decimal(-100))
    totals = LedgerTotals(fills=4, realized_pnl=Decimal(12), fees=Decimal("0.4"), cash=Decimal("-1100.5"))
    with store.unit_of_work() as uow:
        uow.ledger.save_totals(RUN_SCOPE, "Europe/Zurich", totals)
        uow.ledger.save_holding(RUN_SCOPE, moved)
        uow.ledger.save_fee(RUN_SCOPE, Money(Decimal("0.39"), Asset("USDT")))
        uow.ledger.save_day(RUN_SCOPE, day)
        uow.ledger.save_fee(BOT_SCOPE, Money(Decimal(1), Asset("BTC")))
        uow.commit()
    with store.unit_of_work() as uow:
        loaded = uow.ledger.find(RUN_SCOPE)
        assert uow.ledger.find(BOT_SCOPE) is None  # fee rows alone are no cached ledger
    assert loaded == attrs.evolve(
        seed_snapshot, totals=totals, holdings=(moved, seed_snapshot.holdings[1]),
        fees_by_asset=(seed_snapshot.fees_by_asset[0], Money(Decimal("0.39"), Asset("USDT"))),
        days=(*seed_snapshot.days, day),
    )


def test_ledger_writes_roll_back_with_their_unit_of_work(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.ledger.replace(a_snapshot())
        uow.fills.add(a_fill("t-1"))
    with store.unit_of_work() as uow:
        assert uow.ledger.find(RUN_SCOPE) is None
        assert uow.fills.count() == 0


def test_two_bots_never_see_each_others_ledger(make_store: MakeStore) -> None:
    alice, bob = make_store("alice"), make_store("bob")
    with alice.unit_of_work() as uow:
        uow.ledger.replace(a_snapshot())
        uow.commit()
    with bob.unit_of_work() as uow:
        assert uow.ledger.find(RUN_SCOPE) is None
        assert uow.ledger.scopes() == ()
        assert uow.fills.count() == 0


# --- the trading state (ExchangeHealthManager) ---------------------------------------------------------


def a_status(state: str = "reducing", **changes: object) -> TradingStatus:
    fields: dict[str, object] = {
        "state": TradingState(state), "since": T0, "reason": "exchange circuit tripped at fetch_candles BTC/USDT",
        "source": "circuit:exchange", "until": at(1) if state == "reducing" else None,
    }
    fields.update(changes)
    return TradingStatus(**fields)  # type: ignore[arg-type]


def test_no_trading_state_is_stored_until_one_is_put(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert uow.trading_state.find() is None


@pytest.mark.parametrize("state", ["active", "reducing", "halted"])
def test_a_trading_state_put_reloads_identically(store: Store, state: str) -> None:
    status = a_status(state)
    with store.unit_of_work() as uow:
        uow.trading_state.put(status)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.trading_state.find() == status


def test_putting_a_trading_state_replaces_the_previous_one(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.trading_state.put(a_status("reducing"))
        uow.commit()
    halted = a_status("halted", since=at(2), reason="authentication failed", source="exchange:authentication")
    with store.unit_of_work() as uow:
        uow.trading_state.put(halted)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.trading_state.find() == halted


def test_a_trading_state_not_committed_is_not_stored(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.trading_state.put(a_status("halted"))
    with store.unit_of_work() as uow:
        assert uow.trading_state.find() is None


def test_two_bots_never_see_each_others_trading_state(make_store: MakeStore) -> None:
    alice, bob = make_store("alice"), make_store("bob")
    with alice.unit_of_work() as uow:
        uow.trading_state.put(a_status("halted"))
        uow.commit()
    with bob.unit_of_work() as uow:
        assert uow.trading_state.find() is None


# --- small named values -------------------------------------------------------------------------------


def test_named_values_round_trip_replace_and_roll_back(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert uow.values.find("cursor") is None
        uow.values.put("cursor", '{"BTC/USDT": "2025-01-01T00:00:00+00:00"}')
        uow.commit()
    with store.unit_of_work() as uow:
        uow.values.put("cursor", "second")
        uow.commit()
    with store.unit_of_work() as uow:
        uow.values.put("cursor", "never committed")
    with store.unit_of_work() as uow:
        assert uow.values.find("cursor") == "second"


def test_named_values_belong_to_their_bot(make_store: MakeStore) -> None:
    alpha, beta = make_store("alpha"), make_store("beta")
    with alpha.unit_of_work() as uow:
        uow.values.put("k", "alpha's")
        uow.commit()
    with beta.unit_of_work() as uow:
        assert uow.values.find("k") is None


def test_a_value_key_must_be_short_and_non_empty(store: Store) -> None:
    with pytest.raises(StoreError), store.unit_of_work() as uow:
        uow.values.put("", "x")


# --- captured candles -----------------------------------------------------------------------------------


def a_candle(minute: int, *, close: str = "100.5", symbol: Symbol = BTC_USDT, timeframe: str = "1m") -> Candle:
    return Candle(symbol=symbol, timeframe=Timeframe(timeframe),
                  open_time=datetime(2025, 5, 20, tzinfo=UTC) + timedelta(minutes=minute),
                  open=Decimal("100.1"), high=Decimal("101.25"), low=Decimal("99.000001"), close=Decimal(close),
                  volume=Decimal("12.50000000"))


def test_captured_candles_round_trip_exactly_oldest_first(store: Store) -> None:
    candles = [a_candle(m) for m in (3, 1, 2)]
    with store.unit_of_work() as uow:
        assert uow.candles.upsert(candles) == 3
        uow.commit()
    with store.unit_of_work() as uow:
        stored = uow.candles.list_for(BTC_USDT, Timeframe("1m"))
        assert stored == tuple(sorted(candles, key=lambda c: c.open_time))
        assert [str(c.volume) for c in stored] == ["12.50000000"] * 3
        assert uow.candles.list_for(BTC_USDT, Timeframe("1m"), limit=2) == stored[1:]
        assert uow.candles.count(BTC_USDT, Timeframe("1m")) == 3
        assert uow.candles.stored_keys() == ((BTC_USDT, Timeframe("1m")),)


def test_capturing_a_candle_again_replaces_it_never_duplicates_it(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.candles.upsert([a_candle(1), a_candle(2)])
        uow.commit()
    with store.unit_of_work() as uow:
        # The same key twice in one batch too: the last one wins.
        uow.candles.upsert([a_candle(2, close="100.9"), a_candle(2, close="101"), a_candle(3)])
        uow.commit()
    with store.unit_of_work() as uow:
        stored = uow.candles.list_for(BTC_USDT, Timeframe("1m"))
        assert [c.open_time.minute for c in stored] == [1, 2, 3]
        assert stored[1].close == Decimal(101)


def test_candle_keys_are_symbol_and_timeframe(store: Store) -> None:
    eth = Symbol.parse("ETH/USDT")
    with store.unit_of_work() as uow:
        uow.candles.upsert([a_candle(0), a_candle(0, timeframe="5m"), a_candle(0, symbol=eth)])
        uow.commit()
    with store.unit_of_work() as uow:
        m1, m5 = Timeframe("1m"), Timeframe("5m")
        assert uow.candles.stored_keys() == ((BTC_USDT, m1), (BTC_USDT, m5), (eth, m1))
        assert all(uow.candles.count(s, t) == 1 for s, t in uow.candles.stored_keys())


def test_pruning_keeps_the_newest_rows_of_one_key_and_drops_those_too_old(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.candles.upsert([a_candle(m) for m in range(10)] + [a_candle(m, timeframe="5m") for m in range(3)])
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.candles.prune(BTC_USDT, Timeframe("1m"), keep=4) == 6
        assert [c.open_time.minute for c in uow.candles.list_for(BTC_USDT, Timeframe("1m"))] == [6, 7, 8, 9]
        cutoff = datetime(2025, 5, 20, 0, 8, tzinfo=UTC)
        assert uow.candles.prune(BTC_USDT, Timeframe("1m"), keep=100, older_than=cutoff) == 2
        assert [c.open_time.minute for c in uow.candles.list_for(BTC_USDT, Timeframe("1m"))] == [8, 9]
        assert uow.candles.count(BTC_USDT, Timeframe("5m")) == 3  # another key is untouched
        assert uow.candles.prune(BTC_USDT, Timeframe("5m"), keep=0) == 3
        assert uow.candles.prune(BTC_USDT, Timeframe("4h"), keep=1) == 0
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.candles.stored_keys() == ((BTC_USDT, Timeframe("1m")),)


def test_uncommitted_candles_are_rolled_back(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.candles.upsert([a_candle(1)])
        uow.commit()
    with store.unit_of_work() as uow:
        uow.candles.upsert([a_candle(2)])
        uow.candles.prune(BTC_USDT, Timeframe("1m"), keep=0)
    with store.unit_of_work() as uow:
        assert [c.open_time.minute for c in uow.candles.list_for(BTC_USDT, Timeframe("1m"))] == [1]


def test_captured_candles_belong_to_their_bot(make_store: MakeStore) -> None:
    alpha, beta = make_store("alpha"), make_store("beta")
    with alpha.unit_of_work() as uow:
        uow.candles.upsert([a_candle(1)])
        uow.commit()
    with beta.unit_of_work() as uow:
        uow.candles.upsert([a_candle(1, close="101")])  # the same key, another bot: no conflict
        uow.commit()
        assert uow.candles.list_for(BTC_USDT, Timeframe("1m"))[0].close == Decimal(101)
    with alpha.unit_of_work() as uow:
        assert uow.candles.list_for(BTC_USDT, Timeframe("1m"))[0].close == Decimal("100.5")
        assert uow.candles.stored_keys() == ((BTC_USDT, Timeframe("1m")),)


# --- operator commands ----------------------------------------------------------------------------------


def a_command(command_id: str, minute: float, name: str = "pause", **changes: object) -> OperatorCommand:
    return attrs.evolve(OperatorCommand(command_id=command_id, name=CommandName(name), created_at=at(minute)),
                        **changes)


def test_commands_queue_in_order_and_are_kept_once_handled(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert not uow.commands.has_pending()
        uow.commands.add(a_command("c2", 2, "stop"))
        uow.commands.add(a_command("c1", 1, "pause", minutes=15))
        uow.commands.add(a_command("c3", 3, "close-all"))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.commands.has_pending()
        assert [c.command_id for c in uow.commands.list_pending()] == ["c1", "c2", "c3"]
        first = uow.commands.list_pending()[0]
        assert first.minutes == 15
        assert first.name is CommandName.PAUSE
        assert first.created_at == at(1)
        uow.commands.update(first.handled(CommandStatus.EXECUTED, "paused for 15 min", at(4)))
        uow.commands.update(a_command("c2", 2, "stop").handled(CommandStatus.STALE, "before the run", at(4)))
        uow.commit()
    with store.unit_of_work() as uow:
        assert [c.command_id for c in uow.commands.list_pending()] == ["c3"]
        done = uow.commands.find("c1")
        assert done is not None
        assert done.status is CommandStatus.EXECUTED
        assert done.result == "paused for 15 min"
        assert done.handled_at == at(4)
        assert [c.command_id for c in uow.commands.list_recent(2)] == ["c3", "c2"]
        assert uow.commands.find("nope") is None
        uow.commands.update(uow.commands.list_pending()[0].handled(CommandStatus.REJECTED, "no", at(5)))
        uow.commit()
    with store.unit_of_work() as uow:
        assert not uow.commands.has_pending()
        assert uow.commands.list_pending() == ()
        assert len(uow.commands.list_recent()) == 3


def test_a_duplicate_or_unknown_command_raises(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.commands.add(a_command("c1", 1))
        uow.commit()
    with store.unit_of_work() as uow, pytest.raises(StoreError):
        uow.commands.add(a_command("c1", 2))
    with store.unit_of_work() as uow, pytest.raises(StoreError):
        uow.commands.update(a_command("c9", 2))
    with store.unit_of_work() as uow:
        assert [c.created_at for c in uow.commands.list_pending()] == [at(1)]


def test_uncommitted_commands_are_rolled_back_and_commands_belong_to_their_bot(make_store: MakeStore) -> None:
    alpha, beta = make_store("alpha"), make_store("beta")
    with alpha.unit_of_work() as uow:
        uow.commands.add(a_command("c1", 1))
        uow.commit()
    with alpha.unit_of_work() as uow:
        uow.commands.add(a_command("c2", 2))
    with beta.unit_of_work() as uow:
        assert not uow.commands.has_pending()
        uow.commands.add(a_command("c1", 3, "halt"))  # the same id, another bot: no conflict
        uow.commit()
    with alpha.unit_of_work() as uow:
        assert [(c.command_id, c.name) for c in uow.commands.list_pending()] == [("c1", CommandName.PAUSE)]


# --- the bot's lease (one process at a time) -------------------------------------------------------------------


def a_lease(token: str, *, since: datetime = T0, seconds: int = 30, host: str = "h1", pid: int = 100) -> Lease:
    return Lease(token=token, host=host, pid=pid, since=since, expires_at=since + timedelta(seconds=seconds))


def take(store: Store, lease: Lease, now: datetime, replacing: str | None = None) -> Lease:
    with store.unit_of_work() as uow:
        held = uow.leases.take(lease, now, replacing=replacing)
        uow.commit()
    return held


def test_a_lease_in_force_keeps_a_second_holder_out_until_it_expires(store: Store) -> None:
    first, second = a_lease("first"), a_lease("second", since=at(0.1), pid=200)
    assert take(store, first, T0) == first
    assert take(store, second, at(0.1)) == first, "the first holder's lease is in force"
    renewed = a_lease("first", seconds=90)
    assert take(store, renewed, at(0.2)) == renewed, "the holder renews its own lease"
    assert take(store, second, at(1.4)) == renewed, "still in force after the first lease's original expiry"
    late = a_lease("second", since=at(1.6), pid=200)
    assert take(store, late, at(1.6)) == late, "taken over once expired"


def test_runs_are_listed_by_mode_oldest_first(make_store: MakeStore) -> None:
    store, other = make_store("modes"), make_store("others")
    with store.unit_of_work() as uow:
        for n, mode in enumerate(("replay", "live", "paper", "replay", "sandbox")):
            uow.runs.add(RunRecord(run_id=RunId(f"r{n}"), mode=mode, started_at=at(n)))
        uow.commit()
    with other.unit_of_work() as uow:
        uow.runs.add(RunRecord(run_id=RunId("x9"), mode="replay", started_at=at(9)))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.runs.ids_of_mode(("replay", "paper")) == (RunId("r0"), RunId("r2"), RunId("r3"))
        assert uow.runs.ids_of_mode(("live",)) == (RunId("r1"),)
        assert uow.runs.ids_of_mode(()) == ()


def test_a_renewal_keeps_the_time_the_holder_took_the_bot(store: Store) -> None:
    """An operator told "running since 12:00:20" by every renewal could not tell a bot up for a week from one
    that just started."""
    take(store, a_lease("first"), T0)
    held = take(store, a_lease("first", since=at(5), seconds=30), at(5))
    assert (held.since, held.expires_at) == (T0, at(5) + timedelta(seconds=30)), "renewed until later, since kept"
    with store.unit_of_work() as uow:
        assert uow.leases.find() == held
    late = a_lease("second", since=at(60), pid=200)
    assert take(store, late, at(60)).since == at(60), "a new holder's lease starts when it took the bot"


def test_a_dead_holder_can_be_replaced_at_once_and_release_frees_the_bot(store: Store) -> None:
    dead, heir = a_lease("dead"), a_lease("heir", since=at(0.1))
    take(store, dead, T0)
    assert take(store, heir, at(0.1), replacing="someone-else") == dead
    assert take(store, heir, at(0.1), replacing="dead") == heir
    with store.unit_of_work() as uow:
        assert not uow.leases.release("dead"), "only the holder releases"
        assert uow.leases.release("heir")
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.leases.find() is None


def test_leases_belong_to_their_bot(make_store: MakeStore) -> None:
    alpha, beta = make_store("alpha"), make_store("beta")
    assert take(alpha, a_lease("a"), T0).token == "a"
    assert take(beta, a_lease("b"), T0).token == "b", "another bot is not held by alpha's lease"


def test_of_many_concurrent_takers_exactly_one_holds_the_bot(make_store: MakeStore) -> None:
    stores = [make_store("racer") for _ in range(6)]
    results: list[str] = []
    barrier = threading.Barrier(len(stores))

    def race(index: int) -> None:
        barrier.wait()
        results.append(take(stores[index], a_lease(f"t{index}", pid=index), T0).token)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == len(stores)
    assert len(set(results)) == 1, f"every taker sees the same holder: {results}"
# --- LLM calls (issue 15) -------------------------------------------------------------------------------------


def test_llm_calls_round_trip_exactly_and_survive_a_new_unit_of_work(store: Store) -> None:
    from trader_core.model.llm import LlmCallRecord

    first = LlmCallRecord(trace_id="t1", run_id=R1, at=T0, model="gpt-x", tokens_in=1200, tokens_out=80,
                          cost=Decimal("0.004800000000000000001"), latency_ms=350)
    missing = LlmCallRecord(trace_id="t2", run_id=RunId("r-other"), at=at(1), model="gpt-x", replayed=True)
    with store.unit_of_work() as uow:
        uow.llm_calls.add(first)
        uow.llm_calls.add(missing)
        uow.commit()
    with store.unit_of_work() as uow:
        uow.llm_calls.add(attrs.evolve(first, trace_id="rolled-back"))
    with store.unit_of_work() as uow:
        assert uow.llm_calls.list_calls() == (first, missing)
        assert uow.llm_calls.list_calls(R1) == (first,)


def test_llm_traces_round_trip_take_an_outcome_and_are_pruned_by_age(store: Store) -> None:
    from trader_core.model.llm import LlmTraceRecord

    old = LlmTraceRecord(trace_id="t1", run_id=R1, at=T0, model="gpt-x", prompt="p\u00e9" * 3000, answer='{"a": 1}',
                         signals='[{"action": "HOLD"}]', reason="", calls=2, tokens_in=1200, tokens_out=80,
                         cost=Decimal("0.004800000000000000001"), latency_ms=350, replayed=True)
    new = LlmTraceRecord(trace_id="t2", run_id=R1, at=at(60), model="gpt-x", prompt="q")
    with store.unit_of_work() as uow:
        uow.llm_traces.add(old)
        uow.llm_traces.add(new)
        uow.commit()
    with store.unit_of_work() as uow:
        uow.llm_traces.set_outcome("t2", '[{"status": "filled"}]')
        uow.llm_traces.set_outcome("unknown", "x")
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.llm_traces.recent(10) == (old, attrs.evolve(new, outcome='[{"status": "filled"}]'))
        assert [t.trace_id for t in uow.llm_traces.recent(1)] == ["t2"]
        assert uow.llm_traces.find("t1") == old
        assert uow.llm_traces.find("t3") is None
        assert uow.llm_traces.prune(at(30)) == 1
        uow.commit()
    with store.unit_of_work() as uow:
        assert [t.trace_id for t in uow.llm_traces.recent(10)] == ["t2"]


def test_housekeeping_between_units_keeps_every_committed_write_and_the_store_usable(store: Store) -> None:
    seed(store, runs=(a_run(),))
    store.maintain()
    store.maintain()  # nothing left to do: as quick, and as harmless
    seed(store, runs=(a_run(RunId("run-2"), started_at=at(1)),))
    with store.unit_of_work() as uow:
        assert {r.run_id for r in (uow.runs.find(R1), uow.runs.find(RunId("run-2"))) if r} == {R1, RunId("run-2")}
