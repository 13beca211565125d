"""The SQL store's repositories: one per record type, each working inside one ``SqlUnitOfWork``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import String, Table, bindparam, delete, func, insert, select, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite

from trader_adapters.sql.mapping import (
    FILL_READ_COLUMNS,
    candle_columns,
    candle_reader,
    command_columns,
    command_from_row,
    day_columns,
    fee_columns,
    fill_columns,
    fill_from_row,
    fill_reader,
    holding_columns,
    ledger_from_rows,
    order_columns,
    order_from_row,
    plan_columns,
    plan_from_row,
    run_columns,
    run_from_row,
    totals_columns,
    trading_state_columns,
    trading_state_from_row,
)
from trader_adapters.sql.models import (
    CandleRow,
    CommandRow,
    FillRow,
    LedgerDayRow,
    LedgerFeeRow,
    LedgerHoldingRow,
    LedgerTotalsRow,
    OrderRow,
    PlanRow,
    RunRow,
    SequenceRow,
    TradingStateRow,
    ValueRow,
)
from trader_core.model.commands import CommandStatus, OperatorCommand
from trader_core.model.errors import InvalidDataError, InvalidValueError, StoreError
from trader_core.model.health import TradingStatus
from trader_core.model.ids import ClientOrderId, PlanId, RunId, Symbol
from trader_core.model.market import Candle, Timeframe
from trader_core.model.money import Money
from trader_core.model.plans import Plan, PlanStatus
from trader_core.model.records import FillRecord, IntentStatus, RunRecord, TrackedOrder
from trader_core.model.stats import DayStats, Holding, LedgerSnapshot, LedgerTotals, StatsScope

if TYPE_CHECKING:
    from trader_adapters.sql.store import SqlUnitOfWork

__all__ = [
    "SqlCandleRepository",
    "SqlCommandRepository",
    "SqlFillRepository",
    "SqlLedgerRepository",
    "SqlOrderRepository",
    "SqlPlanRepository",
    "SqlRunRepository",
    "SqlSequenceRepository",
    "SqlTradingStateRepository",
    "SqlValueRepository",
]

_RUNS = cast(Table, RunRow.__table__)
_ORDERS = cast(Table, OrderRow.__table__)
_FILLS = cast(Table, FillRow.__table__)
_PLANS = cast(Table, PlanRow.__table__)
_SEQUENCES = cast(Table, SequenceRow.__table__)

_TOTALS = cast(Table, LedgerTotalsRow.__table__)
_HOLDINGS = cast(Table, LedgerHoldingRow.__table__)
_FEES = cast(Table, LedgerFeeRow.__table__)
_DAYS = cast(Table, LedgerDayRow.__table__)
_TRADING_STATE = cast(Table, TradingStateRow.__table__)

_TABLES = {
    table.name: table
    for table in (_RUNS, _ORDERS, _FILLS, _PLANS, _SEQUENCES, _TOTALS, _HOLDINGS, _FEES, _DAYS)
}
_FILL_KEY = ["bot_id", "venue", "symbol", "trade_id"]

_ACTIVE_INTENTS = [status.value for status in IntentStatus if status.is_active]
_ACTIVE_PLANS = [status.value for status in PlanStatus if status.is_active]


@cache
def _update_by(table_name: str, keys: tuple[str, ...], names: tuple[str, ...]) -> Any:
    """An UPDATE of ``names`` where ``keys`` match, built once and compiled once (cached by SQLAlchemy)."""
    table = _TABLES[table_name]
    return (
        update(table)
        .where(*(table.c[key] == bindparam(f"k_{key}") for key in keys))
        .values({name: bindparam(f"v_{name}") for name in names})
    )


def _update_params(keys: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    return {**{f"k_{k}": v for k, v in keys.items()}, **{f"v_{k}": v for k, v in values.items()}}


@cache
def _insert_fill(dialect: str) -> Any:
    insert_ = sqlite.insert if dialect == "sqlite" else postgresql.insert
    # ON CONFLICT DO NOTHING: a duplicate neither fails the transaction (PostgreSQL would abort it on a
    # unique violation) nor races with a concurrent booking of the same fill.
    return insert_(_FILLS).on_conflict_do_nothing(index_elements=_FILL_KEY).returning(_FILLS.c.booking_seq)


@cache
def _next_sequence(dialect: str) -> Any:
    insert_ = sqlite.insert if dialect == "sqlite" else postgresql.insert
    # One atomic statement: concurrent writers queue on the row, none reads a stale value.
    return (
        insert_(_SEQUENCES)
        .values(bot_id=bindparam("b_bot"), name=bindparam("b_name"), value=1)
        .on_conflict_do_update(index_elements=["bot_id", "name"], set_={"value": _SEQUENCES.c.value + 1})
        .returning(_SEQUENCES.c.value)
    )


class _Repository:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    @property
    def _bot(self) -> str:
        return self._uow.bot

    def _execute(self, statement: Any, params: dict[str, Any] | list[dict[str, Any]] | None = None) -> Any:
        return self._uow.connection.execute(statement, params)

    def _rows(self, statement: Any) -> list[Any]:
        # Core rows carry the columns by name, which is all the mapping functions read.
        return list(self._uow.connection.execute(statement))


class SqlRunRepository(_Repository):
    """Runs of the bot."""

    def add(self, run: RunRecord) -> None:
        """Store a new run. Raises ``StoreError`` if the run id exists."""
        with self._uow.guard(f"add run {run.run_id}"):
            self._execute(insert(_RUNS), {"bot_id": self._bot, **run_columns(run)})

    def update(self, run: RunRecord) -> None:
        """Replace a stored run. Raises ``StoreError`` if it is unknown."""
        with self._uow.guard(f"update run {run.run_id}"):
            values = run_columns(run)
            result = self._execute(
                _update_by("runs", ("bot_id", "run_id"), tuple(values)),
                _update_params({"bot_id": self._bot, "run_id": run.run_id.value}, values),
            )
            if result.rowcount != 1:
                raise StoreError(f"update run {run.run_id}: no such run for bot {self._bot}")

    def find(self, run_id: RunId) -> RunRecord | None:
        """The run, or None."""
        with self._uow.guard(f"find run {run_id}"):
            rows = self._rows(select(RunRow).where(RunRow.bot_id == self._bot, RunRow.run_id == run_id.value))
            return run_from_row(rows[0]) if rows else None

    def find_latest(self) -> RunRecord | None:
        """The most recently started run of this bot, or None."""
        with self._uow.guard("find latest run"):
            rows = self._rows(
                select(RunRow)
                .where(RunRow.bot_id == self._bot)
                .order_by(RunRow.started_at.desc(), RunRow.id.desc())
                .limit(1)
            )
            return run_from_row(rows[0]) if rows else None


class SqlOrderRepository(_Repository):
    """Order intents of the bot."""

    def add(self, order: TrackedOrder) -> None:
        """Store a new intent. Raises ``StoreError`` if the client order id is already stored."""
        with self._uow.guard(f"add order {order.client_order_id}"):
            self._execute(insert(_ORDERS), {"bot_id": self._bot, **order_columns(order)})

    def update(self, order: TrackedOrder) -> None:
        """Replace a stored intent. Raises ``StoreError`` if it is unknown."""
        key = order.client_order_id.value
        with self._uow.guard(f"update order {key}"):
            values = order_columns(order)
            result = self._execute(
                _update_by("orders", ("bot_id", "client_order_id"), tuple(values)),
                _update_params({"bot_id": self._bot, "client_order_id": key}, values),
            )
            if result.rowcount != 1:
                raise StoreError(f"update order {key}: no such order for bot {self._bot}")

    def find(self, client_order_id: ClientOrderId) -> TrackedOrder | None:
        """The intent, or None."""
        with self._uow.guard(f"find order {client_order_id}"):
            rows = self._rows(
                select(OrderRow).where(
                    OrderRow.bot_id == self._bot, OrderRow.client_order_id == client_order_id.value
                )
            )
            return order_from_row(rows[0]) if rows else None

    def list_active(self, run_id: RunId | None = None) -> tuple[TrackedOrder, ...]:
        """Active intents, oldest first; only those of ``run_id`` when given."""
        statement = select(OrderRow).where(OrderRow.bot_id == self._bot, OrderRow.status.in_(_ACTIVE_INTENTS))
        if run_id is not None:
            statement = statement.where(OrderRow.run_id == run_id.value)
        with self._uow.guard("list active orders"):
            rows = self._rows(statement.order_by(OrderRow.created_at, OrderRow.id))
            return tuple(order_from_row(row) for row in rows)

    def list_for_run(self, run_id: RunId) -> tuple[TrackedOrder, ...]:
        """Every intent of the run, oldest first."""
        with self._uow.guard(f"list orders of run {run_id}"):
            rows = self._rows(
                select(OrderRow)
                .where(OrderRow.bot_id == self._bot, OrderRow.run_id == run_id.value)
                .order_by(OrderRow.created_at, OrderRow.id)
            )
            return tuple(order_from_row(row) for row in rows)


class SqlFillRepository(_Repository):
    """Booked fills of the bot; identity is (venue, symbol, trade id)."""

    def add(self, record: FillRecord) -> bool:
        """Store a booked fill; return False (and store nothing) if that identity is already stored."""
        fill = record.fill
        with self._uow.guard(f"add fill {record.venue}:{fill.symbol}:{fill.trade_id}"):
            values = {"bot_id": self._bot, **fill_columns(record)}
            dialect = self._uow.dialect
            if dialect in ("sqlite", "postgresql"):
                # RETURNING names the inserted row; rowcount is not reliable for this statement everywhere.
                return self._execute(_insert_fill(dialect), values).first() is not None
            exists = self._execute(
                select(_FILLS.c.booking_seq).where(*(_FILLS.c[name] == values[name] for name in _FILL_KEY))
            ).first()
            if exists is not None:
                return False
            self._execute(insert(_FILLS), values)
            return True

    def list_for_run(self, run_id: RunId) -> tuple[FillRecord, ...]:
        """Fills of the run, in booking order."""
        with self._uow.guard(f"list fills of run {run_id}"):
            rows = self._rows(
                select(FillRow)
                .where(FillRow.bot_id == self._bot, FillRow.run_id == run_id.value)
                .order_by(FillRow.booking_seq)
            )
            return tuple(fill_from_row(row) for row in rows)

    def list_all(self) -> tuple[FillRecord, ...]:
        """Every fill of the bot, in booking order."""
        with self._uow.guard("list fills"):
            rows = self._rows(select(FillRow).where(FillRow.bot_id == self._bot).order_by(FillRow.booking_seq))
            return tuple(fill_from_row(row) for row in rows)

    def iter_all(self, run_id: RunId | None = None, *, batch: int = 10_000) -> Iterator[FillRecord]:
        """Every fill (of ``run_id`` when given) in booking order, fetched ``batch`` rows at a time (a
        server-side cursor on PostgreSQL). Consume it inside the unit of work."""
        if batch < 1:
            raise StoreError(f"list fills: batch must be positive, got {batch}")
        # The columns as plain text: the reader parses and checks each value itself, once (see mapping).
        columns = (type_coerce(_FILLS.c[name], String()).label(name) for name in FILL_READ_COLUMNS)
        statement = select(*columns).where(_FILLS.c.bot_id == self._bot)
        if run_id is not None:
            statement = statement.where(_FILLS.c.run_id == run_id.value)
        statement = statement.order_by(_FILLS.c.booking_seq)
        with self._uow.guard("list fills"):
            connection = self._uow.connection.execution_options(stream_results=True, max_row_buffer=batch)
            result = connection.execute(statement)
            read = fill_reader()
            for rows in result.partitions(batch):
                yield from map(read, rows)

    def count(self, run_id: RunId | None = None) -> int:
        """How many fills are stored (for ``run_id`` when given)."""
        statement = select(func.count()).select_from(_FILLS).where(_FILLS.c.bot_id == self._bot)
        if run_id is not None:
            statement = statement.where(_FILLS.c.run_id == run_id.value)
        with self._uow.guard("count fills"):
            return int(self._execute(statement).scalar_one())

    def contains(self, venue: str, symbol: Symbol, trade_id: str) -> bool:
        """True when the fill with this identity is stored."""
        key = {"bot_id": self._bot, "venue": venue, "symbol": str(symbol), "trade_id": trade_id}
        with self._uow.guard(f"find fill {venue}:{symbol}:{trade_id}"):
            statement = select(_FILLS.c.booking_seq).where(*(_FILLS.c[name] == key[name] for name in _FILL_KEY))
            return self._execute(statement).first() is not None


class SqlPlanRepository(_Repository):
    """Trade plans of the bot, with optimistic versioning."""

    def add(self, plan: Plan) -> None:
        """Store a new plan. Raises ``StoreError`` if the plan id exists."""
        with self._uow.guard(f"add plan {plan.plan_id}"):
            self._execute(insert(_PLANS), {"bot_id": self._bot, **plan_columns(plan)})

    def update(self, plan: Plan) -> None:
        """Store the next version of a plan; raises ``StoreError`` unless the stored one is ``version - 1``.

        The version test is part of the UPDATE itself, so two writers that both read version n cannot
        both write n + 1: the second matches no row.
        """
        key = plan.plan_id.value
        with self._uow.guard(f"update plan {key} to version {plan.version}"):
            values = plan_columns(plan)
            result = self._execute(
                _update_by("plans", ("bot_id", "plan_id", "version"), tuple(values)),
                _update_params({"bot_id": self._bot, "plan_id": key, "version": plan.version - 1}, values),
            )
            if result.rowcount == 1:
                return
            stored = self._execute(
                select(_PLANS.c.version).where(_PLANS.c.bot_id == self._bot, _PLANS.c.plan_id == key)
            ).scalar_one_or_none()
            if stored is None:
                raise StoreError(f"update plan {key}: no such plan for bot {self._bot}")
            raise StoreError(
                f"update plan {key}: version conflict, stored version is {stored} "
                f"but the update is version {plan.version} (expected {stored + 1})"
            )

    def find(self, plan_id: PlanId) -> Plan | None:
        """The plan, or None."""
        with self._uow.guard(f"find plan {plan_id}"):
            rows = self._rows(select(PlanRow).where(PlanRow.bot_id == self._bot, PlanRow.plan_id == plan_id.value))
            return plan_from_row(rows[0]) if rows else None

    def list_active(self, run_id: RunId | None = None) -> tuple[Plan, ...]:
        """Pending and open plans, oldest first; only those of ``run_id`` when given."""
        statement = select(PlanRow).where(PlanRow.bot_id == self._bot, PlanRow.status.in_(_ACTIVE_PLANS))
        if run_id is not None:
            statement = statement.where(PlanRow.run_id == run_id.value)
        with self._uow.guard("list active plans"):
            rows = self._rows(statement.order_by(PlanRow.opened_at, PlanRow.id))
            return tuple(plan_from_row(row) for row in rows)

    def list_for_run(self, run_id: RunId) -> tuple[Plan, ...]:
        """Every plan of the run, oldest first."""
        with self._uow.guard(f"list plans of run {run_id}"):
            rows = self._rows(
                select(PlanRow)
                .where(PlanRow.bot_id == self._bot, PlanRow.run_id == run_id.value)
                .order_by(PlanRow.opened_at, PlanRow.id)
            )
            return tuple(plan_from_row(row) for row in rows)


class SqlSequenceRepository(_Repository):
    """Named counters of the bot."""

    def next(self, name: str) -> int:
        """Increment counter ``name`` and return its new value (the first is 1)."""
        with self._uow.guard(f"next value of sequence {name!r}"):
            dialect = self._uow.dialect
            if dialect in ("sqlite", "postgresql"):
                return int(self._execute(_next_sequence(dialect), {"b_bot": self._bot, "b_name": name}).scalar_one())
            where = (_SEQUENCES.c.bot_id == self._bot, _SEQUENCES.c.name == name)
            result = self._execute(update(_SEQUENCES).where(*where).values(value=_SEQUENCES.c.value + 1))
            if result.rowcount == 0:
                self._execute(insert(_SEQUENCES).values(bot_id=self._bot, name=name, value=1))
            return int(self._execute(select(_SEQUENCES.c.value).where(*where)).scalar_one())


@cache
def _upsert(dialect: str, table_name: str, keys: tuple[str, ...], names: tuple[str, ...]) -> Any:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET names: one atomic statement, built once."""
    table = _TABLES[table_name]
    insert_ = sqlite.insert if dialect == "sqlite" else postgresql.insert
    statement = insert_(table)
    return statement.on_conflict_do_update(index_elements=list(keys), set_={n: statement.excluded[n] for n in names})


class SqlLedgerRepository(_Repository):
    """The cached ledger of each scope of the bot (totals, holdings, fees per asset, days)."""

    def find(self, scope: StatsScope) -> LedgerSnapshot | None:
        """The cached ledger of ``scope``, or None."""
        where = {"bot_id": self._bot, "scope": scope.key}
        with self._uow.guard(f"find ledger {scope}"):
            totals = self._select(_TOTALS, where, "id")
            if not totals:
                return None
            return ledger_from_rows(
                scope, totals[0], self._select(_HOLDINGS, where, "symbol"), self._select(_FEES, where, "asset"),
                self._select(_DAYS, where, "day"),
            )

    def save_totals(self, scope: StatsScope, day_timezone: str, totals: LedgerTotals) -> None:
        """Create or replace the totals of ``scope``."""
        with self._uow.guard(f"save ledger totals {scope}"):
            self._save(_TOTALS, ("bot_id", "scope"), scope, totals_columns(day_timezone, totals))

    def save_holding(self, scope: StatsScope, holding: Holding) -> None:
        """Create or replace the holding of ``holding.symbol`` in ``scope``."""
        with self._uow.guard(f"save ledger holding {scope} {holding.symbol}"):
            self._save(_HOLDINGS, ("bot_id", "scope", "symbol"), scope, holding_columns(holding))

    def save_fee(self, scope: StatsScope, total: Money) -> None:
        """Create or replace the total fee paid in ``total.asset`` in ``scope``."""
        with self._uow.guard(f"save ledger fee {scope} {total.asset}"):
            self._save(_FEES, ("bot_id", "scope", "asset"), scope, fee_columns(total))

    def save_day(self, scope: StatsScope, day: DayStats) -> None:
        """Create or replace the row of ``day.day`` in ``scope``."""
        with self._uow.guard(f"save ledger day {scope} {day.day}"):
            self._save(_DAYS, ("bot_id", "scope", "day"), scope, day_columns(day))

    def replace(self, snapshot: LedgerSnapshot) -> None:
        """Replace everything cached for ``snapshot.scope``."""
        scope = snapshot.scope
        base = {"bot_id": self._bot, "scope": scope.key}
        with self._uow.guard(f"replace ledger {scope}"):
            for table in (_TOTALS, _HOLDINGS, _FEES, _DAYS):
                self._execute(delete(table).where(table.c.bot_id == self._bot, table.c.scope == scope.key))
            self._execute(insert(_TOTALS), {**base, **totals_columns(snapshot.day_timezone, snapshot.totals)})
            for table, rows in (
                (_HOLDINGS, [holding_columns(h) for h in snapshot.holdings]),
                (_FEES, [fee_columns(f) for f in snapshot.fees_by_asset]),
                (_DAYS, [day_columns(d) for d in snapshot.days]),
            ):
                if rows:
                    self._execute(insert(table), [{**base, **row} for row in rows])

    def scopes(self) -> tuple[StatsScope, ...]:
        """Every scope with a cached ledger, sorted."""
        with self._uow.guard("list ledger scopes"):
            keys = self._execute(
                select(_TOTALS.c.scope).where(_TOTALS.c.bot_id == self._bot).order_by(_TOTALS.c.scope)
            ).scalars()
            return tuple(StatsScope.parse(key) for key in keys)

    def _select(self, table: Table, where: dict[str, Any], order: str) -> list[Any]:
        return self._rows(
            select(table).where(*(table.c[name] == value for name, value in where.items())).order_by(table.c[order])
        )

    def _save(self, table: Table, keys: tuple[str, ...], scope: StatsScope, values: dict[str, Any]) -> None:
        row = {"bot_id": self._bot, "scope": scope.key, **values}
        dialect = self._uow.dialect
        if dialect in ("sqlite", "postgresql"):
            names = tuple(name for name in values if name not in keys)
            self._execute(_upsert(dialect, table.name, keys, names), row)
            return
        where = [table.c[name] == row[name] for name in keys]
        if self._execute(update(table).where(*where).values(values)).rowcount == 0:
            self._execute(insert(table), row)


class SqlTradingStateRepository(_Repository):
    """The bot's trading state: one row per bot."""

    def find(self) -> TradingStatus | None:
        """The stored trading state, or None."""
        with self._uow.guard("find trading state"):
            row = self._execute(select(_TRADING_STATE).where(_TRADING_STATE.c.bot_id == self._bot)).first()
            return None if row is None else trading_state_from_row(row)

    def put(self, status: TradingStatus) -> None:
        """Create or replace the stored trading state."""
        values = trading_state_columns(status)
        with self._uow.guard(f"put trading state {status.state.value}"):
            dialect = self._uow.dialect
            if dialect in ("sqlite", "postgresql"):
                insert_ = sqlite.insert if dialect == "sqlite" else postgresql.insert
                statement = insert_(_TRADING_STATE).values(bot_id=self._bot, **values)
                self._execute(statement.on_conflict_do_update(
                    index_elements=["bot_id"], set_={name: statement.excluded[name] for name in values}
                ))
                return
            where = _TRADING_STATE.c.bot_id == self._bot
            if self._execute(update(_TRADING_STATE).where(where).values(values)).rowcount == 0:
                self._execute(insert(_TRADING_STATE).values(bot_id=self._bot, **values))


_VALUES = cast(Table, ValueRow.__table__)


class SqlValueRepository(_Repository):
    """Small named values of the bot: one row per (bot, key)."""

    def find(self, key: str) -> str | None:
        """The value under ``key``, or None."""
        with self._uow.guard(f"find value {key!r}"):
            row = self._execute(
                select(_VALUES.c.value).where(_VALUES.c.bot_id == self._bot, _VALUES.c.key == key)
            ).first()
            return None if row is None else str(row[0])

    def put(self, key: str, value: str) -> None:
        """Create or replace the value under ``key``."""
        if not isinstance(key, str) or not 1 <= len(key) <= 100:
            raise StoreError(f"a value key must be 1-100 characters, got {key!r}")
        with self._uow.guard(f"put value {key!r}"):
            where = (_VALUES.c.bot_id == self._bot, _VALUES.c.key == key)
            if self._execute(update(_VALUES).where(*where).values(value=value)).rowcount == 0:
                self._execute(insert(_VALUES).values(bot_id=self._bot, key=key, value=value))


_CANDLES = cast(Table, CandleRow.__table__)
_CANDLE_KEY = ("bot_id", "symbol", "timeframe", "open_time")
_CANDLE_VALUES = ("open", "high", "low", "close", "volume")


@cache
def _upsert_candles(dialect: str) -> Any:
    """INSERT ... ON CONFLICT (bot, symbol, timeframe, open time) DO UPDATE: one statement per batch."""
    insert_ = sqlite.insert if dialect == "sqlite" else postgresql.insert
    statement = insert_(_CANDLES)
    return statement.on_conflict_do_update(index_elements=list(_CANDLE_KEY),
                                           set_={name: statement.excluded[name] for name in _CANDLE_VALUES})


class SqlCandleRepository(_Repository):
    """Captured candles of the bot: one row per (bot, symbol, timeframe, open time)."""

    def upsert(self, candles: Sequence[Candle]) -> int:
        """Store ``candles`` in one batch, replacing rows with the same key."""
        if not candles:
            return 0
        with self._uow.guard(f"upsert {len(candles)} candles"):
            rows = [{"bot_id": self._bot, **candle_columns(candle)} for candle in candles]
            dialect = self._uow.dialect
            if dialect in ("sqlite", "postgresql"):
                # A batch may name one key twice: the last candle wins, as one at a time would.
                unique = list({(r["symbol"], r["timeframe"], r["open_time"]): r for r in rows}.values())
                self._uow.connection.execute(_upsert_candles(dialect), unique)
                return len(candles)
            for row in rows:
                where = [_CANDLES.c[name] == row[name] for name in _CANDLE_KEY]
                values = {name: row[name] for name in _CANDLE_VALUES}
                if self._execute(update(_CANDLES).where(*where).values(values)).rowcount == 0:
                    self._execute(insert(_CANDLES).values(row))
            return len(candles)

    def _key(self, symbol: Symbol, timeframe: Timeframe) -> tuple[Any, ...]:
        return (_CANDLES.c.bot_id == self._bot, _CANDLES.c.symbol == str(symbol),
                _CANDLES.c.timeframe == timeframe.text)

    def list_for(self, symbol: Symbol, timeframe: Timeframe, *, limit: int | None = None) -> tuple[Candle, ...]:
        """Stored candles of the key, oldest first (the newest ``limit`` when given)."""
        with self._uow.guard(f"list candles {symbol} {timeframe}"):
            c = _CANDLES.c
            query = select(c.open_time, c.open, c.high, c.low, c.close, c.volume).where(*self._key(symbol, timeframe))
            if limit is not None:
                query = query.order_by(c.open_time.desc()).limit(max(limit, 0))
            else:
                query = query.order_by(c.open_time)
            rows = self._rows(query)
            if limit is not None:
                rows.reverse()
            read = candle_reader(symbol, timeframe)
            try:
                return tuple(read(row) for row in rows)
            except (InvalidDataError, InvalidValueError) as exc:
                raise StoreError(f"a stored {symbol} {timeframe} candle is invalid: {exc}") from exc

    def count(self, symbol: Symbol, timeframe: Timeframe) -> int:
        """How many candles of the key are stored."""
        with self._uow.guard(f"count candles {symbol} {timeframe}"):
            return int(self._execute(select(func.count()).select_from(_CANDLES)
                                     .where(*self._key(symbol, timeframe))).scalar_one())

    def prune(self, symbol: Symbol, timeframe: Timeframe, *, keep: int, older_than: datetime | None = None) -> int:
        """Keep the newest ``keep`` candles of the key, none opened before ``older_than``."""
        if keep < 0:
            raise StoreError(f"prune candles failed: keep must be at least 0, got {keep}")
        with self._uow.guard(f"prune candles {symbol} {timeframe}"):
            key = self._key(symbol, timeframe)
            cutoffs = []
            if keep == 0:
                return int(self._execute(delete(_CANDLES).where(*key)).rowcount)
            # The open time of the keep-th newest row: everything older goes.
            newest_kept = self._execute(
                select(_CANDLES.c.open_time).where(*key).order_by(_CANDLES.c.open_time.desc()).offset(keep - 1).limit(1)
            ).scalar_one_or_none()
            if newest_kept is not None:
                cutoffs.append(newest_kept)
            if older_than is not None:
                cutoffs.append(older_than)
            if not cutoffs:
                return 0
            return int(self._execute(delete(_CANDLES).where(*key, _CANDLES.c.open_time < max(cutoffs))).rowcount)

    def stored_keys(self) -> tuple[tuple[Symbol, Timeframe], ...]:
        """Every key with stored candles, sorted."""
        with self._uow.guard("list candle keys"):
            rows = self._rows(select(_CANDLES.c.symbol, _CANDLES.c.timeframe).where(_CANDLES.c.bot_id == self._bot)
                              .distinct())
            return tuple(sorted((Symbol.parse(row.symbol), Timeframe(row.timeframe)) for row in rows))


_COMMANDS = cast(Table, CommandRow.__table__)
_PENDING = CommandStatus.PENDING.value


class SqlCommandRepository(_Repository):
    """Operator commands of the bot: one row per (bot, command id), kept after handling."""

    def add(self, command: OperatorCommand) -> None:
        """Queue a new command. Raises ``StoreError`` if its id is already stored."""
        with self._uow.guard(f"add command {command.command_id}"):
            self._execute(insert(_COMMANDS).values(bot_id=self._bot, **command_columns(command)))

    def update(self, command: OperatorCommand) -> None:
        """Replace a stored command. Raises ``StoreError`` if it is unknown."""
        with self._uow.guard(f"update command {command.command_id}"):
            values = command_columns(command)
            result = self._execute(update(_COMMANDS).where(
                _COMMANDS.c.bot_id == self._bot, _COMMANDS.c.command_id == command.command_id).values(values))
            if result.rowcount != 1:
                raise StoreError(f"update command {command.command_id}: no such command for bot {self._bot}")

    def find(self, command_id: str) -> OperatorCommand | None:
        """The command, or None."""
        with self._uow.guard(f"find command {command_id}"):
            row = self._execute(select(_COMMANDS).where(
                _COMMANDS.c.bot_id == self._bot, _COMMANDS.c.command_id == command_id)).first()
            return None if row is None else command_from_row(row)

    def list_pending(self) -> tuple[OperatorCommand, ...]:
        """Commands still pending, oldest first."""
        with self._uow.guard("list pending commands"):
            rows = self._rows(select(_COMMANDS).where(_COMMANDS.c.bot_id == self._bot, _COMMANDS.c.status == _PENDING)
                              .order_by(_COMMANDS.c.created_at, _COMMANDS.c.id))
            return tuple(command_from_row(row) for row in rows)

    def has_pending(self) -> bool:
        """True when a command is pending."""
        with self._uow.guard("any pending command"):
            return self._execute(select(_COMMANDS.c.id).where(
                _COMMANDS.c.bot_id == self._bot, _COMMANDS.c.status == _PENDING).limit(1)).first() is not None

    def list_recent(self, limit: int = 50) -> tuple[OperatorCommand, ...]:
        """The newest ``limit`` commands, newest first."""
        with self._uow.guard("list recent commands"):
            rows = self._rows(select(_COMMANDS).where(_COMMANDS.c.bot_id == self._bot)
                              .order_by(_COMMANDS.c.created_at.desc(), _COMMANDS.c.id.desc()).limit(max(limit, 0)))
            return tuple(command_from_row(row) for row in rows)
