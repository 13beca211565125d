"""The store port: a synchronous unit of work over typed repositories, scoped to one bot.

Usage::

    with store.unit_of_work() as uow:
        uow.fills.add(record)
        uow.orders.update(order)
        uow.commit()

Leaving the block without ``commit()`` rolls everything back: a crash between two writes of one
booking leaves no trace of it. No venue call ever happens inside a unit of work. Every method
may raise ``StoreError``; the unit of work is then unusable and rolled back.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from trader_core.model.commands import OperatorCommand
from trader_core.model.health import TradingStatus
from trader_core.model.ids import BotId, ClientOrderId, PlanId, RunId, Symbol
from trader_core.model.lease import Lease
from trader_core.model.llm import LlmCallRecord, LlmTraceRecord
from trader_core.model.market import Candle, Timeframe
from trader_core.model.money import Money
from trader_core.model.plans import Plan
from trader_core.model.records import FillRecord, RunRecord, TrackedOrder
from trader_core.model.stats import DayStats, Holding, LedgerSnapshot, LedgerTotals, StatsScope

__all__ = [
    "CandleRepository",
    "CommandRepository",
    "FillRepository",
    "LeaseRepository",
    "LedgerRepository",
    "LlmCallRepository",
    "LlmTraceRepository",
    "OrderRepository",
    "PlanRepository",
    "RunRepository",
    "SequenceRepository",
    "Store",
    "TradingStateRepository",
    "UnitOfWork",
    "ValueRepository",
]


class RunRepository(Protocol):
    """Runs of this bot."""

    def add(self, run: RunRecord) -> None:
        """Store a new run. Raises ``StoreError`` if the run id exists."""
        ...

    def update(self, run: RunRecord) -> None:
        """Replace a stored run (status, end time, summary). Raises ``StoreError`` if it is unknown."""
        ...

    def find(self, run_id: RunId) -> RunRecord | None:
        """The run, or None."""
        ...

    def find_latest(self) -> RunRecord | None:
        """The most recently started run of this bot, or None."""
        ...

    def ids_of_mode(self, modes: Collection[str]) -> tuple[RunId, ...]:
        """The ids of this bot's runs whose mode is one of ``modes``, oldest first."""
        ...


class OrderRepository(Protocol):
    """Order intents of this bot, known by client order id."""

    def add(self, order: TrackedOrder) -> None:
        """Store a new intent. Raises ``StoreError`` if the client order id is already stored."""
        ...

    def update(self, order: TrackedOrder) -> None:
        """Replace a stored intent. Raises ``StoreError`` if it is unknown."""
        ...

    def find(self, client_order_id: ClientOrderId) -> TrackedOrder | None:
        """The intent, or None."""
        ...

    def list_active(self, run_id: RunId | None = None) -> tuple[TrackedOrder, ...]:
        """Intents whose status is active (pending, open, partially filled, unknown), oldest first;
        only those of ``run_id`` when given."""
        ...

    def list_recent(self, limit: int) -> tuple[TrackedOrder, ...]:
        """The bot's ``limit`` most recently stored intents, whatever their status, newest first."""
        ...

    def list_for_run(self, run_id: RunId) -> tuple[TrackedOrder, ...]:
        """Every intent of the run, oldest first."""
        ...


class FillRepository(Protocol):
    """Booked fills of this bot. A fill's identity is (venue, symbol, trade id)."""

    def add(self, record: FillRecord) -> bool:
        """Store a booked fill; return False (and store nothing) if that identity is already stored."""
        ...

    def list_for_run(self, run_id: RunId) -> tuple[FillRecord, ...]:
        """Fills of the run, in booking order."""
        ...

    def list_all(self) -> tuple[FillRecord, ...]:
        """Every fill of the bot, in booking order."""
        ...

    def iter_all(self, run_id: RunId | None = None, *, batch: int = 10_000) -> Iterator[FillRecord]:
        """Every fill of the bot (only those of ``run_id`` when given), in booking order, read ``batch``
        rows at a time. Consume it inside the unit of work. A stored row that is not a valid record
        raises ``StoreError``."""
        ...

    def count(self, run_id: RunId | None = None) -> int:
        """How many fills are stored for the bot (for ``run_id`` when given)."""
        ...

    def contains(self, venue: str, symbol: Symbol, trade_id: str) -> bool:
        """True when the fill with this identity is stored."""
        ...


class LedgerRepository(Protocol):
    """The cached ledger of each scope (holdings, totals, fees per asset, per-day rows) of this bot.

    A cache, never the truth: the fills are. Each booking writes its changes in the unit of work that
    stores its fill, so the cache is never ahead of or behind the fills it was written with.
    """

    def find(self, scope: StatsScope) -> LedgerSnapshot | None:
        """The cached ledger of ``scope``, or None when there is none."""
        ...

    def save_totals(self, scope: StatsScope, day_timezone: str, totals: LedgerTotals) -> None:
        """Create or replace the totals of ``scope`` (and the time zone its days are counted in)."""
        ...

    def save_holding(self, scope: StatsScope, holding: Holding) -> None:
        """Create or replace the holding of ``holding.symbol`` in ``scope``."""
        ...

    def save_fee(self, scope: StatsScope, total: Money) -> None:
        """Create or replace the total fee paid in ``total.asset`` in ``scope``."""
        ...

    def save_day(self, scope: StatsScope, day: DayStats) -> None:
        """Create or replace the row of ``day.day`` in ``scope``."""
        ...

    def replace(self, snapshot: LedgerSnapshot) -> None:
        """Replace everything cached for ``snapshot.scope`` by ``snapshot`` (after a rebuild)."""
        ...

    def scopes(self) -> tuple[StatsScope, ...]:
        """Every scope with a cached ledger, sorted."""
        ...


class PlanRepository(Protocol):
    """Trade plans of this bot."""

    def add(self, plan: Plan) -> None:
        """Store a new plan. Raises ``StoreError`` if the plan id exists."""
        ...

    def update(self, plan: Plan) -> None:
        """Store a new version of a plan. Raises ``StoreError`` unless the stored version is
        ``plan.version - 1`` (a lost update is refused, never applied)."""
        ...

    def find(self, plan_id: PlanId) -> Plan | None:
        """The plan, or None."""
        ...

    def list_active(self, run_id: RunId | None = None) -> tuple[Plan, ...]:
        """Pending and open plans, oldest first; only those of ``run_id`` when given."""
        ...

    def list_for_run(self, run_id: RunId) -> tuple[Plan, ...]:
        """Every plan of the run, oldest first."""
        ...


class SequenceRepository(Protocol):
    """Named counters of this bot (for deterministic ids)."""

    def next(self, name: str) -> int:
        """Increment counter ``name`` and return its new value (the first is 1)."""
        ...


class UnitOfWork(Protocol):
    """One transaction over the bot's repositories."""

    runs: RunRepository
    orders: OrderRepository
    fills: FillRepository
    plans: PlanRepository
    sequences: SequenceRepository
    ledger: LedgerRepository
    trading_state: TradingStateRepository
    values: ValueRepository
    candles: CandleRepository
    commands: CommandRepository
    leases: LeaseRepository
    llm_calls: LlmCallRepository
    llm_traces: LlmTraceRepository

    def commit(self) -> None:
        """Make every write of this unit durable, all or nothing."""
        ...

    def rollback(self) -> None:
        """Discard every uncommitted write."""
        ...


class Store(Protocol):
    """Persistence for one bot."""

    @property
    def bot_id(self) -> BotId:
        """The bot every row of this store belongs to."""
        ...

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        """A new unit of work; leaving it without ``commit()`` rolls back."""
        ...

    def close(self) -> None:
        """Release connections. Idempotent."""
        ...

    def maintain(self) -> None:
        """Housekeeping that a live loop runs between ticks, so that it is not paid inside one (SQLite: the
        write-ahead log moved into the database file, which otherwise happens in whichever commit fills it).
        Quick when there is nothing to do; a failure is left for the next call, never raised."""
        ...


class TradingStateRepository(Protocol):
    """The bot's trading state (active, reducing, halted) with its reason, source and expiry: one per bot,
    so a pause or halt in force survives a restart."""

    def find(self) -> TradingStatus | None:
        """The stored trading state, or None when none was ever stored."""
        ...

    def put(self, status: TradingStatus) -> None:
        """Create or replace the stored trading state."""
        ...


class ValueRepository(Protocol):
    """Small named values of this bot (a sync cursor, a loss-limit baseline...), as text the owner encodes."""

    def find(self, key: str) -> str | None:
        """The value stored under ``key``, or None."""
        ...

    def put(self, key: str, value: str) -> None:
        """Create or replace the value under ``key`` (1-100 characters)."""
        ...


class LeaseRepository(Protocol):
    """The bot's lease: which process runs it. At most one lease per bot; taking it is atomic, so of two processes
    starting at once exactly one holds the bot."""

    def take(self, lease: Lease, now: datetime, *, replacing: str | None = None) -> Lease:
        """Hold the bot with ``lease`` when nobody does, when the lease in force has expired at ``now``, when it
        is this same token (a renewal: the lease in force keeps its ``since``, the holder's start), or when its
        token is ``replacing`` (a holder known to be dead). Returns the lease in force afterwards: ``lease`` when
        taken (with the first ``since`` when renewed), the other holder's otherwise."""
        ...

    def find(self) -> Lease | None:
        """The bot's lease, expired or not, or None."""
        ...

    def release(self, token: str) -> bool:
        """Give the lease up if ``token`` holds it; True when it did."""
        ...


class CandleRepository(Protocol):
    """Captured OHLCV candles of this bot: one row per (symbol, timeframe, candle open time), so capturing
    a candle again replaces it and never duplicates it. Times are aware UTC; the capturer stores closed
    candles only."""

    def upsert(self, candles: Sequence[Candle]) -> int:
        """Store ``candles`` (any keys, in one batch); a stored candle with the same key is replaced.
        Returns how many candles were written."""
        ...

    def list_for(self, symbol: Symbol, timeframe: Timeframe, *, limit: int | None = None) -> tuple[Candle, ...]:
        """The stored candles of (``symbol``, ``timeframe``), oldest first; only the newest ``limit`` when given."""
        ...

    def count(self, symbol: Symbol, timeframe: Timeframe) -> int:
        """How many candles of (``symbol``, ``timeframe``) are stored."""
        ...

    def prune(self, symbol: Symbol, timeframe: Timeframe, *, keep: int, older_than: datetime | None = None) -> int:
        """Delete all but the newest ``keep`` candles of (``symbol``, ``timeframe``), and those opened before
        ``older_than`` when given; return how many were deleted. ``keep`` must be at least 0."""
        ...

    def stored_keys(self) -> tuple[tuple[Symbol, Timeframe], ...]:
        """Every (symbol, timeframe) with stored candles, sorted."""
        ...


class CommandRepository(Protocol):
    """Operator commands to this bot: a queue the loop works through and, once handled, an audit log
    (nothing is deleted). Times are aware UTC."""

    def add(self, command: OperatorCommand) -> None:
        """Queue a new command. Raises ``StoreError`` if its id is already stored."""
        ...

    def update(self, command: OperatorCommand) -> None:
        """Replace a stored command (its status, result and handling time). Raises ``StoreError`` if it is
        unknown."""
        ...

    def find(self, command_id: str) -> OperatorCommand | None:
        """The command, or None."""
        ...

    def list_pending(self) -> tuple[OperatorCommand, ...]:
        """Commands still pending, oldest first."""
        ...

    def has_pending(self) -> bool:
        """True when a command is pending (a cheap query: the loop asks it while sleeping)."""
        ...

    def list_recent(self, limit: int = 50) -> tuple[OperatorCommand, ...]:
        """The newest ``limit`` commands, whatever their status, newest first."""
        ...


class LlmCallRepository(Protocol):
    """The bot's LLM calls (issue 15): kept with the ledger, so the spend survives restarts."""

    def add(self, call: LlmCallRecord) -> None:
        """Store one call."""
        ...

    def list_calls(self, run_id: RunId | None = None) -> tuple[LlmCallRecord, ...]:
        """Every call of the bot (of ``run_id`` when given), in the order stored."""
        ...


class LlmTraceRepository(Protocol):
    """The LLM strategy's decision traces (issue 15), pruned by retention."""

    def add(self, trace: LlmTraceRecord) -> None:
        """Store one decision's trace."""
        ...

    def set_outcome(self, trace_id: str, outcome: str) -> None:
        """Record what became of the trace's signals (JSON text); an unknown trace id is ignored."""
        ...

    def recent(self, last: int = 20) -> tuple[LlmTraceRecord, ...]:
        """The newest ``last`` traces of the bot, oldest first."""
        ...

    def find(self, trace_id: str) -> LlmTraceRecord | None:
        """The trace ``trace_id`` of the bot, or None."""
        ...

    def prune(self, before: datetime) -> int:
        """Delete the traces older than ``before``; how many were deleted."""
        ...
