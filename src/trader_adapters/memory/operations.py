"""In-memory repositories of captured candles and operator commands."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

import attrs

from trader_adapters.memory.base import Entry, Repository, check_values, sorted_values
from trader_core.model.commands import CommandStatus, OperatorCommand
from trader_core.model.errors import StoreError
from trader_core.model.ids import RunId, Symbol
from trader_core.model.lease import Lease
from trader_core.model.llm import LlmCallRecord, LlmTraceRecord
from trader_core.model.market import Candle, Timeframe

__all__ = ["InMemoryCandleRepository", "InMemoryCommandRepository", "InMemoryLeaseRepository",
           "InMemoryLlmCallRepository",
           "InMemoryLlmTraceRepository"]

_T = TypeVar("_T")
_V = TypeVar("_V")
_K = TypeVar("_K")


class InMemoryCandleRepository(Repository):
    """Captured candles of the bot, one per (symbol, timeframe, open time)."""

    def upsert(self, candles: Sequence[Candle]) -> int:
        """Store ``candles``, replacing any with the same key."""
        with self._uow.guard(f"upsert {len(candles)} candles"):
            written: dict[tuple[Symbol, Timeframe], dict[datetime, Candle]] = {}
            for candle in candles:
                if not isinstance(candle, Candle):
                    raise StoreError(f"upsert candles failed: {candle!r} is not a Candle")
                check_values(candle.open_time, "upsert candles")
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
                check_values(older_than, "prune candles")
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


class InMemoryCommandRepository(Repository):
    """Operator commands of the bot, kept after handling."""

    def add(self, command: OperatorCommand) -> None:
        """Queue a new command. Raises ``StoreError`` if its id is already stored."""
        action = f"add command {command.command_id}"
        with self._uow.guard(action):
            check_values(command, action)
            if command.command_id in self._state.commands:
                raise StoreError(f"{action} failed: already stored")
            self._state.commands[command.command_id] = self._state.entry(command)

    def update(self, command: OperatorCommand) -> None:
        """Replace a stored command. Raises ``StoreError`` if it is unknown."""
        action = f"update command {command.command_id}"
        with self._uow.guard(action):
            check_values(command, action)
            entry = self._state.commands.get(command.command_id)
            if entry is None:
                raise StoreError(f"{action}: no such command")
            self._state.commands[command.command_id] = Entry(entry.seq, command)

    def find(self, command_id: str) -> OperatorCommand | None:
        """The command, or None."""
        with self._uow.guard(f"find command {command_id}"):
            entry = self._state.commands.get(command_id)
            return None if entry is None else entry.value

    def list_pending(self) -> tuple[OperatorCommand, ...]:
        """Commands still pending, oldest first."""
        with self._uow.guard("list pending commands"):
            return sorted_values(self._state.commands.values(), lambda c: c.created_at,
                           lambda c: c.status is CommandStatus.PENDING)

    def has_pending(self) -> bool:
        """True when a command is pending."""
        with self._uow.guard("any pending command"):
            return any(e.value.status is CommandStatus.PENDING for e in self._state.commands.values())

    def list_recent(self, limit: int = 50) -> tuple[OperatorCommand, ...]:
        """The newest ``limit`` commands, newest first."""
        with self._uow.guard("list recent commands"):
            ordered = sorted_values(self._state.commands.values(), lambda c: c.created_at, lambda _c: True)
            return tuple(reversed(ordered))[:max(limit, 0)]


class InMemoryLeaseRepository(Repository):
    """The bot's lease; the unit of work's lock makes taking it atomic, as a conditional upsert does in SQL."""

    def take(self, lease: Lease, now: datetime, *, replacing: str | None = None) -> Lease:
        """As the port says."""
        with self._uow.guard("take lease"):
            check_values(lease, "take lease")
            current = self._state.lease
            if current is not None and current.token == lease.token:  # a renewal: the holder's start stays
                lease = attrs.evolve(lease, since=current.since)
            elif current is not None and current.in_force(now) and current.token != replacing:
                return current
            self._state.lease = lease
            return lease

    def find(self) -> Lease | None:
        """The bot's lease, or None."""
        with self._uow.guard("find lease"):
            return self._state.lease

    def release(self, token: str) -> bool:
        """Give the lease up if ``token`` holds it."""
        with self._uow.guard("release lease"):
            if self._state.lease is None or self._state.lease.token != token:
                return False
            self._state.lease = None
            return True
class InMemoryLlmCallRepository(Repository):
    """LLM calls of the bot, in the order stored."""

    def add(self, call: LlmCallRecord) -> None:
        """Store one call."""
        with self._uow.guard(f"add llm call {call.trace_id}"):
            if not isinstance(call, LlmCallRecord):
                raise StoreError(f"add llm call: not an LlmCallRecord: {call!r}")
            self._state.llm_calls.append(call)

    def list_calls(self, run_id: RunId | None = None) -> tuple[LlmCallRecord, ...]:
        """Every call of the bot (of ``run_id`` when given)."""
        with self._uow.guard("list llm calls"):
            return tuple(c for c in self._state.llm_calls if run_id is None or c.run_id == run_id)


class InMemoryLlmTraceRepository(Repository):
    """Decision traces of the bot, in the order stored."""

    def add(self, trace: LlmTraceRecord) -> None:
        """Store one trace."""
        with self._uow.guard(f"add llm trace {trace.trace_id}"):
            if not isinstance(trace, LlmTraceRecord):
                raise StoreError(f"add llm trace: not an LlmTraceRecord: {trace!r}")
            self._state.llm_traces.append(trace)

    def set_outcome(self, trace_id: str, outcome: str) -> None:
        """Record the outcome of a trace's signals."""
        with self._uow.guard(f"set llm trace outcome {trace_id}"):
            self._state.llm_traces = [attrs.evolve(t, outcome=outcome) if t.trace_id == trace_id else t
                                      for t in self._state.llm_traces]

    def recent(self, last: int = 20) -> tuple[LlmTraceRecord, ...]:
        """The newest ``last`` traces, oldest first."""
        with self._uow.guard("list llm traces"):
            return tuple(self._state.llm_traces[-last:]) if last > 0 else ()

    def find(self, trace_id: str) -> LlmTraceRecord | None:
        """The trace ``trace_id``, or None."""
        with self._uow.guard(f"find llm trace {trace_id}"):
            return next((t for t in self._state.llm_traces if t.trace_id == trace_id), None)

    def prune(self, before: datetime) -> int:
        """Delete the traces older than ``before``."""
        with self._uow.guard("prune llm traces"):
            kept = [t for t in self._state.llm_traces if t.at >= before]
            deleted = len(self._state.llm_traces) - len(kept)
            self._state.llm_traces = kept
            return deleted
