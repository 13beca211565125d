"""``InMemoryStore``: the ``Store`` port in memory, with the SQL store's transactions and errors.

A unit of work edits a copy of the bot's committed state and swaps it in on commit. Like the SQLite
store, one unit of work at a time holds the database; others wait (up to a timeout) for it to end.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Generic, TypeVar, cast

import attrs

from trader_core.model.commands import CommandStatus, OperatorCommand
from trader_core.model.errors import StoreError
from trader_core.model.health import TradingStatus
from trader_core.model.ids import Asset, BotId, ClientOrderId, PlanId, RunId, Symbol
from trader_core.model.market import Candle, Timeframe
from trader_core.model.money import Money
from trader_core.model.plans import Plan
from trader_core.model.records import FillRecord, RunRecord, TrackedOrder
from trader_core.model.stats import DayStats, Holding, LedgerSnapshot, LedgerTotals, StatsScope
from trader_core.ports.store import (
    CandleRepository,
    CommandRepository,
    FillRepository,
    LedgerRepository,
    OrderRepository,
    PlanRepository,
    RunRepository,
    SequenceRepository,
    TradingStateRepository,
    ValueRepository,
)

__all__ = ["InMemoryDatabase", "InMemoryStore", "InMemoryUnitOfWork"]

_T = TypeVar("_T")
_V = TypeVar("_V")
_K = TypeVar("_K")


@attrs.define
class _Entry(Generic[_V]):
    """A stored value and the order it was first stored in (the SQL row id)."""

    seq: int
    value: _V


@attrs.define
class _BotState:
    """Everything stored for one bot. Values are frozen, so copying the containers copies the state."""

    runs: dict[RunId, _Entry[RunRecord]] = attrs.Factory(dict)
    orders: dict[ClientOrderId, _Entry[TrackedOrder]] = attrs.Factory(dict)
    fills: list[FillRecord] = attrs.Factory(list)
    fill_keys: set[tuple[str, Symbol, str]] = attrs.Factory(set)
    plans: dict[PlanId, _Entry[Plan]] = attrs.Factory(dict)
    sequences: dict[str, int] = attrs.Factory(dict)
    next_seq: int = 1
    ledger_totals: dict[StatsScope, tuple[str, LedgerTotals]] = attrs.Factory(dict)
    ledger_holdings: dict[tuple[StatsScope, Symbol], Holding] = attrs.Factory(dict)
    ledger_fees: dict[tuple[StatsScope, Asset], Money] = attrs.Factory(dict)
    ledger_days: dict[tuple[StatsScope, date], DayStats] = attrs.Factory(dict)
    trading_state: TradingStatus | None = None
    values: dict[str, str] = attrs.Factory(dict)
    # (symbol, timeframe) -> open time -> candle; the inner dicts are copied when written (copy on write).
    candles: dict[tuple[Symbol, Timeframe], dict[datetime, Candle]] = attrs.Factory(dict)
    commands: dict[str, _Entry[OperatorCommand]] = attrs.Factory(dict)

    def copy(self) -> _BotState:
        return _BotState(
            runs=dict(self.runs),
            orders=dict(self.orders),
            fills=list(self.fills),
            fill_keys=set(self.fill_keys),
            plans=dict(self.plans),
            sequences=dict(self.sequences),
            next_seq=self.next_seq,
            ledger_totals=dict(self.ledger_totals),
            ledger_holdings=dict(self.ledger_holdings),
            ledger_fees=dict(self.ledger_fees),
            ledger_days=dict(self.ledger_days),
            trading_state=self.trading_state,
            values=dict(self.values),
            candles=dict(self.candles),
            commands=dict(self.commands),
        )

    def entry(self, value: _T) -> _Entry[_T]:
        self.next_seq += 1
        return _Entry(self.next_seq - 1, value)


class InMemoryDatabase:
    """What several ``InMemoryStore`` instances (one per bot) share, like one database file."""

    def __init__(self, *, busy_timeout: float = 5.0) -> None:
        self._states: dict[BotId, _BotState] = {}
        self._lock = threading.Lock()
        self._busy_timeout = busy_timeout

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Exclusive use of the database for one unit of work."""
        if not self._lock.acquire(timeout=self._busy_timeout):
            raise StoreError(f"in-memory database busy for {self._busy_timeout} s (a unit of work inside another?)")
        try:
            yield
        finally:
            self._lock.release()

    def state(self, bot_id: BotId) -> _BotState:
        """The committed state of ``bot_id``."""
        return self._states.get(bot_id) or _BotState()

    def replace(self, bot_id: BotId, state: _BotState) -> None:
        """Commit ``state`` as the state of ``bot_id``."""
        self._states[bot_id] = state


class InMemoryStore:
    """The ``Store`` port in memory, for one bot; pass a shared ``database`` to put several bots in one."""

    def __init__(self, bot_id: BotId, database: InMemoryDatabase | None = None) -> None:
        self._bot_id = bot_id
        self._database = database or InMemoryDatabase()
        self._closed = False

    @property
    def bot_id(self) -> BotId:
        """The bot every row of this store belongs to."""
        return self._bot_id

    @property
    def database(self) -> InMemoryDatabase:
        """The database the store keeps its rows in."""
        return self._database

    @contextmanager
    def unit_of_work(self) -> Iterator[InMemoryUnitOfWork]:
        """A new unit of work; leaving it without ``commit()`` rolls back."""
        if self._closed:
            raise StoreError(f"in-memory store of bot {self._bot_id} is closed")
        with self._database.hold():
            uow = InMemoryUnitOfWork(self._database, self._bot_id)
            try:
                yield uow
            finally:
                uow.end()

    def close(self) -> None:
        """Nothing to release; later units of work are refused. Idempotent."""
        self._closed = True


class InMemoryUnitOfWork:
    """A working copy of the bot's state; unusable after a ``StoreError``."""

    def __init__(self, database: InMemoryDatabase, bot_id: BotId) -> None:
        self._database = database
        self._bot_id = bot_id
        self.work = database.state(bot_id).copy()
        self._failed = False
        self._ended = False
        self.runs: RunRepository = InMemoryRunRepository(self)
        self.orders: OrderRepository = InMemoryOrderRepository(self)
        self.fills: FillRepository = InMemoryFillRepository(self)
        self.plans: PlanRepository = InMemoryPlanRepository(self)
        self.sequences: SequenceRepository = InMemorySequenceRepository(self)
        self.ledger: LedgerRepository = InMemoryLedgerRepository(self)
        self.trading_state: TradingStateRepository = InMemoryTradingStateRepository(self)
        self.values: ValueRepository = InMemoryValueRepository(self)
        self.candles: CandleRepository = InMemoryCandleRepository(self)
        self.commands: CommandRepository = InMemoryCommandRepository(self)

    def commit(self) -> None:
        """Make every write of this unit the committed state."""
        with self.guard("commit"):
            self._database.replace(self._bot_id, self.work)
            self.work = self.work.copy()

    def rollback(self) -> None:
        """Discard every uncommitted write."""
        if self._failed:
            return
        with self.guard("rollback"):
            self.work = self._database.state(self._bot_id).copy()

    def end(self) -> None:
        """End the unit; what was not committed is dropped."""
        self._ended = True

    @contextmanager
    def guard(self, action: str) -> Iterator[None]:
        """Run ``action``; a ``StoreError`` rolls back and makes the unit unusable, as in the SQL store."""
        if self._ended:
            raise StoreError(f"{action}: the unit of work has ended")
        if self._failed:
            raise StoreError(f"{action}: the unit of work failed earlier and was rolled back")
        try:
            yield
        except StoreError:
            self._failed = True
            self.work = self._database.state(self._bot_id).copy()
            raise


def _check_values(value: object, action: str) -> None:
    """Refuse what the SQL columns refuse: naive or non-UTC times, floats, non-finite decimals."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise StoreError(f"{action} failed: refusing naive datetime {value.isoformat()}")
        if value.utcoffset() != timedelta(0):
            raise StoreError(f"{action} failed: refusing non-UTC datetime {value.isoformat()}")
    elif isinstance(value, float):
        raise StoreError(f"{action} failed: refusing float {value!r}, expected a Decimal")
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise StoreError(f"{action} failed: refusing non-finite Decimal {value!r}")
    elif isinstance(value, tuple):
        for item in value:
            _check_values(item, action)
    elif attrs.has(type(value)):
        for field in attrs.fields(cast(Any, type(value))):
            _check_values(getattr(value, field.name), action)


def _sorted(entries: Any, key: Callable[[Any], Any], keep: Callable[[Any], bool]) -> tuple[Any, ...]:
    chosen = [entry for entry in entries if keep(entry.value)]
    return tuple(entry.value for entry in sorted(chosen, key=lambda entry: (key(entry.value), entry.seq)))


class _Repository:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow

    @property
    def _state(self) -> _BotState:
        return self._uow.work


class InMemoryRunRepository(_Repository):
    """Runs of the bot."""

    def add(self, run: RunRecord) -> None:
        """Store a new run. Raises ``StoreError`` if the run id exists."""
        with self._uow.guard(f"add run {run.run_id}"):
            _check_values(run, f"add run {run.run_id}")
            if run.run_id in self._state.runs:
                raise StoreError(f"add run {run.run_id} failed: already stored")
            self._state.runs[run.run_id] = self._state.entry(run)

    def update(self, run: RunRecord) -> None:
        """Replace a stored run. Raises ``StoreError`` if it is unknown."""
        with self._uow.guard(f"update run {run.run_id}"):
            _check_values(run, f"update run {run.run_id}")
            entry = self._state.runs.get(run.run_id)
            if entry is None:
                raise StoreError(f"update run {run.run_id}: no such run")
            self._state.runs[run.run_id] = _Entry(entry.seq, run)

    def find(self, run_id: RunId) -> RunRecord | None:
        """The run, or None."""
        with self._uow.guard(f"find run {run_id}"):
            entry = self._state.runs.get(run_id)
            return None if entry is None else entry.value

    def find_latest(self) -> RunRecord | None:
        """The most recently started run of this bot, or None."""
        with self._uow.guard("find latest run"):
            runs = _sorted(self._state.runs.values(), lambda run: run.started_at, lambda _run: True)
            return runs[-1] if runs else None


class InMemoryOrderRepository(_Repository):
    """Order intents of the bot."""

    def add(self, order: TrackedOrder) -> None:
        """Store a new intent. Raises ``StoreError`` if the client order id is already stored."""
        key = order.client_order_id
        with self._uow.guard(f"add order {key}"):
            _check_values(order, f"add order {key}")
            if key in self._state.orders:
                raise StoreError(f"add order {key} failed: already stored")
            self._state.orders[key] = self._state.entry(order)

    def update(self, order: TrackedOrder) -> None:
        """Replace a stored intent. Raises ``StoreError`` if it is unknown."""
        key = order.client_order_id
        with self._uow.guard(f"update order {key}"):
            _check_values(order, f"update order {key}")
            entry = self._state.orders.get(key)
            if entry is None:
                raise StoreError(f"update order {key}: no such order")
            self._state.orders[key] = _Entry(entry.seq, order)

    def find(self, client_order_id: ClientOrderId) -> TrackedOrder | None:
        """The intent, or None."""
        with self._uow.guard(f"find order {client_order_id}"):
            entry = self._state.orders.get(client_order_id)
            return None if entry is None else entry.value

    def list_active(self, run_id: RunId | None = None) -> tuple[TrackedOrder, ...]:
        """Active intents, oldest first; only those of ``run_id`` when given."""
        with self._uow.guard("list active orders"):
            return _sorted(
                self._state.orders.values(),
                lambda order: order.created_at,
                lambda order: order.status.is_active and run_id in (None, order.run_id),
            )

    def list_for_run(self, run_id: RunId) -> tuple[TrackedOrder, ...]:
        """Every intent of the run, oldest first."""
        with self._uow.guard(f"list orders of run {run_id}"):
            return _sorted(
                self._state.orders.values(), lambda order: order.created_at, lambda order: order.run_id == run_id
            )


class InMemoryFillRepository(_Repository):
    """Booked fills of the bot; identity is (venue, symbol, trade id)."""

    def add(self, record: FillRecord) -> bool:
        """Store a booked fill; return False (and store nothing) if that identity is already stored."""
        key = (record.venue, record.fill.symbol, record.fill.trade_id.value)
        with self._uow.guard(f"add fill {record.venue}:{record.fill.symbol}:{record.fill.trade_id}"):
            _check_values(record, f"add fill {record.fill.trade_id}")
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


class InMemoryPlanRepository(_Repository):
    """Trade plans of the bot, with optimistic versioning."""

    def add(self, plan: Plan) -> None:
        """Store a new plan. Raises ``StoreError`` if the plan id exists."""
        with self._uow.guard(f"add plan {plan.plan_id}"):
            _check_values(plan, f"add plan {plan.plan_id}")
            if plan.version < 1:
                raise StoreError(f"add plan {plan.plan_id} failed: version {plan.version} is below 1")
            if plan.plan_id in self._state.plans:
                raise StoreError(f"add plan {plan.plan_id} failed: already stored")
            self._state.plans[plan.plan_id] = self._state.entry(plan)

    def update(self, plan: Plan) -> None:
        """Store the next version of a plan; raises ``StoreError`` unless the stored one is ``version - 1``."""
        key = plan.plan_id
        with self._uow.guard(f"update plan {key} to version {plan.version}"):
            _check_values(plan, f"update plan {key}")
            entry = self._state.plans.get(key)
            if entry is None:
                raise StoreError(f"update plan {key}: no such plan")
            stored = entry.value.version
            if stored != plan.version - 1:
                raise StoreError(
                    f"update plan {key}: version conflict, stored version is {stored} "
                    f"but the update is version {plan.version} (expected {stored + 1})"
                )
            self._state.plans[key] = _Entry(entry.seq, plan)

    def find(self, plan_id: PlanId) -> Plan | None:
        """The plan, or None."""
        with self._uow.guard(f"find plan {plan_id}"):
            entry = self._state.plans.get(plan_id)
            return None if entry is None else entry.value

    def list_active(self, run_id: RunId | None = None) -> tuple[Plan, ...]:
        """Pending and open plans, oldest first; only those of ``run_id`` when given."""
        with self._uow.guard("list active plans"):
            return _sorted(
                self._state.plans.values(),
                lambda plan: plan.opened_at,
                lambda plan: plan.status.is_active and run_id in (None, plan.run_id),
            )

    def list_for_run(self, run_id: RunId) -> tuple[Plan, ...]:
        """Every plan of the run, oldest first."""
        with self._uow.guard(f"list plans of run {run_id}"):
            return _sorted(self._state.plans.values(), lambda plan: plan.opened_at, lambda plan: plan.run_id == run_id)


class InMemorySequenceRepository(_Repository):
    """Named counters of the bot."""

    def next(self, name: str) -> int:
        """Increment counter ``name`` and return its new value (the first is 1)."""
        with self._uow.guard(f"next value of sequence {name!r}"):
            value = self._state.sequences.get(name, 0) + 1
            self._state.sequences[name] = value
            return value


def _of_scope(table: dict[tuple[StatsScope, Any], _V], scope: StatsScope) -> tuple[_V, ...]:
    """The values of ``scope`` in a table keyed by (scope, key), sorted by key."""
    return tuple(value for _, value in sorted(
        ((key, value) for key, value in table.items() if key[0] == scope), key=lambda item: item[0][1]
    ))


class InMemoryLedgerRepository(_Repository):
    """The cached ledger of each scope of the bot."""

    def find(self, scope: StatsScope) -> LedgerSnapshot | None:
        """The cached ledger of ``scope``, or None."""
        with self._uow.guard(f"find ledger {scope}"):
            state = self._state
            stored = state.ledger_totals.get(scope)
            if stored is None:
                return None
            zone, totals = stored
            return LedgerSnapshot(
                scope=scope, day_timezone=zone, totals=totals,
                holdings=_of_scope(state.ledger_holdings, scope),
                fees_by_asset=_of_scope(state.ledger_fees, scope),
                days=_of_scope(state.ledger_days, scope),
            )

    def save_totals(self, scope: StatsScope, day_timezone: str, totals: LedgerTotals) -> None:
        """Create or replace the totals of ``scope``."""
        with self._uow.guard(f"save ledger totals {scope}"):
            _check_values(totals, f"save ledger totals {scope}")
            self._state.ledger_totals[scope] = (day_timezone, totals)

    def save_holding(self, scope: StatsScope, holding: Holding) -> None:
        """Create or replace the holding of ``holding.symbol`` in ``scope``."""
        with self._uow.guard(f"save ledger holding {scope} {holding.symbol}"):
            _check_values(holding, f"save ledger holding {scope}")
            self._state.ledger_holdings[(scope, holding.symbol)] = holding

    def save_fee(self, scope: StatsScope, total: Money) -> None:
        """Create or replace the total fee paid in ``total.asset`` in ``scope``."""
        with self._uow.guard(f"save ledger fee {scope} {total.asset}"):
            _check_values(total, f"save ledger fee {scope}")
            self._state.ledger_fees[(scope, total.asset)] = total

    def save_day(self, scope: StatsScope, day: DayStats) -> None:
        """Create or replace the row of ``day.day`` in ``scope``."""
        with self._uow.guard(f"save ledger day {scope} {day.day}"):
            _check_values(day, f"save ledger day {scope}")
            self._state.ledger_days[(scope, day.day)] = day

    def replace(self, snapshot: LedgerSnapshot) -> None:
        """Replace everything cached for ``snapshot.scope``."""
        scope = snapshot.scope
        with self._uow.guard(f"replace ledger {scope}"):
            _check_values(snapshot, f"replace ledger {scope}")
            state = self._state
            _drop_scope(state.ledger_holdings, scope)
            _drop_scope(state.ledger_fees, scope)
            _drop_scope(state.ledger_days, scope)
            state.ledger_totals[scope] = (snapshot.day_timezone, snapshot.totals)
            state.ledger_holdings.update({(scope, h.symbol): h for h in snapshot.holdings})
            state.ledger_fees.update({(scope, f.asset): f for f in snapshot.fees_by_asset})
            state.ledger_days.update({(scope, d.day): d for d in snapshot.days})

    def scopes(self) -> tuple[StatsScope, ...]:
        """Every scope with a cached ledger, sorted."""
        with self._uow.guard("list ledger scopes"):
            return tuple(sorted(self._state.ledger_totals, key=lambda scope: scope.key))


class InMemoryTradingStateRepository(_Repository):
    """The bot's trading state (one per bot)."""

    def find(self) -> TradingStatus | None:
        """The stored trading state, or None."""
        with self._uow.guard("find trading state"):
            return self._state.trading_state

    def put(self, status: TradingStatus) -> None:
        """Create or replace the stored trading state."""
        with self._uow.guard(f"put trading state {status.state.value}"):
            _check_values(status, "put trading state")
            self._state.trading_state = status


class InMemoryValueRepository(_Repository):
    """Small named values of the bot."""

    def find(self, key: str) -> str | None:
        """The value under ``key``, or None."""
        with self._uow.guard(f"find value {key!r}"):
            return self._state.values.get(key)

    def put(self, key: str, value: str) -> None:
        """Create or replace the value under ``key``."""
        with self._uow.guard(f"put value {key!r}"):
            _check_key(key)
            self._state.values[key] = value


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not 1 <= len(key) <= 100:
        raise StoreError(f"a value key must be 1-100 characters, got {key!r}")


class InMemoryCandleRepository(_Repository):
    """Captured candles of the bot, one per (symbol, timeframe, open time)."""

    def upsert(self, candles: Sequence[Candle]) -> int:
        """Store ``candles``, replacing any with the same key."""
        with self._uow.guard(f"upsert {len(candles)} candles"):
            written: dict[tuple[Symbol, Timeframe], dict[datetime, Candle]] = {}
            for candle in candles:
                if not isinstance(candle, Candle):
                    raise StoreError(f"upsert candles failed: {candle!r} is not a Candle")
                _check_values(candle.open_time, "upsert candles")
                key = (candle.symbol, candle.timeframe)
                rows = written.get(key)
                if rows is None:
                    rows = written[key] = dict(self._state.candles.get(key, {}))
                rows[candle.open_time] = candle
            self._state.candles.update(written)
            return len(candles)

    def list_for(self, symbol: Symbol, timeframe: Timeframe, *, limit: int | None = None) -> tuple[Candle, ...]:
        """Stored candles of the key, oldest first (the newest ``limit`` when given)."""
        with self._uow.guard(f"list candles {symbol} {timeframe}"):
            rows = self._state.candles.get((symbol, timeframe), {})
            ordered = [rows[time] for time in sorted(rows)]
            if limit is not None:
                ordered = ordered[max(0, len(ordered) - limit):] if limit > 0 else []
            return tuple(ordered)

    def count(self, symbol: Symbol, timeframe: Timeframe) -> int:
        """How many candles of the key are stored."""
        with self._uow.guard(f"count candles {symbol} {timeframe}"):
            return len(self._state.candles.get((symbol, timeframe), {}))

    def prune(self, symbol: Symbol, timeframe: Timeframe, *, keep: int, older_than: datetime | None = None) -> int:
        """Keep the newest ``keep`` candles of the key, none opened before ``older_than``."""
        with self._uow.guard(f"prune candles {symbol} {timeframe}"):
            if keep < 0:
                raise StoreError(f"prune candles failed: keep must be at least 0, got {keep}")
            if older_than is not None:
                _check_values(older_than, "prune candles")
            key = (symbol, timeframe)
            rows = self._state.candles.get(key)
            if not rows:
                return 0
            times = sorted(rows, reverse=True)
            kept = [t for t in times[:keep] if older_than is None or t >= older_than]
            deleted = len(rows) - len(kept)
            if deleted:
                if kept:
                    self._state.candles[key] = {t: rows[t] for t in reversed(kept)}
                else:
                    del self._state.candles[key]
            return deleted

    def stored_keys(self) -> tuple[tuple[Symbol, Timeframe], ...]:
        """Every key with stored candles, sorted."""
        with self._uow.guard("list candle keys"):
            return tuple(sorted(key for key, rows in self._state.candles.items() if rows))


class InMemoryCommandRepository(_Repository):
    """Operator commands of the bot, kept after handling."""

    def add(self, command: OperatorCommand) -> None:
        """Queue a new command. Raises ``StoreError`` if its id is already stored."""
        action = f"add command {command.command_id}"
        with self._uow.guard(action):
            _check_values(command, action)
            if command.command_id in self._state.commands:
                raise StoreError(f"{action} failed: already stored")
            self._state.commands[command.command_id] = self._state.entry(command)

    def update(self, command: OperatorCommand) -> None:
        """Replace a stored command. Raises ``StoreError`` if it is unknown."""
        action = f"update command {command.command_id}"
        with self._uow.guard(action):
            _check_values(command, action)
            entry = self._state.commands.get(command.command_id)
            if entry is None:
                raise StoreError(f"{action}: no such command")
            self._state.commands[command.command_id] = _Entry(entry.seq, command)

    def find(self, command_id: str) -> OperatorCommand | None:
        """The command, or None."""
        with self._uow.guard(f"find command {command_id}"):
            entry = self._state.commands.get(command_id)
            return None if entry is None else entry.value

    def list_pending(self) -> tuple[OperatorCommand, ...]:
        """Commands still pending, oldest first."""
        with self._uow.guard("list pending commands"):
            return _sorted(self._state.commands.values(), lambda c: c.created_at,
                           lambda c: c.status is CommandStatus.PENDING)

    def has_pending(self) -> bool:
        """True when a command is pending."""
        with self._uow.guard("any pending command"):
            return any(e.value.status is CommandStatus.PENDING for e in self._state.commands.values())

    def list_recent(self, limit: int = 50) -> tuple[OperatorCommand, ...]:
        """The newest ``limit`` commands, newest first."""
        with self._uow.guard("list recent commands"):
            ordered = _sorted(self._state.commands.values(), lambda c: c.created_at, lambda _c: True)
            return tuple(reversed(ordered))[:max(limit, 0)]


def _drop_scope(table: dict[tuple[StatsScope, _K], Any], scope: StatsScope) -> None:
    for key in [k for k in table if k[0] == scope]:
        del table[key]
