"""``InMemoryStore``: the ``Store`` port in memory, with the SQL store's transactions and errors.

A unit of work edits a copy of the bot's committed state and swaps it in on commit. Like the SQLite
store, one unit of work at a time holds the database; others wait (up to a timeout) for it to end.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from trader_adapters.memory.base import BotState
from trader_adapters.memory.ledger import (
    InMemoryLedgerRepository,
    InMemoryTradingStateRepository,
    InMemoryValueRepository,
)
from trader_adapters.memory.operations import (
    InMemoryCandleRepository,
    InMemoryCommandRepository,
    InMemoryLeaseRepository,
    InMemoryLlmCallRepository,
    InMemoryLlmTraceRepository,
)
from trader_adapters.memory.repositories import (
    InMemoryFillRepository,
    InMemoryOrderRepository,
    InMemoryPlanRepository,
    InMemoryRunRepository,
    InMemorySequenceRepository,
)
from trader_core.model.errors import StoreError
from trader_core.model.ids import BotId
from trader_core.ports.store import (
    CandleRepository,
    CommandRepository,
    FillRepository,
    LeaseRepository,
    LedgerRepository,
    LlmCallRepository,
    LlmTraceRepository,
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


class InMemoryDatabase:
    """What several ``InMemoryStore`` instances (one per bot) share, like one database file."""

    def __init__(self, *, busy_timeout: float = 5.0) -> None:
        self._states: dict[BotId, BotState] = {}
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

    def state(self, bot_id: BotId) -> BotState:
        """The committed state of ``bot_id``."""
        return self._states.get(bot_id) or BotState()

    def replace(self, bot_id: BotId, state: BotState) -> None:
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

    def maintain(self) -> None:
        """Nothing to tidy in memory."""

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
        self.leases: LeaseRepository = InMemoryLeaseRepository(self)
        self.llm_calls: LlmCallRepository = InMemoryLlmCallRepository(self)
        self.llm_traces: LlmTraceRepository = InMemoryLlmTraceRepository(self)

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
