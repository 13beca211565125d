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
from trader_core.analytics.report import OpenTrade, Report, build_report, equity_curve, open_trade

__all__ = [
    "DAYS_PER_YEAR",
    "Drawdown",
    "EquityPoint",
    "GroupRow",
    "OpenTrade",
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
    "open_trade",
    "ratios",
    "trade_stats",
]
