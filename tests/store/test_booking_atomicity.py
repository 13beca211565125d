"""A booking is one unit of work: a crash between two of its statements leaves no trace of it, in the
database or in the tracker's memory (SQLite, and PostgreSQL when TRADER_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.store.records import T0, a_fill, a_plan, an_order, run_of, seed_bot
from trader_adapters.clock import SimulatedClock
from trader_adapters.sql.store import SqlStore
from trader_adapters.telemetry import RecordingTelemetry
from trader_core.model import BotId, OrderRole, Quantity
from trader_core.model.stats import StatsScope
from trader_core.portfolio import PortfolioTracker
from trader_core.ports import UnitOfWork

BOT = "bot-a"


class CrashError(Exception):
    """The process dies between two statements of a booking."""


def a_tracker(store: SqlStore) -> PortfolioTracker:
    tracker = PortfolioTracker(store, SimulatedClock(datetime(2025, 5, 21, tzinfo=UTC)), RecordingTelemetry())
    tracker.start(StatsScope(run_of(BOT)))
    return tracker


def test_a_crash_after_the_fill_row_was_written_leaves_no_trace_anywhere(database_url: str) -> None:
    store = SqlStore.open(database_url, BotId(BOT))
    seed_bot(store, BOT)
    tracker = a_tracker(store)
    first = a_fill(BOT, "t-1", 1).fill
    assert tracker.book(first, run_id=run_of(BOT), venue="paper", plan_id=None, role=OrderRole.ENTRY) is not None
    before = tracker.snapshot()
    with store.unit_of_work() as uow:
        cached_before = uow.ledger.find(StatsScope(run_of(BOT)))

    def order_then_crash(uow: UnitOfWork) -> None:
        uow.orders.update(an_order(BOT, filled="0.001"))  # the booking's own write is done...
        raise CrashError  # ...and the process dies before the cache rows and the commit

    second = a_fill(BOT, "t-2", 2).fill
    with pytest.raises(CrashError):
        tracker.book(second, run_id=run_of(BOT), venue="paper", plan_id=None, role=OrderRole.ENTRY,
                     also=order_then_crash)

    assert tracker.snapshot() == before
    assert not tracker.is_booked("paper", second)
    with store.unit_of_work() as uow:
        assert [r.fill.trade_id.value for r in uow.fills.list_all()] == ["t-1"]
        order = uow.orders.find(an_order(BOT).client_order_id)
        assert order is not None
        assert order.filled_quantity == Quantity("0")
        assert uow.ledger.find(StatsScope(run_of(BOT))) == cached_before
    store.close()
    # A restart finds the cache complete and in step with the fills.
    again = SqlStore.open(database_url, BotId(BOT))
    restarted = a_tracker(again)
    assert restarted.snapshot() == before
    # The same fill books normally once the process is back.
    assert restarted.book(second, run_id=run_of(BOT), venue="paper", plan_id=None, role=OrderRole.ENTRY)
    assert restarted.stats.fills == 2
    again.close()


def test_a_booking_writes_fill_order_plan_and_every_cache_row_together(database_url: str) -> None:
    store = SqlStore.open(database_url, BotId(BOT))
    seed_bot(store, BOT)
    tracker = a_tracker(store)
    plan = a_plan(BOT)

    def order_and_plan(uow: UnitOfWork) -> None:
        uow.orders.update(an_order(BOT, filled="0.001"))
        uow.plans.update(plan.evolve(reason="entry filled"))

    record = tracker.book(a_fill(BOT, "t-1", 1).fill, run_id=run_of(BOT), venue="paper", plan_id=plan.plan_id,
                          role=OrderRole.ENTRY, also=order_and_plan)
    assert record is not None
    with store.unit_of_work() as uow:
        assert uow.fills.count(run_of(BOT)) == 1
        assert uow.plans.find(plan.plan_id).version == 2  # type: ignore[union-attr]
        cached = uow.ledger.find(StatsScope(run_of(BOT)))
    assert cached == tracker.snapshot()
    assert cached is not None
    assert cached.holdings[0].quantity == Decimal("0.001")
    assert cached.days[0].day == T0.date()
    store.close()
