"""The report metrics (issue 16) and the LLM calls, traces and budget (issue 15) behind two small ports.

The server only adapts their answers to JSON. Until those features are wired in, the ``Unavailable``
implementations answer ``None`` (the endpoint says 404 "not available") or empty lists.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import attrs

__all__ = ["LlmSource", "ReportSource", "UnavailableLlm", "UnavailableReport"]


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
