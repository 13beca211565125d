"""A report as a JSON-ready document: every Decimal as a string, times as ISO 8601, durations in seconds."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from trader_core.analytics import Report

__all__ = ["report_document"]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Plain notation (10000, not 1E+4); a whole number without its trailing zeros.
        return format(value.normalize() if value == value.to_integral_value() else value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def report_document(report: Report, *, run_id: str, bot: str) -> dict[str, Any]:
    """``report`` as plain JSON values, with the run and bot it describes and its net PnL."""
    body = attrs.asdict(report, recurse=True)
    body["net_pnl"] = report.net_pnl
    return {"bot": bot, "run_id": run_id, **_plain(body)}
