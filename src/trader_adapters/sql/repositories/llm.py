"""SQL repository of the bot's LLM calls."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, insert, select

from trader_adapters.sql.models import LlmCallRow
from trader_adapters.sql.repositories.base import Repository
from trader_core.model.ids import RunId
from trader_core.model.llm import LlmCallRecord

__all__ = ["SqlLlmCallRepository"]

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
