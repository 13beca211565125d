"""One self-contained HTML report: metrics, tables and SVG charts (price with entries and exits, equity and
drawdown, PnL distribution, monthly returns). Works offline: no external file, font or script."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from html import escape

import attrs

from trader_adapters.report.charts import bars, line_chart
from trader_core.analytics import EquityPoint, GroupRow, Report, RoundTrip

__all__ = ["PricePoint", "TradeMark", "downsample", "monthly_returns", "render_html"]

_ZOOM = """
for (const svg of document.querySelectorAll('#price svg')) {
  const box = svg.viewBox.baseVal; const full = [box.x, box.width];
  svg.addEventListener('wheel', e => { e.preventDefault();
    const r = svg.getBoundingClientRect(); const at = box.x + (e.clientX - r.left) / r.width * box.width;
    const w = Math.min(full[1], Math.max(5, box.width * (e.deltaY > 0 ? 1.25 : 0.8)));
    box.x = Math.min(Math.max(full[0], at - (at - box.x) * w / box.width), full[0] + full[1] - w); box.width = w; });
  svg.addEventListener('dblclick', () => { box.x = full[0]; box.width = full[1]; });
}
document.body.dataset.charts = document.querySelectorAll('figure.chart svg').length;
"""


@attrs.frozen
class PricePoint:
    """A price at a time (a candle's close, or a fill's price when no candles are at hand)."""

    at: datetime
    price: Decimal


@attrs.frozen
class TradeMark:
    """An entry or exit drawn on the price chart."""

    at: datetime
    price: Decimal
    entry: bool
    label: str


def downsample(points: Sequence[PricePoint], keep: Sequence[datetime], *, target: int = 4000,
               near: int = 5) -> list[PricePoint]:
    """At most about ``target`` points: every point within ``near`` points of a time in ``keep`` (so the price
    around each trade is exact), and elsewhere the lowest and highest point of each bucket (so spikes stay)."""
    if len(points) <= target:
        return list(points)
    times = [p.at for p in points]
    exact = set[int]()
    for at in keep:
        centre = bisect.bisect_left(times, at)
        exact.update(range(max(0, centre - near), min(len(points), centre + near + 1)))
    size = max(1, 2 * len(points) // target)
    chosen = set(exact)
    for start in range(0, len(points), size):
        bucket = range(start, min(start + size, len(points)))
        if not exact.intersection(bucket):
            chosen.add(min(bucket, key=lambda i: points[i].price))
            chosen.add(max(bucket, key=lambda i: points[i].price))
    chosen.update((0, len(points) - 1))
    return [points[i] for i in sorted(chosen)]


def _x(at: datetime) -> float:
    return at.timestamp() / 86400


def _table(title: str, rows: Sequence[GroupRow]) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("", "trades", "wins", "win rate %", "net PnL", "fees"))
    body = "".join(f"<tr><td>{escape(r.key)}</td><td>{r.trades}</td><td>{r.wins}</td><td>{r.win_rate * 100:.2f}</td>"
                   f"<td>{r.net_pnl:,.2f}</td><td>{r.fees:,.2f}</td></tr>" for r in rows)
    return f"<h2>{escape(title)}</h2><table><tr>{head}</tr>{body}</table>"


def _n(value: Decimal | None, places: int) -> str:
    """``value`` to ``places`` decimals (thousands separated), or "n/a" when it is undefined (a ratio without a
    loss or a drawdown, an average of nothing)."""
    return "n/a" if value is None else f"{value:,.{places}f}"


def _pct(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value:.2f}%"


def _metrics(report: Report) -> str:
    s, dd, cd = report.stats, report.drawdown, report.closed_drawdown
    pairs = [
        ("Final equity", f"{report.final_equity:,.2f}"), ("Total return", f"{report.total_return_pct:.2f}%"),
        ("Annualised", _pct(report.annual_return_pct)), ("Buy and hold", f"{report.buy_and_hold_pct:.2f}%"),
        ("Max drawdown (marked)", f"{dd.pct:.2f}% / {dd.amount:,.2f}"),
        ("Max drawdown (closed)", f"{cd.pct:.2f}% / {cd.amount:,.2f}"),
        ("Drawdown peak -> trough", f"{dd.peak_at or '-'} -> {dd.trough_at or '-'} ({dd.duration})"),
        ("Sharpe / Sortino / Calmar", f"{_n(report.sharpe, 2)} / {_n(report.sortino, 2)} / {_n(report.calmar, 2)}"),
        ("Trades / wins / losses", f"{s.count} / {s.wins} / {s.losses}"),
        ("Win rate", _pct(None if s.win_rate is None else s.win_rate * 100)),
        ("Net profit (closed trades)", f"{s.net_profit:,.2f}"),
        ("Open at the end / marked PnL", f"{report.open_trades} / {report.open_pnl:,.2f}"),
        ("Profit factor", _n(s.profit_factor, 3)),
        ("Expectancy", _n(s.expectancy, 4)),
        ("Average win / loss", f"{_n(s.average_win, 2)} / {_n(s.average_loss, 2)}"),
        ("Best / worst trade", f"{_n(s.best, 2)} / {_n(s.worst, 2)}"),
        ("Longest streaks win / loss", f"{s.longest_win_streak} / {s.longest_loss_streak}"),
        ("Exposure", f"{report.exposure_pct:.2f}%"), ("Trades per day", f"{report.trades_per_day:.2f}"),
        ("Average hold winners / losers", f"{s.average_hold_winners} / {s.average_hold_losers}"),
        ("Fees (share of gross)", f"{s.fees:,.2f} ({report.fees_share_of_gross_pct:.2f}%)"),
        ("LLM cost (share of gross)", f"{report.llm_cost:,.2f} ({report.llm_share_of_gross_pct:.2f}%)"),
    ]
    return "<table class='metrics'>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in pairs) + "</table>"


def _histogram(trades: Sequence[RoundTrip], buckets: int = 30) -> list[tuple[str, float]]:
    values = [float(t.net_pnl) for t in trades]
    if not values:
        return []
    lo, hi = min(values), max(values)
    width = (hi - lo) / buckets or 1.0
    counts = [0] * buckets
    for v in values:
        counts[min(int((v - lo) / width), buckets - 1)] += 1
    return [(f"{lo + i * width:,.2f} .. {lo + (i + 1) * width:,.2f}", float(c)) for i, c in enumerate(counts)]


def monthly_returns(equity: Sequence[EquityPoint]) -> list[tuple[str, float]]:
    """Return of each calendar month (UTC) in percent: its last equity against the previous month's last (the
    first equity for the first month)."""
    closes: dict[str, Decimal] = {}
    for point in equity:
        closes[point.at.strftime("%Y-%m")] = point.equity
    previous = equity[0].equity if equity else Decimal(0)
    out = []
    for month, close in closes.items():
        out.append((month, float((close / previous - 1) * 100) if previous > 0 else 0.0))
        previous = close
    return out


def render_html(report: Report, *, title: str, trades: Sequence[RoundTrip], equity: Sequence[EquityPoint],
                prices: Sequence[PricePoint], marks: Sequence[TradeMark]) -> str:
    """The whole report as one HTML document."""
    shown = downsample(prices, [m.at for m in marks])
    caption = f"Price ({len(shown):,} of {len(prices):,} points; wheel to zoom, double-click to reset)"
    price = line_chart("price", caption,
                       [("#555", [(_x(p.at), float(p.price)) for p in shown])],
                       [(_x(m.at), float(m.price), "#2a9d3a" if m.entry else "#c62828", m.label) for m in marks])
    eq = downsample([PricePoint(p.at, p.equity) for p in equity], [], target=3000)
    peak, under = Decimal("-Infinity"), []
    for p in eq:
        peak = max(peak, p.price)
        under.append((_x(p.at), float((p.price - peak) / peak * 100) if peak > 0 else 0.0))
    charts = [
        price,
        line_chart("equity", "Equity (marked to market)", [("#1565c0", [(_x(p.at), float(p.price)) for p in eq])]),
        line_chart("drawdown", "Drawdown %", [("#c62828", under)]),
        bars("pnl", "PnL distribution (trades per net PnL bucket)", _histogram(trades)),
        bars("monthly", "Monthly returns % (marked equity)", monthly_returns(equity)),
    ]
    tables = (_table("By symbol", report.by_symbol) + _table("By exit reason", report.by_exit_reason)
              + _table("By month", report.by_month))
    style = ("body{font-family:sans-serif;margin:20px;max-width:1100px}table{border-collapse:collapse;margin:8px 0}"
             "td,th{border:1px solid #ddd;padding:2px 8px;text-align:right}th{text-align:left}"
             "figure{margin:12px 0}figcaption{font-weight:bold}")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{style}</style></head><body><h1>{escape(title)}</h1>"
            f"<p>{report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} UTC</p>"
            f"{_metrics(report)}{''.join(charts)}{tables}<script>{_ZOOM}</script></body></html>")
