"""The LLM strategy's figures as the store holds them: ``llm_budget`` (``trader-app status``, the API), and the
calls and traces the API lists. The budget itself is what the strategy stored when it was bound
(``llm:budget``); a bot that never ran the LLM strategy has no ``llm_budget``."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from trader_adapters.llm.traces import BUDGET_KEY
from trader_core.costs import budget_status, spend_of
from trader_core.model.llm import LlmTraceRecord
from trader_core.ports import UnitOfWork

__all__ = ["budget_json", "call_summary"]


def budget_json(uow: UnitOfWork, now: datetime) -> dict[str, Any] | None:
    """``llm_budget``: state (ok / near_cap / cap_hit), budget, cost charged, remaining, burn per hour since the
    first call, hours to the cap, and the calls and replayed cost; None without an LLM budget stored."""
    stored = uow.values.find(BUDGET_KEY)
    if stored is None:
        return None
    budget = Decimal(json.loads(stored)["budget"])
    calls = uow.llm_calls.list_calls()
    spend = spend_of(calls)
    started = min((c.at for c in calls), default=now)
    status = budget_status(spend, budget, started, max(now, started))
    return {"state": status.state.value, "budget": _plain(budget), "cost": _plain(status.cost),
            "remaining": _plain(status.remaining), "pct_of_budget": _plain(round(status.pct_of_budget * 100, 2)),
            "burn_rate_per_hour": _plain(round(status.burn_rate_per_hour, 8)),
            "hours_to_cap": None if status.hours_to_cap is None else _plain(round(status.hours_to_cap, 2)),
            "calls": spend.calls, "tokens_in": spend.tokens_in, "tokens_out": spend.tokens_out,
            "replayed_calls": spend.replayed_calls, "replayed_cost": _plain(spend.replayed_cost)}


def _plain(value: Decimal) -> str:
    """A decimal as plain text: ``0`` not ``0E-8``, ``100`` not ``1E+2``."""
    return format(value.normalize(), "f")


def call_summary(trace: LlmTraceRecord) -> dict[str, Any]:
    """One decision as the API lists it: a summary of the prompt, the answer, the cost and the outcome."""
    signals = json.loads(trace.signals or "[]")
    return {"call_id": trace.trace_id, "at": trace.at.isoformat(), "model": trace.model,
            "prompt_summary": f"{len(trace.prompt.encode())} bytes, {trace.prompt.count(chr(10)) + 1} lines",
            "answer": trace.answer[:500], "signals": signals, "reason": trace.reason, "cost": str(trace.cost),
            "tokens_in": trace.tokens_in, "tokens_out": trace.tokens_out, "replayed": trace.replayed,
            "outcome": trace.outcome}
