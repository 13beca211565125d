"""Decision traces: what one decision of the LLM strategy asked, got and made of it, stored by trace id.

``DecisionTrace`` is filled while the decision runs (calls summed over tool rounds); ``TraceWriter`` stores it
(``llm_traces``), prunes traces older than the retention, and records the outcome of a trace's signals.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import attrs

from trader_adapters.llm.chat import ChatReply
from trader_core.model import RunId
from trader_core.model.llm import LlmCallRecord, LlmTraceRecord
from trader_core.ports import Store

__all__ = ["BUDGET_KEY", "DecisionTrace", "TraceWriter"]

BUDGET_KEY = "llm:budget"  # the store value where the strategy keeps its budget (read by ``trader-app status``)


@attrs.define(kw_only=True)
class DecisionTrace:
    """One decision being made."""

    trace_id: str
    at: datetime
    model: str
    prompt: str
    answer: str = ""
    signals: str = "[]"
    reason: str = ""
    error: str = ""
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: Decimal = Decimal(0)
    latency_ms: int = 0
    replayed: bool = False

    def add_call(self, reply: ChatReply, cost: Decimal, replayed: bool) -> None:
        """Count one call of this decision."""
        self.calls += 1
        self.tokens_in += 0 if reply.usage is None else reply.usage.tokens_in
        self.tokens_out += 0 if reply.usage is None else reply.usage.tokens_out
        self.cost += cost
        self.latency_ms += reply.latency_ms
        self.replayed = replayed

    def record(self, run_id: RunId) -> LlmTraceRecord:
        """The stored form."""
        return LlmTraceRecord(trace_id=self.trace_id, run_id=run_id, at=self.at, model=self.model,
                              prompt=self.prompt, answer=self.answer, signals=self.signals,
                              reason=self.reason or self.error, calls=self.calls, tokens_in=self.tokens_in,
                              tokens_out=self.tokens_out, cost=self.cost, latency_ms=self.latency_ms,
                              replayed=self.replayed)


@attrs.define
class TraceWriter:
    """Stores traces in the bot's store."""

    store: Store

    def add_call(self, call: LlmCallRecord) -> None:
        """Store one answered call at once: it is paid for, and the budget is rebuilt from these rows after a
        restart, so a process killed before its decision ends must not forget it."""
        with self.store.unit_of_work() as uow:
            uow.llm_calls.add(call)
            uow.commit()

    def add(self, run_id: RunId, trace: DecisionTrace) -> None:
        """Store one finished decision (its calls were stored as they were answered)."""
        with self.store.unit_of_work() as uow:
            uow.llm_traces.add(trace.record(run_id))
            uow.commit()

    def set_outcome(self, trace_id: str, outcome: str) -> None:
        """Record what became of a trace's signals."""
        with self.store.unit_of_work() as uow:
            uow.llm_traces.set_outcome(trace_id, outcome)
            uow.commit()

    def keep_budget(self, budget: Decimal, model: str) -> None:
        """Store the budget the strategy runs with, for the readers of ``llm_budget``."""
        with self.store.unit_of_work() as uow:
            uow.values.put(BUDGET_KEY, json.dumps({"budget": str(budget), "model": model}))
            uow.commit()

    def prune(self, before: datetime) -> int:
        """Delete traces older than ``before``."""
        with self.store.unit_of_work() as uow:
            deleted = uow.llm_traces.prune(before)
            uow.commit()
        return deleted
