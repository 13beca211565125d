"""The report's metrics: pure functions over round trips and an equity curve (formulas in docs/reports.md).

Money stays ``Decimal``; ratios are ``Decimal`` too (square roots by ``Decimal.sqrt``). Days are UTC calendar days
and a year is 365 of them: crypto trades every day of the year.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import attrs

__all__ = [
    "DAYS_PER_YEAR",
    "Drawdown",
    "EquityPoint",
    "GroupRow",
    "RoundTrip",
    "TradeStats",
    "annualised",
    "daily_equity",
    "daily_returns",
    "days_in",
    "drawdown",
    "group",
    "ratios",
    "trade_stats",
]

ZERO = Decimal(0)
DAYS_PER_YEAR = Decimal(365)


@attrs.frozen(kw_only=True)
class RoundTrip:
    """One closed plan: what it bought and sold, its fees, and its net result (realized PnL after fees)."""

    symbol: str
    entry_time: datetime
    exit_time: datetime
    entry_price: Decimal
    exit_price: Decimal
    quantity: Decimal
    fees: Decimal
    net_pnl: Decimal
    exit_reason: str

    @property
    def gross_pnl(self) -> Decimal:
        """The result before fees."""
        return self.net_pnl + self.fees

    @property
    def held(self) -> timedelta:
        """How long the position was open."""
        return self.exit_time - self.entry_time


@attrs.frozen
class EquityPoint:
    """Equity at a time: cash plus holdings marked at that time's price."""

    at: datetime
    equity: Decimal


@attrs.frozen(kw_only=True)
class Drawdown:
    """The deepest fall from a peak: in percent of the peak and in money, from the peak's time to the trough's,
    and how long until equity came back to the peak (to the end of the data when it never did)."""

    pct: Decimal = ZERO
    amount: Decimal = ZERO
    peak_at: datetime | None = None
    trough_at: datetime | None = None
    recovered_at: datetime | None = None
    duration: timedelta = timedelta(0)


def drawdown(points: Sequence[EquityPoint]) -> Drawdown:
    """The maximum drawdown of ``points`` (in time order): the largest fall below a running peak."""
    if not points:
        return Drawdown()
    peak, best_peak, best_trough = points[0], points[0], points[0]
    for point in points:
        if point.equity > peak.equity:
            peak = point
        elif peak.equity - point.equity > best_peak.equity - best_trough.equity:
            best_peak, best_trough = peak, point
    amount = best_peak.equity - best_trough.equity
    if amount <= ZERO:
        return Drawdown()
    after = (p for p in points if p.at > best_trough.at and p.equity >= best_peak.equity)
    recovered = next(after, None)
    end = points[-1].at if recovered is None else recovered.at
    pct = amount / best_peak.equity * 100 if best_peak.equity > ZERO else ZERO
    return Drawdown(pct=pct, amount=amount, peak_at=best_peak.at, trough_at=best_trough.at,
                    recovered_at=None if recovered is None else recovered.at, duration=end - best_peak.at)


def daily_equity(points: Sequence[EquityPoint]) -> list[EquityPoint]:
    """The last equity of each UTC day."""
    days: dict[object, EquityPoint] = {}
    for point in points:
        days[point.at.date()] = point
    return list(days.values())


def daily_returns(points: Sequence[EquityPoint]) -> list[Decimal]:
    """Day-over-day returns of the daily closing equity."""
    daily = daily_equity(points)
    return [(b.equity - a.equity) / a.equity for a, b in itertools.pairwise(daily) if a.equity > ZERO]


def days_in(span: timedelta) -> Decimal:
    """``span`` in days, exactly (no float on the way)."""
    return Decimal(span // timedelta(microseconds=1)) / Decimal(86_400_000_000)


def annualised(total_return: Decimal, span: timedelta) -> Decimal:
    """A fractional return over ``span`` as a yearly rate (compounded); a total loss stays a total loss."""
    days = days_in(span)
    if days <= ZERO:
        return ZERO
    if total_return <= -1:
        return Decimal(-1)
    growth: Decimal = (1 + total_return) ** (DAYS_PER_YEAR / days)
    return growth - 1


def _mean(values: Sequence[Decimal]) -> Decimal:
    return sum(values, ZERO) / len(values) if values else ZERO


def ratios(returns: Sequence[Decimal], annual_return: Decimal | None, max_drawdown_pct: Decimal
           ) -> dict[str, Decimal | None]:
    """Sharpe and Sortino on daily returns (risk-free rate 0, annualised by the square root of 365), Calmar as the
    annualised return over the maximum drawdown. Sharpe without two daily returns or without any spread between
    them, Sortino without a losing day and Calmar without a drawdown or an annualised return are undefined (None:
    shown "n/a"), never 0, which reads as a measured figure."""
    mean = _mean(returns)
    spread = (sum(((r - mean) ** 2 for r in returns), ZERO) / (len(returns) - 1)).sqrt() if len(returns) > 1 else ZERO
    downside = (sum((min(r, ZERO) ** 2 for r in returns), ZERO) / len(returns)).sqrt() if returns else ZERO
    scale = DAYS_PER_YEAR.sqrt()
    return {
        "sharpe": mean / spread * scale if spread > ZERO else None,
        "sortino": mean / downside * scale if downside > ZERO else None,
        "calmar": annual_return * 100 / max_drawdown_pct
        if annual_return is not None and max_drawdown_pct > ZERO else None,
    }


@attrs.frozen(kw_only=True)
class TradeStats:
    """What the closed trades say about the rule."""

    count: int
    wins: int
    losses: int
    win_rate: Decimal | None  # None without a trade (no rate, not a rate of 0)
    gross_profit: Decimal
    gross_loss: Decimal
    net_profit: Decimal
    fees: Decimal
    profit_factor: Decimal | None  # None without a losing trade (undefined, not 0)
    expectancy: Decimal | None  # None without a trade
    average_win: Decimal | None  # None without a winner
    average_loss: Decimal | None  # None without a loser
    best: Decimal | None  # None without a trade
    worst: Decimal | None
    longest_win_streak: int
    longest_loss_streak: int
    average_hold_winners: timedelta
    average_hold_losers: timedelta


def _streak(flags: Iterable[bool], value: bool) -> int:
    longest = current = 0
    for flag in flags:
        current = current + 1 if flag is value else 0
        longest = max(longest, current)
    return longest


def _average_hold(trades: Sequence[RoundTrip]) -> timedelta:
    return sum((t.held for t in trades), timedelta(0)) / len(trades) if trades else timedelta(0)


def trade_stats(trades: Sequence[RoundTrip]) -> TradeStats:
    """Counts, sums, averages and streaks of ``trades`` (in exit order). A trade wins when its net result is
    above zero; profit factor = sum of winning net results / |sum of losing net results|. A figure with nothing to
    average or compare (no trade, no winner, no loser) is None, never 0."""
    ordered = sorted(trades, key=lambda t: t.exit_time)
    winners = [t for t in ordered if t.net_pnl > ZERO]
    losers = [t for t in ordered if t.net_pnl <= ZERO]
    profit = sum((t.net_pnl for t in winners), ZERO)
    loss = sum((t.net_pnl for t in losers), ZERO)
    count = len(ordered)
    return TradeStats(
        count=count, wins=len(winners), losses=len(losers),
        win_rate=Decimal(len(winners)) / count if count else None,
        gross_profit=profit, gross_loss=loss, net_profit=profit + loss,
        fees=sum((t.fees for t in ordered), ZERO),
        profit_factor=profit / -loss if loss < ZERO else None,
        expectancy=(profit + loss) / count if count else None,
        average_win=profit / len(winners) if winners else None,
        average_loss=loss / len(losers) if losers else None,
        best=max((t.net_pnl for t in ordered), default=None),
        worst=min((t.net_pnl for t in ordered), default=None),
        longest_win_streak=_streak((t.net_pnl > ZERO for t in ordered), value=True),
        longest_loss_streak=_streak((t.net_pnl > ZERO for t in ordered), value=False),
        average_hold_winners=_average_hold(winners), average_hold_losers=_average_hold(losers),
    )


@attrs.frozen(kw_only=True)
class GroupRow:
    """One row of a table by symbol, exit reason or month."""

    key: str
    trades: int
    wins: int
    net_pnl: Decimal
    fees: Decimal
    win_rate: Decimal


def group(trades: Sequence[RoundTrip], key: Callable[[RoundTrip], str]) -> list[GroupRow]:
    """``trades`` grouped by ``key`` (sorted by key); the rows sum to the totals."""
    groups: dict[str, list[RoundTrip]] = {}
    for trade in trades:
        groups.setdefault(key(trade), []).append(trade)
    rows = []
    for name in sorted(groups):
        members = groups[name]
        wins = sum(1 for t in members if t.net_pnl > ZERO)
        rows.append(GroupRow(key=name, trades=len(members), wins=wins,
                             net_pnl=sum((t.net_pnl for t in members), ZERO),
                             fees=sum((t.fees for t in members), ZERO), win_rate=Decimal(wins) / len(members)))
    return rows
