"""What the in-memory repositories share: the bot's state (frozen values in plain containers), the working copy
they run in (a protocol, so that the repositories do not import the store), and the checks the SQL columns make."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Generic, Protocol, TypeVar, cast

import attrs

from trader_core.model.commands import OperatorCommand
from trader_core.model.errors import StoreError
from trader_core.model.health import TradingStatus
from trader_core.model.ids import Asset, ClientOrderId, PlanId, RunId, Symbol
from trader_core.model.lease import Lease
from trader_core.model.llm import LlmCallRecord, LlmTraceRecord
from trader_core.model.market import Candle, Timeframe
from trader_core.model.money import Money
from trader_core.model.plans import Plan
from trader_core.model.records import FillRecord, RunRecord, TrackedOrder
from trader_core.model.stats import DayStats, Holding, LedgerTotals, StatsScope

__all__ = ["BotState", "Entry", "Repository", "WorkingCopy", "check_key",
    "check_values", "drop_scope", "of_scope", "sorted_values"]

_T = TypeVar("_T")
_V = TypeVar("_V")
_K = TypeVar("_K")


@attrs.define
class Entry(Generic[_V]):
    """A stored value and the order it was first stored in (the SQL row id)."""

    seq: int
    value: _V


@attrs.define
class BotState:
    """Everything stored for one bot. Values are frozen, so copying the containers copies the state."""

    runs: dict[RunId, Entry[RunRecord]] = attrs.Factory(dict)
    orders: dict[ClientOrderId, Entry[TrackedOrder]] = attrs.Factory(dict)
    fills: list[FillRecord] = attrs.Factory(list)
    fill_keys: set[tuple[str, Symbol, str]] = attrs.Factory(set)
    plans: dict[PlanId, Entry[Plan]] = attrs.Factory(dict)
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
    commands: dict[str, Entry[OperatorCommand]] = attrs.Factory(dict)
    lease: Lease | None = None
    llm_calls: list[LlmCallRecord] = attrs.Factory(list)
    llm_traces: list[LlmTraceRecord] = attrs.Factory(list)

    def copy(self) -> BotState:
        return BotState(
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
            lease=self.lease,
            llm_calls=list(self.llm_calls),
            llm_traces=list(self.llm_traces),
        )

    def entry(self, value: _T) -> Entry[_T]:
        self.next_seq += 1
        return Entry(self.next_seq - 1, value)


class WorkingCopy(Protocol):
    """What a repository needs of its unit of work: the working copy of the bot's state, and the guard that
    rolls back and ends the unit on a ``StoreError``."""

    work: BotState

    def guard(self, action: str) -> AbstractContextManager[None]: ...


def check_values(value: object, action: str) -> None:
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
            check_values(item, action)
    elif attrs.has(type(value)):
        for field in attrs.fields(cast(Any, type(value))):
            check_values(getattr(value, field.name), action)


def sorted_values(entries: Any, key: Callable[[Any], Any], keep: Callable[[Any], bool]) -> tuple[Any, ...]:
    chosen = [entry for entry in entries if keep(entry.value)]
    return tuple(entry.value for entry in sorted(chosen, key=lambda entry: (key(entry.value), entry.seq)))


def of_scope(table: dict[tuple[StatsScope, Any], _V], scope: StatsScope) -> tuple[_V, ...]:
    """The values of ``scope`` in a table keyed by (scope, key), sorted by key."""
    return tuple(value for _, value in sorted(
        ((key, value) for key, value in table.items() if key[0] == scope), key=lambda item: item[0][1]
    ))


def drop_scope(table: dict[tuple[StatsScope, _K], Any], scope: StatsScope) -> None:
    for key in [k for k in table if k[0] == scope]:
        del table[key]


class Repository:
    def __init__(self, uow: WorkingCopy) -> None:
        self._uow = uow

    @property
    def _state(self) -> BotState:
        return self._uow.work


def check_key(key: str) -> None:
    """Refuse a value key the SQL column would refuse."""
    if not isinstance(key, str) or not 1 <= len(key) <= 100:
        raise StoreError(f"a value key must be 1-100 characters, got {key!r}")
