"""What every SQL repository shares: the unit of work it runs in (as a protocol, so that the repositories do
not import the store), the table handles, and statements built once per dialect."""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import cache
from typing import Any, Protocol, cast

from sqlalchemy import Connection, Table, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite

from trader_adapters.sql.models import (
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
)
from trader_core.model.plans import PlanStatus
from trader_core.model.records import IntentStatus

__all__ = ["Repository", "UnitContext"]


class UnitContext(Protocol):
    """What a repository needs of its unit of work (``SqlUnitOfWork``): the bot, the connection, the dialect,
    and the guard that turns a database failure into a ``StoreError`` and ends the unit."""

    bot: str

    @property
    def connection(self) -> Connection: ...

    @property
    def dialect(self) -> str: ...

    def guard(self, action: str) -> AbstractContextManager[None]: ...


RUNS = cast(Table, RunRow.__table__)
ORDERS = cast(Table, OrderRow.__table__)
FILLS = cast(Table, FillRow.__table__)
PLANS = cast(Table, PlanRow.__table__)
SEQUENCES = cast(Table, SequenceRow.__table__)

TOTALS = cast(Table, LedgerTotalsRow.__table__)
HOLDINGS = cast(Table, LedgerHoldingRow.__table__)
FEES = cast(Table, LedgerFeeRow.__table__)
DAYS = cast(Table, LedgerDayRow.__table__)
TRADING_STATE = cast(Table, TradingStateRow.__table__)

TABLES = {
    table.name: table
    for table in (RUNS, ORDERS, FILLS, PLANS, SEQUENCES, TOTALS, HOLDINGS, FEES, DAYS)
}
FILL_KEY = ["bot_id", "venue", "symbol", "trade_id"]

ACTIVE_INTENTS = [status.value for status in IntentStatus if status.is_active]
ACTIVE_PLANS = [status.value for status in PlanStatus if status.is_active]


@cache
def update_by(table_name: str, keys: tuple[str, ...], names: tuple[str, ...]) -> Any:
    """An UPDATE of ``names`` where ``keys`` match, built once and compiled once (cached by SQLAlchemy)."""
    table = TABLES[table_name]
    return (
        update(table)
        .where(*(table.c[key] == bindparam(f"k_{key}") for key in keys))
        .values({name: bindparam(f"v_{name}") for name in names})
    )


def update_params(keys: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    return {**{f"k_{k}": v for k, v in keys.items()}, **{f"v_{k}": v for k, v in values.items()}}


@cache
def insert_fill(dialect: str) -> Any:
    insert_ = sqlite.insert if dialect == "sqlite" else postgresql.insert
    # ON CONFLICT DO NOTHING: a duplicate neither fails the transaction (PostgreSQL would abort it on a
    # unique violation) nor races with a concurrent booking of the same fill.
    return insert_(FILLS).on_conflict_do_nothing(index_elements=FILL_KEY).returning(FILLS.c.booking_seq)


@cache
def next_sequence(dialect: str) -> Any:
    insert_ = sqlite.insert if dialect == "sqlite" else postgresql.insert
    # One atomic statement: concurrent writers queue on the row, none reads a stale value.
    return (
        insert_(SEQUENCES)
        .values(bot_id=bindparam("b_bot"), name=bindparam("b_name"), value=1)
        .on_conflict_do_update(index_elements=["bot_id", "name"], set_={"value": SEQUENCES.c.value + 1})
        .returning(SEQUENCES.c.value)
    )


@cache
def upsert(dialect: str, table_name: str, keys: tuple[str, ...], names: tuple[str, ...]) -> Any:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET names: one atomic statement, built once."""
    table = TABLES[table_name]
    insert_ = sqlite.insert if dialect == "sqlite" else postgresql.insert
    statement = insert_(table)
    return statement.on_conflict_do_update(index_elements=list(keys), set_={n: statement.excluded[n] for n in names})


class Repository:
    def __init__(self, uow: UnitContext) -> None:
        self._uow = uow

    @property
    def _bot(self) -> str:
        return self._uow.bot

    def _execute(self, statement: Any, params: dict[str, Any] | list[dict[str, Any]] | None = None) -> Any:
        return self._uow.connection.execute(statement, params)

    def _rows(self, statement: Any) -> list[Any]:
        # Core rows carry the columns by name, which is all the mapping functions read.
        return list(self._uow.connection.execute(statement))
