"""The report metrics (issue 16) and the LLM calls, traces and budget (issue 15) behind two small ports.

The server only adapts their answers to JSON. ``StoreReports`` computes a stored run's report; where a
feature is not wired in, the ``Unavailable`` implementations answer ``None`` (the endpoint says 404 "not
available") or empty lists.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

import attrs

from trader_app.stored_runs import StoredRun, captured_prices
from trader_core.model import ConfigError, RunId
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


_REPORTS_KEPT = 16  # (bot, run, range) reports kept; each is a few kilobytes of aggregates


@attrs.define
class StoreReports:
    """The report of a bot's run computed from its stored plans and fills (as ``trader-app report`` without
    ``--candles``: equity marked at the fills).

    A report costs about 2 s per 10,000 round trips to build, and a dashboard asks for the same one again and
    again: each is kept (the last ``_REPORTS_KEPT``) with the run's version, what moves whenever the report can
    change: the run record (status, end), how many fills and LLM calls it has (both only ever added) and which
    of its plans are still active (a plan closes or is cancelled only by leaving that list)."""

    stores: Callable[[str], Store]
    _kept: OrderedDict[tuple[str, str, datetime | None, datetime | None],
                       tuple[object, dict[str, Any] | None]] = attrs.field(factory=OrderedDict, init=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)

    def metrics(self, bot: str, run: str | None, start: datetime | None,
                end: datetime | None) -> dict[str, Any] | None:
        """``report_document`` of ``run`` (default: the latest) limited to ``[start, end)`` (``end`` excluded, as
        the trades endpoint reads it: adjacent ranges count a trade once); ``None`` when the bot has no such run or
        it has nothing to report in the range."""
        with self.stores(bot).unit_of_work() as uow:
            record = uow.runs.find(RunId(run)) if run else uow.runs.find_latest()
            if record is None:
                return None
            calls = tuple(uow.llm_calls.list_calls(record.run_id))
            # (the newest captured candle of each series: equity is marked at them too)
            captured = tuple(uow.candles.list_for(symbol, timeframe, limit=1) for symbol, timeframe in
                             uow.candles.stored_keys()) if record.mode != "replay" else ()
            version = (record, uow.fills.count(record.run_id), len(calls),
                       tuple(sorted(p.plan_id.value for p in uow.plans.list_active(record.run_id))), captured)
            key = (bot, record.run_id.value, start, end)
            with self._lock:
                known = self._kept.get(key)
            if known is not None and known[0] == version:
                return known[1]
            fills = tuple(uow.fills.list_for_run(record.run_id))
            stored = StoredRun(record, tuple(uow.plans.list_for_run(record.run_id)), fills, calls,
                               captured_prices(uow, record, fills))
        document = _report(bot, stored, start, end)
        with self._lock:
            self._kept.pop(key, None)
            self._kept[key] = (version, document)
            while len(self._kept) > _REPORTS_KEPT:
                self._kept.popitem(last=False)
        return document


def _report(bot: str, stored: StoredRun, start: datetime | None, end: datetime | None) -> dict[str, Any] | None:
    from trader_adapters.report import report_document
    from trader_app.reporting import gather, replayed_candles

    try:  # a synthetic replay is marked at its candles, generated again (kept with the report, as it is)
        # ``gather`` takes both ends inclusive; stored times are whole microseconds.
        until = None if end is None else end - timedelta(microseconds=1)
        inputs = gather(stored.record, stored.plans, stored.fills, replayed_candles(stored.record), since=start,
                        until=until, llm_calls=stored.llm_calls, captured=stored.captured)
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
