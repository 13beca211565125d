"""Analytics: the metrics, drawdowns, ratios and tables of a report, as pure functions over round trips and an
equity curve (docs/reports.md). Rendering them is an adapter's business."""

from __future__ import annotations

from trader_core.analytics.metrics import (
    DAYS_PER_YEAR,
    Drawdown,
    EquityPoint,
    GroupRow,
    RoundTrip,
    TradeStats,
    annualised,
    daily_equity,
    daily_returns,
    drawdown,
    group,
    ratios,
    trade_stats,
)
from trader_core.analytics.report import Report, build_report, equity_curve

__all__ = [
    "DAYS_PER_YEAR",
    "Drawdown",
    "EquityPoint",
    "GroupRow",
    "Report",
    "RoundTrip",
    "TradeStats",
    "annualised",
    "build_report",
    "daily_equity",
    "daily_returns",
    "drawdown",
    "equity_curve",
    "group",
    "ratios",
    "trade_stats",
]
