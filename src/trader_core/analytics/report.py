"""A run's report as one value: returns, drawdowns, ratios, trade statistics and tables, from its round trips, its
fills and the prices it saw. ``equity_curve`` marks the bot's own holdings to market at every price it is given."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import attrs

from trader_core.analytics.metrics import (
    DAYS_PER_YEAR,
    ZERO,
    Drawdown,
    EquityPoint,
    GroupRow,
    RoundTrip,
    TradeStats,
    annualised,
    daily_returns,
    days_in,
    drawdown,
    group,
    ratios,
    trade_stats,
)
from trader_core.model import FillRecord, Side, Symbol

__all__ = ["OpenTrade", "Report", "build_report", "closed_trade_equity", "equity_curve", "open_trade"]

Prices = Mapping[Symbol, Decimal]


def _flows(record: FillRecord) -> tuple[Decimal, Decimal]:
    """What one fill moves: (cash in quote, quantity held). A fee in the base asset reduces what is held; any
    other fee is counted at its booked quote value."""
    fill = record.fill
    sign = 1 if fill.side is Side.BUY else -1
    cash, held = -sign * fill.notional, sign * fill.quantity.value
    if fill.fee.asset == fill.symbol.base:
        held -= fill.fee.amount
    else:
        cash -= record.fee_quote
    return cash, held


def equity_curve(balance: Decimal, fills: Sequence[FillRecord], marks: Sequence[tuple[datetime, Prices]]
                 ) -> list[EquityPoint]:
    """Equity at each mark: the starting ``balance`` (quote), plus the cash the bot's fills moved, plus what it
    holds at the mark's prices. A fee in the base asset reduces what is held; any other fee is counted at its
    booked quote value. Fills are applied when their time is at or before the mark's."""
    ordered = sorted(fills, key=lambda r: r.fill.time)
    cash, held, last = balance, dict[Symbol, Decimal](), dict[Symbol, Decimal]()
    points: list[EquityPoint] = []
    index = 0
    for at, prices in marks:
        while index < len(ordered) and ordered[index].fill.time <= at:
            record = ordered[index]
            moved, bought = _flows(record)
            cash += moved
            held[record.fill.symbol] = held.get(record.fill.symbol, ZERO) + bought
            index += 1
        last.update(prices)
        value = sum((quantity * last.get(symbol, ZERO) for symbol, quantity in held.items()), ZERO)
        points.append(EquityPoint(at, cash + value))
    return points


@attrs.frozen(kw_only=True)
class OpenTrade:
    """A plan still open at the report's end: what it holds, and its result so far marked at the last price (every
    fee it paid and any part already sold included), so closed trades' net + open trades' results = the equity's
    change over a whole run."""

    symbol: str
    entry_time: datetime
    quantity: Decimal
    pnl: Decimal


def open_trade(fills: Sequence[FillRecord], end: datetime, last_prices: Prices) -> OpenTrade | None:
    """One plan's ``fills`` (its own, any order) as an open trade at ``end``: its fills up to ``end``, what they
    hold marked at ``last_prices``; None without an entry by then."""
    before = sorted((r for r in fills if r.fill.time <= end), key=lambda r: r.fill.time)
    if not before:
        return None
    symbol = before[0].fill.symbol
    cash = held = ZERO
    for record in before:
        moved, bought = _flows(record)
        cash, held = cash + moved, held + bought
    price = last_prices.get(symbol)
    return OpenTrade(symbol=str(symbol), entry_time=before[0].fill.time, quantity=held,
                     pnl=cash + held * (ZERO if price is None else price))


def closed_trade_equity(balance: Decimal, trades: Sequence[RoundTrip]) -> list[EquityPoint]:
    """Equity counted on closed trades only: the balance, then each trade's net result at its exit."""
    ordered = sorted(trades, key=lambda t: t.exit_time)
    if not ordered:
        return []
    points, equity = [EquityPoint(min(t.entry_time for t in ordered), balance)], balance
    for trade in ordered:
        equity += trade.net_pnl
        points.append(EquityPoint(trade.exit_time, equity))
    return points


@attrs.frozen(kw_only=True)
class Report:
    """Everything a report shows, computed; renderers only format it."""

    start: datetime
    end: datetime
    balance: Decimal
    final_equity: Decimal
    total_return_pct: Decimal
    annual_return_pct: Decimal | None  # None: a span shorter than a year is not annualised
    buy_and_hold_pct: Decimal
    drawdown: Drawdown
    closed_drawdown: Drawdown
    sharpe: Decimal | None  # None: fewer than two daily returns, or no spread between them
    sortino: Decimal | None  # None: no losing day
    calmar: Decimal | None  # None: no drawdown, or no annualised return
    stats: TradeStats
    open_trades: int  # plans still open at the end
    open_pnl: Decimal  # their results so far, marked at the last price
    exposure_pct: Decimal
    trades_per_day: Decimal
    llm_cost: Decimal
    fees_share_of_gross_pct: Decimal
    llm_share_of_gross_pct: Decimal
    by_symbol: tuple[GroupRow, ...]
    by_exit_reason: tuple[GroupRow, ...]
    by_month: tuple[GroupRow, ...]

    @property
    def net_pnl(self) -> Decimal:
        """Net of fees and of the LLM's cost: gross - fees - LLM cost."""
        return self.stats.net_profit - self.llm_cost


def _exposure(spells: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime) -> Decimal:
    """Share of the span during which at least one position was open (``spells``: entry and exit; overlaps
    counted once)."""
    span = end - start
    if span <= timedelta(0):
        return ZERO
    covered, reach = timedelta(0), start
    for entry, exit_ in sorted(spells):
        begin, finish = max(entry, reach), min(exit_, end)
        if finish > begin:
            covered += finish - begin
            reach = finish
    return days_in(covered) / days_in(span) * 100


def build_report(*, trades: Sequence[RoundTrip], equity: Sequence[EquityPoint], balance: Decimal,
                 first_prices: Prices, last_prices: Prices, start: datetime, end: datetime,
                 llm_cost: Decimal = ZERO, open_trades: Sequence[OpenTrade] = ()) -> Report:
    """The report of one run (or a time range of a bot): ``equity`` is marked to market in time order;
    ``open_trades``: the positions still open at ``end``. A span shorter than a year is not annualised (returns of
    less than a year are not annualised: the GIPS rule; 0.4 % in three hours compounds to millions of percent)."""
    final = equity[-1].equity if equity else balance + sum((t.net_pnl for t in trades), ZERO)
    total = (final - llm_cost - balance) / balance if balance > ZERO else ZERO
    yearly = annualised(total, end - start) if days_in(end - start) >= DAYS_PER_YEAR else None
    mtm = drawdown(equity)
    stats = trade_stats(trades)
    holds = [last_prices[s] / first_prices[s] - 1 for s in first_prices if s in last_prices and first_prices[s] > 0]
    gross = sum((t.gross_pnl for t in trades), ZERO)
    days = days_in(end - start)
    ratio = ratios(daily_returns(equity), yearly, mtm.pct)
    return Report(
        start=start, end=end, balance=balance, final_equity=final - llm_cost, total_return_pct=total * 100,
        annual_return_pct=None if yearly is None else yearly * 100,
        buy_and_hold_pct=sum(holds, ZERO) / len(holds) * 100 if holds else ZERO,
        drawdown=mtm, closed_drawdown=drawdown(closed_trade_equity(balance, trades)),
        sharpe=ratio["sharpe"], sortino=ratio["sortino"], calmar=ratio["calmar"], stats=stats,
        open_trades=len(open_trades), open_pnl=sum((t.pnl for t in open_trades), ZERO),
        exposure_pct=_exposure([(t.entry_time, t.exit_time) for t in trades]
                               + [(t.entry_time, end) for t in open_trades], start, end),
        trades_per_day=Decimal(stats.count) / days if days else ZERO,
        llm_cost=llm_cost,
        fees_share_of_gross_pct=stats.fees / abs(gross) * 100 if gross else ZERO,
        llm_share_of_gross_pct=llm_cost / abs(gross) * 100 if gross else ZERO,
        by_symbol=tuple(group(trades, lambda t: t.symbol)),
        by_exit_reason=tuple(group(trades, lambda t: t.exit_reason or "open")),
        by_month=tuple(group(trades, lambda t: t.exit_time.strftime("%Y-%m"))),
    )
