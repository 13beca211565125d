"""SQL repositories of the bot's LLM calls and decision traces."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, update

from trader_adapters.sql.models import LlmCallRow, LlmTraceRow
from trader_adapters.sql.repositories.base import Repository
from trader_core.model.ids import RunId
from trader_core.model.llm import LlmCallRecord, LlmTraceRecord

__all__ = ["SqlLlmCallRepository", "SqlLlmTraceRepository"]

_CALLS = cast(Table, LlmCallRow.__table__)


def _record(row: Any) -> LlmCallRecord:
    return LlmCallRecord(trace_id=row.trace_id, run_id=RunId(row.run_id), at=row.at, model=row.model,
                         tokens_in=row.tokens_in, tokens_out=row.tokens_out, cost=row.cost,
                         latency_ms=row.latency_ms, replayed=bool(row.replayed))


class SqlLlmCallRepository(Repository):
    """LLM calls of the bot, one row per call."""

    def add(self, call: LlmCallRecord) -> None:
        """Store one call."""
        with self._uow.guard(f"add llm call {call.trace_id}"):
            self._execute(insert(_CALLS).values(
                bot_id=self._bot, run_id=call.run_id.value, trace_id=call.trace_id, at=call.at, model=call.model,
                tokens_in=call.tokens_in, tokens_out=call.tokens_out, cost=call.cost, latency_ms=call.latency_ms,
                replayed=call.replayed))

    def list_calls(self, run_id: RunId | None = None) -> tuple[LlmCallRecord, ...]:
        """Every call of the bot (of ``run_id`` when given), in the order stored."""
        with self._uow.guard("list llm calls"):
            query = select(_CALLS).where(_CALLS.c.bot_id == self._bot)
            if run_id is not None:
                query = query.where(_CALLS.c.run_id == run_id.value)
            return tuple(_record(row) for row in self._rows(query.order_by(_CALLS.c.id)))


_TRACES = cast(Table, LlmTraceRow.__table__)


def _trace(row: Any) -> LlmTraceRecord:
    return LlmTraceRecord(trace_id=row.trace_id, run_id=RunId(row.run_id), at=row.at, model=row.model,
                          prompt=row.prompt, answer=row.answer, signals=row.signals, reason=row.reason,
                          calls=row.calls, tokens_in=row.tokens_in, tokens_out=row.tokens_out, cost=row.cost,
                          latency_ms=row.latency_ms, replayed=bool(row.replayed), outcome=row.outcome)


class SqlLlmTraceRepository(Repository):
    """Decision traces of the bot, one row per decision."""

    def add(self, trace: LlmTraceRecord) -> None:
        """Store one trace."""
        with self._uow.guard(f"add llm trace {trace.trace_id}"):
            self._execute(insert(_TRACES).values(
                bot_id=self._bot, run_id=trace.run_id.value, trace_id=trace.trace_id, at=trace.at, model=trace.model,
                prompt=trace.prompt, answer=trace.answer, signals=trace.signals, reason=trace.reason,
                calls=trace.calls, tokens_in=trace.tokens_in, tokens_out=trace.tokens_out, cost=trace.cost,
                latency_ms=trace.latency_ms, replayed=trace.replayed, outcome=trace.outcome))

    def set_outcome(self, trace_id: str, outcome: str) -> None:
        """Record the outcome of a trace's signals."""
        with self._uow.guard(f"set llm trace outcome {trace_id}"):
            self._execute(update(_TRACES).where(_TRACES.c.bot_id == self._bot, _TRACES.c.trace_id == trace_id)
                          .values(outcome=outcome))

    def recent(self, last: int = 20) -> tuple[LlmTraceRecord, ...]:
        """The newest ``last`` traces, oldest first."""
        with self._uow.guard("list llm traces"):
            query = select(_TRACES).where(_TRACES.c.bot_id == self._bot).order_by(_TRACES.c.id.desc()).limit(
                max(last, 0))
            return tuple(reversed([_trace(row) for row in self._rows(query)]))

    def find(self, trace_id: str) -> LlmTraceRecord | None:
        """The trace ``trace_id``, or None."""
        with self._uow.guard(f"find llm trace {trace_id}"):
            rows = self._rows(select(_TRACES).where(_TRACES.c.bot_id == self._bot, _TRACES.c.trace_id == trace_id)
                              .order_by(_TRACES.c.id).limit(1))
            return _trace(rows[0]) if rows else None

    def prune(self, before: datetime) -> int:
        """Delete the traces older than ``before``."""
        with self._uow.guard("prune llm traces"):
            result = self._execute(delete(_TRACES).where(_TRACES.c.bot_id == self._bot, _TRACES.c.at < before))
            return int(getattr(result, "rowcount", 0) or 0)
