"""The report metrics (issue 16) and the LLM calls, traces and budget (issue 15) behind two small ports.

The server only adapts their answers to JSON. ``StoreReports`` computes a stored run's report; where a
feature is not wired in, the ``Unavailable`` implementations answer ``None`` (the endpoint says 404 "not
available") or empty lists.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

import attrs

from trader_core.model import ConfigError
from trader_core.ports import Store

__all__ = ["LlmSource", "ReportSource", "StoreLlm", "StoreReports", "UnavailableLlm", "UnavailableReport"]


class ReportSource(Protocol):
    """The report's metrics of one bot, for a run or a time range."""

    def metrics(self, bot: str, run: str | None, start: datetime | None,
                end: datetime | None) -> dict[str, Any] | None:
        """JSON-ready metrics, or ``None`` when there is nothing to report."""


class LlmSource(Protocol):
    """The LLM strategy's stored calls and traces and its cost budget, per bot."""

    def calls(self, bot: str, limit: int) -> list[dict[str, Any]]:
        """The latest calls, newest first: prompt summary, answer, cost, outcome."""

    def trace(self, bot: str, call_id: str) -> dict[str, Any] | None:
        """One call's full trace, or ``None``."""

    def budget(self, bot: str) -> dict[str, Any] | None:
        """Spent and remaining budget, or ``None`` when the bot has no LLM."""


@attrs.frozen
class UnavailableReport:
    """No report feature in this build."""

    def metrics(self, bot: str, run: str | None, start: datetime | None,  # noqa: ARG002 - the port's signature
                end: datetime | None) -> dict[str, Any] | None:  # noqa: ARG002
        """Nothing to report."""
        return None


@attrs.frozen
class UnavailableLlm:
    """No LLM strategy in this build."""

    def calls(self, bot: str, limit: int) -> list[dict[str, Any]]:  # noqa: ARG002 - the port's signature
        """No calls."""
        return []

    def trace(self, bot: str, call_id: str) -> dict[str, Any] | None:  # noqa: ARG002 - the port's signature
        """No traces."""
        return None

    def budget(self, bot: str) -> dict[str, Any] | None:  # noqa: ARG002 - the port's signature
        """No budget."""
        return None


@attrs.frozen
class StoreReports:
    """The report of a bot's run computed from its stored plans and fills (as ``trader-app report`` without
    ``--candles``: equity marked at the fills)."""

    stores: Callable[[str], Store]

    def metrics(self, bot: str, run: str | None, start: datetime | None,
                end: datetime | None) -> dict[str, Any] | None:
        """``report_document`` of ``run`` (default: the latest) limited to ``[start, end]``; ``None`` when the bot
        has no such run or it has no closed trade to report."""
        from trader_adapters.report import report_document
        from trader_app.reporting import gather
        from trader_app.stored_runs import find_run

        with self.stores(bot).unit_of_work() as uow:
            stored = find_run(uow, run)
        if stored is None:
            return None
        try:
            inputs = gather(stored.record, stored.plans, stored.fills, (), since=start, until=end,
                            llm_calls=stored.llm_calls)
        except ConfigError:
            return None
        return report_document(inputs.report, run_id=stored.record.run_id.value, bot=bot)


@attrs.frozen
class StoreLlm:
    """The LLM strategy's decisions and budget as each bot's store holds them (``llm_traces``, ``llm_calls``)."""

    stores: Callable[[str], Store]
    now: Callable[[], datetime]

    def calls(self, bot: str, limit: int) -> list[dict[str, Any]]:
        """The latest decisions, newest first."""
        from trader_app.llm_status import call_summary

        with self.stores(bot).unit_of_work() as uow:
            traces = uow.llm_traces.recent(limit)
        return [call_summary(t) for t in reversed(traces)]

    def trace(self, bot: str, call_id: str) -> dict[str, Any] | None:
        """One decision's full trace (prompt included), or ``None``."""
        from trader_app.commands.llm import trace_json

        with self.stores(bot).unit_of_work() as uow:
            found = uow.llm_traces.find(call_id)
        return None if found is None else trace_json(found)

    def budget(self, bot: str) -> dict[str, Any] | None:
        """``llm_budget``, or ``None`` when the bot never ran the LLM strategy."""
        from trader_app.llm_status import budget_json

        with self.stores(bot).unit_of_work() as uow:
            return budget_json(uow, self.now())
