"""The report's key metrics and tables in the terminal, with ``rich``."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import IO

from rich.console import Console
from rich.table import Table

from trader_core.analytics import GroupRow, Report

__all__ = ["print_report"]


def _d(value: Decimal | None, places: int = 2) -> str:
    return "n/a" if value is None else f"{value:,.{places}f}"


def _metrics(report: Report) -> Table:
    stats, dd, closed = report.stats, report.drawdown, report.closed_drawdown
    table = Table(title=f"Report {report.start:%Y-%m-%d %H:%M} -> {report.end:%Y-%m-%d %H:%M} UTC", show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("starting balance", _d(report.balance)), ("final equity", _d(report.final_equity)),
        ("total return %", _d(report.total_return_pct)), ("annualised return %", _d(report.annual_return_pct)),
        ("buy and hold %", _d(report.buy_and_hold_pct)),
        ("max drawdown (marked) %", _d(dd.pct)), ("max drawdown (marked)", _d(dd.amount)),
        ("max drawdown (closed) %", _d(closed.pct)), ("max drawdown (closed)", _d(closed.amount)),
        ("sharpe / sortino / calmar", f"{_d(report.sharpe)} / {_d(report.sortino)} / {_d(report.calmar)}"),
        ("trades / wins / losses", f"{stats.count} / {stats.wins} / {stats.losses}"),
        ("win rate %", _d(None if stats.win_rate is None else stats.win_rate * 100)),
        ("net profit (closed trades)", _d(stats.net_profit)),
        ("open at the end / marked PnL", f"{report.open_trades} / {_d(report.open_pnl)}"),
        ("profit factor", _d(stats.profit_factor)), ("expectancy", _d(stats.expectancy, 4)),
        ("best / worst trade", f"{_d(stats.best)} / {_d(stats.worst)}"),
        ("streaks win / loss", f"{stats.longest_win_streak} / {stats.longest_loss_streak}"),
        ("exposure %", _d(report.exposure_pct)), ("trades per day", _d(report.trades_per_day)),
        ("fees / share of gross %", f"{_d(stats.fees)} / {_d(report.fees_share_of_gross_pct)}"),
        ("LLM cost / share of gross %", f"{_d(report.llm_cost)} / {_d(report.llm_share_of_gross_pct)}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _group(title: str, rows: Sequence[GroupRow]) -> Table:
    table = Table(title=title)
    for name in ("key", "trades", "wins", "win rate %", "net PnL", "fees"):
        table.add_column(name, justify="left" if name == "key" else "right")
    for row in rows:
        table.add_row(row.key, str(row.trades), str(row.wins), _d(row.win_rate * 100), _d(row.net_pnl), _d(row.fees))
    return table


def print_report(report: Report, stream: IO[str], console: Console | None = None) -> None:
    """Print the metrics and the tables by symbol, exit reason and month to ``stream`` (through ``console`` when
    given: the CLI's, which ends a broken pipe its own way)."""
    console = console or Console(file=stream, width=100)
    console.print(_metrics(report))
    console.print(_group("By symbol", report.by_symbol))
    console.print(_group("By exit reason", report.by_exit_reason))
    console.print(_group("By month", report.by_month))
