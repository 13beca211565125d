"""The metrics endpoint's report is kept between requests, and never outlives a change of the run it describes:
a trade closed, a plan cancelled, the run finished, a new run started."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs

from trader_adapters.memory import InMemoryDatabase, InMemoryStore
from trader_app.api.sources import StoreReports
from trader_core.model import RunStatus
from trader_core.model.ids import Asset, BotId, ClientOrderId, PlanId, RunId, Symbol, TradeId, VenueOrderId
from trader_core.model.money import Money, Price, Quantity
from trader_core.model.orders import Fill, Liquidity, Side
from trader_core.model.plans import ExitReason, Plan, PlanStatus
from trader_core.model.records import FillRecord, OrderRole, RunRecord
from trader_core.ports import Store

T0 = datetime(2025, 1, 1, tzinfo=UTC)
BTC = Symbol.parse("BTC/USDT")
RUN = RunId("run-1")


def _fill(run: RunId, n: int, role: OrderRole, price: int, at: datetime, *, pnl: str = "0") -> FillRecord:
    side = Side.BUY if role is OrderRole.ENTRY else Side.SELL
    fill = Fill(trade_id=TradeId(f"t{run.value}{n}{role.value}"), venue_order_id=VenueOrderId(f"v{n}{role.value}"),
                client_order_id=ClientOrderId(f"c{n}{role.value}"), symbol=BTC, side=side, price=Price(Decimal(price)),
                quantity=Quantity("0.01"), fee=Money(Decimal("0.05"), Asset("USDT")), time=at,
                liquidity=Liquidity.TAKER)
    return FillRecord(run_id=run, venue="paper", fill=fill, plan_id=PlanId(f"P{n}"), role=role,
                      realized_pnl=Decimal(pnl), fee_quote=Decimal("0.05"))


def _plan(run: RunId, n: int, status: PlanStatus) -> Plan:
    opened = T0 + timedelta(minutes=10 * n)
    closed = opened + timedelta(minutes=5) if status is PlanStatus.CLOSED else None
    return Plan(plan_id=PlanId(f"P{n}"), run_id=run, symbol=BTC, side=Side.BUY, status=status,
                entry_client_order_id=ClientOrderId(f"c{n}entry"), opened_at=opened, quantity=Quantity("0.01"),
                entry_filled=Quantity("0.01"), entry_price=Price(Decimal(100 + n)), closed_at=closed,
                exit_reason=ExitReason.SIGNAL if closed else None)


def _enter(store: Store, run: RunId, n: int) -> None:
    with store.unit_of_work() as uow:
        uow.plans.add(_plan(run, n, PlanStatus.OPEN))
        uow.fills.add(_fill(run, n, OrderRole.ENTRY, 100 + n, T0 + timedelta(minutes=10 * n)))
        uow.commit()


def _exit(store: Store, run: RunId, n: int) -> None:
    with store.unit_of_work() as uow:
        plan = uow.plans.find(PlanId(f"P{n}"))
        assert plan is not None
        closed = _plan(run, n, PlanStatus.CLOSED)
        uow.plans.update(attrs.evolve(plan, status=closed.status, closed_at=closed.closed_at,
                                      exit_reason=closed.exit_reason, version=plan.version + 1))
        uow.fills.add(_fill(run, n, OrderRole.EXIT, 102 + n, T0 + timedelta(minutes=10 * n + 5), pnl="0.02"))
        uow.commit()


def _trades(document: dict[str, object] | None) -> object:
    assert document is not None
    stats = document["stats"]
    assert isinstance(stats, dict)
    return stats["count"]


def test_the_kept_report_follows_every_change_of_its_run() -> None:
    store = InMemoryStore(BotId("alpha"), InMemoryDatabase())
    reports = StoreReports(lambda bot: store)
    with store.unit_of_work() as uow:
        uow.runs.add(RunRecord(run_id=RUN, mode="paper", started_at=T0))
        uow.commit()
    assert reports.metrics("alpha", None, None, None) is None, "nothing to report yet"
    for n in range(2):
        _enter(store, RUN, n)
        _exit(store, RUN, n)
    first = reports.metrics("alpha", None, None, None)
    assert _trades(first) == 2
    assert reports.metrics("alpha", None, None, None) == first, "asked again, nothing changed"

    _enter(store, RUN, 2)
    assert _trades(reports.metrics("alpha", None, None, None)) == 2, "an open position is not a trade"
    _exit(store, RUN, 2)
    assert _trades(reports.metrics("alpha", None, None, None)) == 3, "the trade it closed is reported at once"

    with store.unit_of_work() as uow:
        record = uow.runs.find(RUN)
        assert record is not None
        uow.runs.update(attrs.evolve(record, status=RunStatus.FINISHED, finished_at=T0 + timedelta(hours=1)))
        uow.commit()
    finished = reports.metrics("alpha", None, None, None)
    assert _trades(finished) == 3
    assert reports.metrics("alpha", "run-1", None, None) == finished
    later = reports.metrics("alpha", None, T0 + timedelta(minutes=9), None)
    assert _trades(later) == 2, "a range is its own report"

    second = RunId("run-2")
    with store.unit_of_work() as uow:
        uow.runs.add(RunRecord(run_id=second, mode="paper", started_at=T0 + timedelta(hours=2)))
        uow.commit()
    _enter(store, second, 7)
    _exit(store, second, 7)
    assert reports.metrics("alpha", None, None, None)["run_id"] == "run-2"  # type: ignore[index]
    assert _trades(reports.metrics("alpha", None, None, None)) == 1
    assert reports.metrics("alpha", "run-1", None, None) == finished
