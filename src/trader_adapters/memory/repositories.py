"""In-memory repositories of runs, orders, fills, plans and id sequences."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import TypeVar

from trader_adapters.memory.base import Entry, Repository, check_values, sorted_values
from trader_core.model.errors import StoreError
from trader_core.model.ids import ClientOrderId, PlanId, RunId, Symbol
from trader_core.model.plans import Plan
from trader_core.model.records import FillRecord, RunRecord, TrackedOrder

__all__ = [
    "InMemoryFillRepository",
    "InMemoryOrderRepository",
    "InMemoryPlanRepository",
    "InMemoryRunRepository",
    "InMemorySequenceRepository",
]

_T = TypeVar("_T")
_V = TypeVar("_V")
_K = TypeVar("_K")


class InMemoryRunRepository(Repository):
    """Runs of the bot."""

    def add(self, run: RunRecord) -> None:
        """Store a new run. Raises ``StoreError`` if the run id exists."""
        with self._uow.guard(f"add run {run.run_id}"):
            check_values(run, f"add run {run.run_id}")
            if run.run_id in self._state.runs:
                raise StoreError(f"add run {run.run_id} failed: already stored")
            self._state.runs[run.run_id] = self._state.entry(run)

    def update(self, run: RunRecord) -> None:
        """Replace a stored run. Raises ``StoreError`` if it is unknown."""
        with self._uow.guard(f"update run {run.run_id}"):
            check_values(run, f"update run {run.run_id}")
            entry = self._state.runs.get(run.run_id)
            if entry is None:
                raise StoreError(f"update run {run.run_id}: no such run")
            self._state.runs[run.run_id] = Entry(entry.seq, run)

    def find(self, run_id: RunId) -> RunRecord | None:
        """The run, or None."""
        with self._uow.guard(f"find run {run_id}"):
            entry = self._state.runs.get(run_id)
            return None if entry is None else entry.value

    def find_latest(self) -> RunRecord | None:
        """The most recently started run of this bot, or None."""
        with self._uow.guard("find latest run"):
            runs = sorted_values(self._state.runs.values(), lambda run: run.started_at, lambda _run: True)
            return runs[-1] if runs else None

    def ids_of_mode(self, modes: Collection[str]) -> tuple[RunId, ...]:
        """As the port says."""
        with self._uow.guard("runs of a mode"):
            runs = sorted_values(self._state.runs.values(), lambda run: run.started_at, lambda run: run.mode in modes)
            return tuple(run.run_id for run in runs)


class InMemoryOrderRepository(Repository):
    """Order intents of the bot."""

    def add(self, order: TrackedOrder) -> None:
        """Store a new intent. Raises ``StoreError`` if the client order id is already stored."""
        key = order.client_order_id
        with self._uow.guard(f"add order {key}"):
            check_values(order, f"add order {key}")
            if key in self._state.orders:
                raise StoreError(f"add order {key} failed: already stored")
            self._state.orders[key] = self._state.entry(order)

    def update(self, order: TrackedOrder) -> None:
        """Replace a stored intent. Raises ``StoreError`` if it is unknown."""
        key = order.client_order_id
        with self._uow.guard(f"update order {key}"):
            check_values(order, f"update order {key}")
            entry = self._state.orders.get(key)
            if entry is None:
                raise StoreError(f"update order {key}: no such order")
            self._state.orders[key] = Entry(entry.seq, order)

    def find(self, client_order_id: ClientOrderId) -> TrackedOrder | None:
        """The intent, or None."""
        with self._uow.guard(f"find order {client_order_id}"):
            entry = self._state.orders.get(client_order_id)
            return None if entry is None else entry.value

    def list_active(self, run_id: RunId | None = None) -> tuple[TrackedOrder, ...]:
        """Active intents, oldest first; only those of ``run_id`` when given."""
        with self._uow.guard("list active orders"):
            return sorted_values(
                self._state.orders.values(),
                lambda order: order.created_at,
                lambda order: order.status.is_active and run_id in (None, order.run_id),
            )

    def list_recent(self, limit: int) -> tuple[TrackedOrder, ...]:
        """The ``limit`` most recently stored intents, newest first."""
        with self._uow.guard("list recent orders"):
            if limit < 1:
                raise StoreError(f"list recent orders: limit must be positive, got {limit}")
            newest = sorted(self._state.orders.values(), key=lambda entry: entry.seq, reverse=True)
            return tuple(entry.value for entry in newest[:limit])

    def list_for_run(self, run_id: RunId) -> tuple[TrackedOrder, ...]:
        """Every intent of the run, oldest first."""
        with self._uow.guard(f"list orders of run {run_id}"):
            return sorted_values(
                self._state.orders.values(), lambda order: order.created_at, lambda order: order.run_id == run_id
            )


class InMemoryFillRepository(Repository):
    """Booked fills of the bot; identity is (venue, symbol, trade id)."""

    def add(self, record: FillRecord) -> bool:
        """Store a booked fill; return False (and store nothing) if that identity is already stored."""
        key = (record.venue, record.fill.symbol, record.fill.trade_id.value)
        with self._uow.guard(f"add fill {record.venue}:{record.fill.symbol}:{record.fill.trade_id}"):
            check_values(record, f"add fill {record.fill.trade_id}")
            if key in self._state.fill_keys:
                return False
            self._state.fill_keys.add(key)
            self._state.fills.append(record)
            return True

    def list_for_run(self, run_id: RunId) -> tuple[FillRecord, ...]:
        """Fills of the run, in booking order."""
        with self._uow.guard(f"list fills of run {run_id}"):
            return tuple(record for record in self._state.fills if record.run_id == run_id)

    def list_all(self) -> tuple[FillRecord, ...]:
        """Every fill of the bot, in booking order."""
        with self._uow.guard("list fills"):
            return tuple(self._state.fills)

    def iter_all(self, run_id: RunId | None = None, *, batch: int = 10_000) -> Iterator[FillRecord]:
        """Every fill (of ``run_id`` when given), in booking order; consume it inside the unit of work."""
        if batch < 1:
            raise StoreError(f"list fills: batch must be positive, got {batch}")
        with self._uow.guard("list fills"):
            chosen = [r for r in self._state.fills if run_id is None or r.run_id == run_id]
        yield from chosen

    def count(self, run_id: RunId | None = None) -> int:
        """How many fills are stored (for ``run_id`` when given)."""
        with self._uow.guard("count fills"):
            if run_id is None:
                return len(self._state.fills)
            return sum(1 for record in self._state.fills if record.run_id == run_id)

    def contains(self, venue: str, symbol: Symbol, trade_id: str) -> bool:
        """True when the fill with this identity is stored."""
        with self._uow.guard(f"find fill {venue}:{symbol}:{trade_id}"):
            return (venue, symbol, trade_id) in self._state.fill_keys


class InMemoryPlanRepository(Repository):
    """Trade plans of the bot, with optimistic versioning."""

    def add(self, plan: Plan) -> None:
        """Store a new plan. Raises ``StoreError`` if the plan id exists."""
        with self._uow.guard(f"add plan {plan.plan_id}"):
            check_values(plan, f"add plan {plan.plan_id}")
            if plan.version < 1:
                raise StoreError(f"add plan {plan.plan_id} failed: version {plan.version} is below 1")
            if plan.plan_id in self._state.plans:
                raise StoreError(f"add plan {plan.plan_id} failed: already stored")
            self._state.plans[plan.plan_id] = self._state.entry(plan)

    def update(self, plan: Plan) -> None:
        """Store the next version of a plan; raises ``StoreError`` unless the stored one is ``version - 1``."""
        key = plan.plan_id
        with self._uow.guard(f"update plan {key} to version {plan.version}"):
            check_values(plan, f"update plan {key}")
            entry = self._state.plans.get(key)
            if entry is None:
                raise StoreError(f"update plan {key}: no such plan")
            stored = entry.value.version
            if stored != plan.version - 1:
                raise StoreError(
                    f"update plan {key}: version conflict, stored version is {stored} "
                    f"but the update is version {plan.version} (expected {stored + 1})"
                )
            self._state.plans[key] = Entry(entry.seq, plan)

    def find(self, plan_id: PlanId) -> Plan | None:
        """The plan, or None."""
        with self._uow.guard(f"find plan {plan_id}"):
            entry = self._state.plans.get(plan_id)
            return None if entry is None else entry.value

    def list_active(self, run_id: RunId | None = None) -> tuple[Plan, ...]:
        """Pending and open plans, oldest first; only those of ``run_id`` when given."""
        with self._uow.guard("list active plans"):
            return sorted_values(
                self._state.plans.values(),
                lambda plan: plan.opened_at,
                lambda plan: plan.status.is_active and run_id in (None, plan.run_id),
            )

    def list_for_run(self, run_id: RunId) -> tuple[Plan, ...]:
        """Every plan of the run, oldest first."""
        with self._uow.guard(f"list plans of run {run_id}"):
            return sorted_values(self._state.plans.values(), lambda plan: plan.opened_at,
                                 lambda plan: plan.run_id == run_id)


class InMemorySequenceRepository(Repository):
    """Named counters of the bot."""

    def next(self, name: str) -> int:
        """Increment counter ``name`` and return its new value (the first is 1)."""
        with self._uow.guard(f"next value of sequence {name!r}"):
            value = self._state.sequences.get(name, 0) + 1
            self._state.sequences[name] = value
            return value
