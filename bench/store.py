"""Store benchmark: booking throughput and the start-up rebuild, on SQLite and on PostgreSQL.

    python bench/store.py [--bookings N] [--rebuild N]
    scripts/with-postgres .venv/bin/python bench/store.py     # with a throwaway PostgreSQL

Booking: units of work per second for "a fill with its holdings and stats", the app's booking path:
``PortfolioTracker.book`` (holdings and stats in memory) with fills.add + orders.update + plans.update
(optimistic version) + commit in one unit of work. Rebuild: N fills seeded in bulk (executemany), then
the time of ``fills.list_all()`` plus ``PortfolioTracker.load(...)``, what a bot does when it starts.

SQLite runs on a WAL file in a temporary folder. PostgreSQL runs in a fresh schema of the server at
``TRADER_TEST_POSTGRES_URL`` (dropped afterwards); without that variable it is skipped.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import cast

import attrs
from sqlalchemy import Table, create_engine, insert, text
from sqlalchemy.engine import make_url

from trader_adapters.clock import SystemClock
from trader_adapters.sql.mapping import fill_columns
from trader_adapters.sql.migrate import upgrade_to_head
from trader_adapters.sql.models import FillRow
from trader_adapters.sql.store import SqlStore, describe_url
from trader_adapters.telemetry import RecordingTelemetry
from trader_app.bootstrap import enable_decimal_traps
from trader_core.model import (
    Asset,
    BotId,
    ClientOrderId,
    Fill,
    FillRecord,
    IntentStatus,
    Liquidity,
    Money,
    OrderRequest,
    OrderRole,
    OrderType,
    Plan,
    PlanId,
    PlanStatus,
    Price,
    Quantity,
    RunId,
    RunRecord,
    Side,
    Symbol,
    TrackedOrder,
    TradeId,
    VenueOrderId,
)
from trader_core.portfolio import PortfolioTracker
from trader_core.ports import UnitOfWork

T0 = datetime(2025, 1, 1, tzinfo=UTC)
SYMBOL = Symbol.parse("BTC/USDT")
RUN = RunId("bench-run")
ORDER = ClientOrderId("bench-entry")
PLAN = PlanId("bench-plan")
BOT = BotId("bench")
VENUE = "paper"
BATCH = 5_000  # rows per executemany when seeding


def a_fill(number: int) -> Fill:
    """Buys and sells alternate, so the holding stays small and every sell realizes a PnL."""
    return Fill(
        trade_id=TradeId(f"t-{number}"), venue_order_id=VenueOrderId("v-1"), client_order_id=ORDER, symbol=SYMBOL,
        side=Side.BUY if number % 2 == 0 else Side.SELL, price=Price(Decimal(60_000 + number % 500)),
        quantity=Quantity("0.01"), fee=Money(Decimal("0.6"), Asset("USDT")),
        time=T0 + timedelta(seconds=number), liquidity=Liquidity.TAKER,
    )


def seed(store: SqlStore) -> tuple[TrackedOrder, Plan]:
    """The run, the order and the plan every booking updates."""
    request = OrderRequest(client_order_id=ORDER, symbol=SYMBOL, side=Side.BUY, order_type=OrderType.MARKET,
                           quantity=Quantity("1000000"))
    order = TrackedOrder(run_id=RUN, request=request, role=OrderRole.ENTRY, status=IntentStatus.OPEN,
                         created_at=T0, updated_at=T0, plan_id=PLAN)
    plan = Plan(plan_id=PLAN, run_id=RUN, symbol=SYMBOL, side=Side.BUY, status=PlanStatus.OPEN,
                entry_client_order_id=ORDER, opened_at=T0)
    with store.unit_of_work() as uow:
        uow.runs.add(RunRecord(run_id=RUN, mode="paper", started_at=T0))
        uow.orders.add(order)
        uow.plans.add(plan)
        uow.commit()
    return order, plan


def bench_bookings(url: str, count: int) -> float:
    """Units of work per second of the booking path."""
    store = SqlStore.open(url, BOT)
    try:
        order, plan = seed(store)
        tracker = PortfolioTracker(store, SystemClock(), RecordingTelemetry())
        started = time.perf_counter()
        for number in range(count):
            order = attrs.evolve(order, filled_quantity=Quantity(order.filled_quantity.value + Decimal("0.01")))
            plan = attrs.evolve(plan, version=plan.version + 1)

            def also(uow: UnitOfWork, order: TrackedOrder = order, plan: Plan = plan) -> None:
                uow.orders.update(order)
                uow.plans.update(plan)

            booked = tracker.book(a_fill(number), run_id=RUN, venue=VENUE, plan_id=PLAN, role=OrderRole.ENTRY,
                                  also=also)
            if booked is None:
                raise SystemExit(f"fill {number} was not booked")
        elapsed = time.perf_counter() - started
    finally:
        store.close()
    return count / elapsed


def bench_rebuild(url: str, count: int) -> tuple[float, float, int]:
    """Seed ``count`` fills in bulk, then time reading them all and rebuilding the portfolio."""
    store = SqlStore.open(url, BOT)
    try:
        table = cast(Table, FillRow.__table__)
        with store.engine.begin() as connection:
            for start in range(0, count, BATCH):
                rows = [
                    {"bot_id": BOT.value, **fill_columns(FillRecord(
                        run_id=RUN, venue=VENUE, fill=a_fill(number), plan_id=PLAN, role=OrderRole.ENTRY,
                        realized_pnl=Decimal(0), fee_quote=Decimal("0.6"),
                    ))}
                    for number in range(start, min(start + BATCH, count))
                ]
                connection.execute(insert(table), rows)
        started = time.perf_counter()
        with store.unit_of_work() as uow:
            records = uow.fills.list_all()
        listed = time.perf_counter()
        tracker = PortfolioTracker(store, SystemClock(), RecordingTelemetry())
        tracker.load(records)
        loaded = time.perf_counter()
    finally:
        store.close()
    return listed - started, loaded - listed, tracker.stats.fills


@contextmanager
def sqlite_database() -> Iterator[str]:
    """A migrated SQLite file (WAL) in a temporary folder."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade_to_head(url)
        yield url


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A migrated fresh schema on the server; dropped afterwards."""
    parsed = make_url(server_url)
    admin = create_engine(parsed.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
        upgrade_to_head(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def run(name: str, database: Callable[[], AbstractContextManager[str]], bookings: int, rebuild: int) -> None:
    """Both measurements on fresh databases of one kind; prints one block."""
    with database() as url:
        per_second = bench_bookings(url, bookings)
    with database() as url:
        list_s, load_s, loaded = bench_rebuild(url, rebuild)
    print(f"store              {name}")
    print(f"bookings_N         {bookings}")
    print(f"uow_per_s          {per_second:,.0f}")
    print(f"ms_per_uow         {1000 / per_second:.3f}")
    print(f"rebuild_N          {loaded}")
    print(f"rebuild_list_s     {list_s:.3f}")
    print(f"rebuild_load_s     {load_s:.3f}")
    print(f"rebuild_total_s    {list_s + load_s:.3f}")
    print()
    sys.stdout.flush()


def main() -> None:
    """Parse the flags and run the benchmark on every available database."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bookings", type=int, default=2_000, help="units of work to time (default 2000)")
    parser.add_argument("--rebuild", type=int, default=100_000, help="fills to rebuild from (default 100000)")
    args = parser.parse_args()
    enable_decimal_traps()
    run("sqlite (WAL, temporary file)", sqlite_database, args.bookings, args.rebuild)
    server = os.environ.get("TRADER_TEST_POSTGRES_URL")
    if not server:
        print("store              postgresql: SKIPPED (set TRADER_TEST_POSTGRES_URL, or run under "
              "scripts/with-postgres)")
        return
    print(f"# postgresql server {describe_url(server)}")
    run("postgresql (psycopg 3)", lambda: postgres_database(server), args.bookings, args.rebuild)


if __name__ == "__main__":
    main()
