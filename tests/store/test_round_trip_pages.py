"""Round-trip pages chosen in SQL (the API's trades and equity) agree with ``trader-app trades`` over the whole
run, on SQLite and PostgreSQL, with the awkward cases a long run collects: entries booked out of time order,
partial exits, open, pending and cancelled plans, fills booked under another run, ties in ``opened_at``,
another bot with the same plan ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from itertools import pairwise

import attrs
import pytest

from trader_adapters.sql.round_trips import (
    ClosedResult,
    RoundTripFilter,
    closed_results,
    count_round_trips,
    round_trip_page,
)
from trader_adapters.sql.store import SqlStore
from trader_app.api.fleet import Fleet, equity_json, equity_points
from trader_app.summary import round_trips
from trader_core.model import BotId
from trader_core.model.ids import Asset, ClientOrderId, PlanId, RunId, Symbol, TradeId, VenueOrderId
from trader_core.model.money import Money, Price, Quantity
from trader_core.model.orders import Fill, Liquidity, Side
from trader_core.model.plans import ExitReason, Plan, PlanStatus
from trader_core.model.records import FillRecord, OrderRole, RunRecord

T0 = datetime(2025, 3, 1, tzinfo=UTC)
BTC, ETH = Symbol.parse("BTC/USDT"), Symbol.parse("ETH/USDT")
R1, R2 = RunId("r1"), RunId("r2")


def _plan(plan: str, symbol: Symbol, status: PlanStatus, minute: int, run: RunId = R1) -> Plan:
    closed = status is PlanStatus.CLOSED
    return Plan(plan_id=PlanId(plan), run_id=run, symbol=symbol, side=Side.BUY, status=status,
                entry_client_order_id=ClientOrderId(f"c-{plan}"), opened_at=T0 + timedelta(minutes=minute),
                quantity=Quantity("0.02"), closed_at=T0 + timedelta(minutes=minute + 50) if closed else None,
                exit_reason=ExitReason.SIGNAL if closed else None)


class _Fills:
    """Fills numbered in booking order."""

    def __init__(self) -> None:
        self.records: list[FillRecord] = []

    def add(self, plan: str, role: OrderRole, minute: int, price: str, *, run: RunId = R1,
            pnl: str = "0", quantity: str = "0.01", symbol: Symbol = BTC) -> None:
        n = len(self.records)
        side = Side.BUY if role is OrderRole.ENTRY else Side.SELL
        fill = Fill(trade_id=TradeId(f"t{n}"), venue_order_id=VenueOrderId(f"v{n}"),
                    client_order_id=ClientOrderId(f"c{n}"), symbol=symbol, side=side, price=Price(price),
                    quantity=Quantity(quantity), fee=Money(Decimal("0.013"), Asset("USDT")),
                    time=T0 + timedelta(minutes=minute, microseconds=0 if n % 2 else 250), liquidity=Liquidity.TAKER)
        self.records.append(FillRecord(run_id=run, venue="paper", fill=fill, plan_id=PlanId(plan), role=role,
                                       realized_pnl=Decimal(pnl), fee_quote=Decimal("0.013")))


def _seed(store: SqlStore) -> None:
    plans = [
        _plan("a", BTC, PlanStatus.CLOSED, 0),
        _plan("b", ETH, PlanStatus.CLOSED, 10),
        _plan("c", BTC, PlanStatus.OPEN, 20),
        _plan("d", BTC, PlanStatus.PENDING, 30),        # no fill: not a round trip
        _plan("e", BTC, PlanStatus.CANCELLED, 40),      # an entry fill, but cancelled
        _plan("f", BTC, PlanStatus.CLOSED, 50),         # its fills were booked under r2
        _plan("g", ETH, PlanStatus.CLOSED, 10),         # the same opened_at as b: row order decides
        _plan("h", BTC, PlanStatus.CLOSED, 70),         # one exit fill under r2, not counted in r1
        _plan("i", BTC, PlanStatus.CLOSED, 80),         # exits only, no entry: not a round trip
        *(_plan(f"k{n}", BTC if n % 3 else ETH, PlanStatus.CLOSED, 100 + 5 * n) for n in range(12)),
        _plan("z", BTC, PlanStatus.CLOSED, 500, run=R2),
    ]
    fills = _Fills()
    fills.add("a", OrderRole.ENTRY, 1, "100")
    fills.add("a", OrderRole.EXIT, 45, "104", pnl="0.04")
    fills.add("b", OrderRole.ENTRY, 15, "50", symbol=ETH)     # booked first, later in time: the entry time
    fills.add("b", OrderRole.ENTRY, 12, "52", symbol=ETH)
    fills.add("b", OrderRole.EXIT, 30, "49", pnl="-0.02", symbol=ETH)
    fills.add("b", OrderRole.STOP, 31, "48", pnl="-0.03", symbol=ETH)
    fills.add("c", OrderRole.ENTRY, 21, "101")
    fills.add("e", OrderRole.ENTRY, 41, "99")
    fills.add("f", OrderRole.ENTRY, 51, "98", run=R2)
    fills.add("f", OrderRole.EXIT, 52, "97", run=R2, pnl="-0.01")
    fills.add("g", OrderRole.ENTRY, 11, "51", symbol=ETH)
    fills.add("g", OrderRole.TARGET, 60, "55", pnl="0.04", symbol=ETH)
    fills.add("h", OrderRole.ENTRY, 71, "100")
    fills.add("h", OrderRole.EXIT, 72, "101", pnl="0.01")
    fills.add("h", OrderRole.EXIT, 73, "102", pnl="0.02", run=R2)
    fills.add("i", OrderRole.EXIT, 81, "100", pnl="0.5")
    for n in range(12):
        symbol = BTC if n % 3 else ETH
        fills.add(f"k{n}", OrderRole.ENTRY, 101 + 5 * n, "100", symbol=symbol)
        # Exits out of entry order, so that the equity curve's exit-time order is not the list order.
        fills.add(f"k{n}", OrderRole.EXIT, 400 - 7 * n, str(100 + n - 6), pnl=str(Decimal(n - 6) / 100),
                  symbol=symbol)
    fills.add("z", OrderRole.ENTRY, 501, "100", run=R2)
    with store.unit_of_work() as uow:
        uow.runs.add(RunRecord(run_id=R1, mode="paper", started_at=T0))
        uow.runs.add(RunRecord(run_id=R2, mode="paper", started_at=T0 + timedelta(hours=8)))
        for plan in plans:
            uow.plans.add(plan)
        for record in fills.records:
            uow.fills.add(record)
        uow.commit()


@pytest.fixture
def store(database_url: str) -> SqlStore:
    """Bot ``main`` with the runs above, and bot ``other`` with the same plan ids and run ids."""
    other = SqlStore.open(database_url, BotId("other"))
    _seed(other)
    other.close()
    main = SqlStore.open(database_url, BotId("main"))
    _seed(main)
    return main


def _whole_run(store: SqlStore, run: RunId) -> list[dict[str, str]]:
    """What ``trader-app trades --include-open`` prints for the run."""
    with store.unit_of_work() as uow:
        return round_trips(uow.plans.list_for_run(run), uow.fills.list_for_run(run), True)


FILTERS = [
    RoundTripFilter(),
    RoundTripFilter(symbol="ETH/USDT"),
    RoundTripFilter(symbol="XRP/USDT"),
    RoundTripFilter(start=T0 + timedelta(minutes=12)),
    RoundTripFilter(start=T0 + timedelta(minutes=15)),  # b's first entry (in booking order) is at 15
    RoundTripFilter(start=T0 + timedelta(minutes=15, microseconds=1)),
    # In another timezone: 02:30+02:00 is 00:30 UTC.
    RoundTripFilter(start=datetime(2025, 3, 1, 2, 30, tzinfo=timezone(timedelta(hours=2))),
                    end=T0 + timedelta(minutes=131)),
    RoundTripFilter(symbol="BTC/USDT", end=T0 + timedelta(minutes=106)),
    # By exit time: k11 exits at 323 min (and 250 us), a at 45, b's last exit at 31: a range that holds their exits
    # and not their entries, an end exactly at an exit (excluded) and one a microsecond after it.
    RoundTripFilter(start=T0 + timedelta(minutes=31), end=T0 + timedelta(minutes=45)),
    RoundTripFilter(start=T0 + timedelta(minutes=31), end=T0 + timedelta(minutes=45, microseconds=251)),
    RoundTripFilter(start=T0 + timedelta(minutes=300), end=T0 + timedelta(minutes=330)),
    RoundTripFilter(end=T0 + timedelta(minutes=20)),
]


def _matches(row: dict[str, str], where: RoundTripFilter) -> bool:
    """The rule ``metrics`` counts a range by: a closed round trip by its exit time in ``[start, end)``, one still
    open (no exit time, no exit reason) when it was entered before ``end``."""
    if where.symbol is not None and row["symbol"] != where.symbol:
        return False
    if where.start is None and where.end is None:
        return True
    if row["exit_time"]:
        exit_time = datetime.fromisoformat(row["exit_time"])
        return (where.start is None or exit_time >= where.start) and (where.end is None or exit_time < where.end)
    entry = datetime.fromisoformat(row["entry_time"])
    return not row["exit_reason"] and (where.end is None or entry < where.end)


@pytest.mark.parametrize("where", FILTERS, ids=str)
def test_every_page_of_every_filter_is_the_slice_of_the_whole_runs_rows(store: SqlStore,
                                                                        where: RoundTripFilter) -> None:
    expected = [row for row in _whole_run(store, R1) if _matches(row, where)]
    with store.unit_of_work() as uow:
        assert count_round_trips(uow, R1, where) == len(expected)
        for offset, limit in [(0, 1000), (0, 1), (1, 2), (3, 5), (len(expected) - 1, 3), (len(expected), 10)]:
            page = round_trip_page(uow, R1, where, offset=max(offset, 0), limit=limit)
            assert round_trips(page.plans, page.fills, True) == expected[max(offset, 0):max(offset, 0) + limit]


def test_the_whole_run_in_pages_is_exactly_what_trader_app_trades_lists(store: SqlStore) -> None:
    expected = _whole_run(store, R1)
    assert {row["plan_id"] for row in expected} == {"a", "b", "c", "g", "h", *(f"k{n}" for n in range(12))}
    assert expected[1]["plan_id"] == "b", "b and g open at the same minute: b was stored first"
    with store.unit_of_work() as uow:
        pages = [round_trip_page(uow, R1, RoundTripFilter(), offset=o, limit=4) for o in range(0, 20, 4)]
    assert [row for page in pages for row in round_trips(page.plans, page.fills, True)] == expected
    with store.unit_of_work() as uow:
        page = round_trip_page(uow, R2, RoundTripFilter(), offset=0, limit=100)
    assert round_trips(page.plans, page.fills, True) == _whole_run(store, R2)


def _reference_equity(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The equity curve as the API first computed it, from every trades row."""
    points, total, peak = [], Decimal(0), Decimal(0)
    for row in sorted((r for r in rows if r["exit_time"]), key=lambda r: r["exit_time"]):
        total += Decimal(row["realized_pnl"])
        peak = max(peak, total)
        points.append({"at": row["exit_time"], "realized_pnl": str(total), "drawdown": str(total - peak)})
    return points


@pytest.mark.parametrize("run", [R1, R2], ids=str)
def test_the_equity_curve_from_five_columns_is_the_one_the_trades_rows_add_up_to(store: SqlStore,
                                                                                  run: RunId) -> None:
    with store.unit_of_work() as uow:
        points = equity_points(closed_results(uow, run))
        served = json.loads(equity_json(closed_results(uow, run)))
    assert points == _reference_equity(_whole_run(store, run))
    assert served == {"points": points}
    assert run is R2 or any(Decimal(p["drawdown"]) < 0 for p in points), "the curve should fall somewhere"
    assert all(a["at"] <= b["at"] for a, b in pairwise(points))


def test_a_served_total_and_equity_follow_every_fill_and_plan_change(store: SqlStore, database_url: str) -> None:
    fleet = Fleet(database_url)
    try:
        def served() -> tuple[int, list[dict[str, str]], bytes]:
            page = json.loads(fleet.trades("main", "r1", RoundTripFilter(symbol="BTC/USDT"), 0, 100))
            return page["total"], page["trades"], fleet.equity("main", "r1")

        total, shown, curve = served()
        assert served() == (total, shown, curve)
        with store.unit_of_work() as uow:  # cancel open plan c (it has an entry fill): one round trip fewer
            plan = uow.plans.find(PlanId("c"))
            assert plan is not None
            uow.plans.update(plan.evolve(status=PlanStatus.CANCELLED))
            uow.commit()
        cancelled = served()
        assert cancelled[0] == total - 1
        assert [row["plan_id"] for row in cancelled[1]] == [row["plan_id"] for row in shown if row["plan_id"] != "c"]
        with store.unit_of_work() as uow:  # pending plan d fills and closes: one more, and a new equity point
            plan = uow.plans.find(PlanId("d"))
            assert plan is not None
            fills = _Fills()
            fills.add("d", OrderRole.ENTRY, 31, "100")
            fills.add("d", OrderRole.EXIT, 999, "110", pnl="0.1")
            for number, record in enumerate(fills.records):
                uow.fills.add(attrs.evolve(record, fill=attrs.evolve(record.fill, trade_id=TradeId(f"d{number}"))))
            uow.plans.update(plan.evolve(status=PlanStatus.CLOSED, closed_at=T0 + timedelta(minutes=999),
                                         exit_reason=ExitReason.SIGNAL))
            uow.commit()
        total_after, rows_after, curve_after = served()
        assert total_after == total
        closed = next(row for row in rows_after if row["plan_id"] == "d")
        assert closed["exit_time"] == (T0 + timedelta(minutes=999)).isoformat()
        points = json.loads(curve_after)["points"]
        assert len(points) == len(json.loads(curve)["points"]) + 1
        assert points[-1]["at"] == (T0 + timedelta(minutes=999)).isoformat()
        with store.unit_of_work() as uow:
            assert points == equity_points(closed_results(uow, R1))
    finally:
        fleet.close()


def test_equity_points_are_written_in_plain_notation() -> None:
    """A cumulative result of zero with eight places is ``0E-8`` in ``str()``; docs/reports.md promises plain."""
    at = datetime(2025, 1, 1, tzinfo=UTC)
    results = [ClosedResult("P1", at, Decimal("1.00000000"), Decimal("1.00000000")),
               ClosedResult("P2", at + timedelta(minutes=1), Decimal("-0.00000001"), Decimal(0))]
    points = equity_points(results)
    assert [(p["realized_pnl"], p["drawdown"]) for p in points] == [("0.00000000", "0.00000000"),
                                                                    ("-0.00000001", "-0.00000001")]
