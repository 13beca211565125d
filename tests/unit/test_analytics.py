"""Report metrics on hand-computed cases and properties: drawdowns never negative, the equity curve ends at the
final equity, tables sum to the totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from trader_core.analytics import (
    EquityPoint,
    RoundTrip,
    annualised,
    build_report,
    drawdown,
    equity_curve,
    group,
    trade_stats,
)
from trader_core.model import (
    Asset,
    ClientOrderId,
    Fill,
    FillRecord,
    Money,
    OrderRole,
    Price,
    Quantity,
    RunId,
    Side,
    Symbol,
    TradeId,
    VenueOrderId,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
BTC = Symbol.parse("BTC/USDT")
D = Decimal


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def trip(net: str, *, hours: float = 0, held: float = 1, symbol: str = "BTC/USDT", reason: str = "target",
         fees: str = "1") -> RoundTrip:
    return RoundTrip(symbol=symbol, entry_time=at(hours), exit_time=at(hours + held), entry_price=D(100),
                     exit_price=D(101), quantity=D(1), fees=D(fees), net_pnl=D(net), exit_reason=reason)


def test_drawdown_by_hand() -> None:
    points = [EquityPoint(at(i), D(v)) for i, v in enumerate((100, 120, 90, 110, 130, 117))]
    dd = drawdown(points)
    assert dd.amount == 30
    assert dd.pct == 25
    assert (dd.peak_at, dd.trough_at, dd.recovered_at) == (at(1), at(2), at(4))
    assert dd.duration == timedelta(hours=3)
    assert drawdown([EquityPoint(at(0), D(1)), EquityPoint(at(1), D(2))]).amount == 0


def test_trade_statistics_by_hand() -> None:
    trades = [trip("10", hours=0), trip("-5", hours=2), trip("-3", hours=4, held=3), trip("6", hours=8)]
    stats = trade_stats(trades)
    assert (stats.count, stats.wins, stats.losses) == (4, 2, 2)
    assert stats.profit_factor == 2  # 16 / 8
    assert stats.expectancy == 2  # 8 / 4
    assert (stats.best, stats.worst) == (10, -5)
    assert (stats.average_win, stats.average_loss) == (8, -4)
    assert (stats.longest_win_streak, stats.longest_loss_streak) == (1, 2)
    assert stats.average_hold_losers == timedelta(hours=2)


def test_a_doubling_over_half_a_year_annualises_to_about_four_times() -> None:
    yearly = annualised(D(1), timedelta(days=182.5))
    assert abs(yearly - 3) < D("0.0001")


money = st.decimals(min_value=-500, max_value=500, places=2)


@given(st.lists(money, min_size=1, max_size=40))
def test_drawdown_is_never_negative_and_never_more_than_the_peak(changes: list[Decimal]) -> None:
    equity, points = D(1000), []
    for i, change in enumerate(changes):
        equity = max(equity + change, D(1))
        points.append(EquityPoint(at(i), equity))
    dd = drawdown(points)
    assert dd.amount >= 0
    assert 0 <= dd.pct <= 100


@given(st.lists(st.tuples(money, st.sampled_from(["BTC/USDT", "ETH/USDT"]), st.sampled_from(["stop", "target"])),
                max_size=30))
def test_tables_by_symbol_reason_and_month_sum_to_the_totals(rows: list[tuple[Decimal, str, str]]) -> None:
    trades = [trip(str(net), hours=24 * 11 * i, symbol=s, reason=r) for i, (net, s, r) in enumerate(rows)]
    stats = trade_stats(trades)
    for table in (group(trades, lambda t: t.symbol), group(trades, lambda t: t.exit_reason),
                  group(trades, lambda t: t.exit_time.strftime("%Y-%m"))):
        assert sum(row.trades for row in table) == stats.count
        assert sum((row.net_pnl for row in table), D(0)) == stats.net_profit
        assert sum(row.wins for row in table) == stats.wins


def a_fill(side: Side, price: str, quantity: str, hours: float, *, fee: str, fee_asset: str) -> FillRecord:
    fill = Fill(trade_id=TradeId(f"t{hours}{side.value}"), venue_order_id=VenueOrderId("v"),
                client_order_id=ClientOrderId("c1"), symbol=BTC, side=side, price=Price(D(price)),
                quantity=Quantity(D(quantity)), fee=Money(D(fee), Asset(fee_asset)), time=at(hours))
    fee_quote = D(fee) * D(price) if fee_asset == "BTC" else D(fee)
    return FillRecord(run_id=RunId("r"), venue="paper", fill=fill, plan_id=None, role=OrderRole.ENTRY,
                      realized_pnl=D(0), fee_quote=fee_quote)


@given(st.lists(st.decimals(min_value=50, max_value=150, places=2), min_size=3, max_size=30))
def test_the_equity_curve_ends_at_cash_plus_holdings_at_the_last_price(prices: list[Decimal]) -> None:
    fills = [a_fill(Side.BUY, "100", "2", 0.5, fee="0.002", fee_asset="BTC"),
             a_fill(Side.SELL, "110", "1", 1.5, fee="0.11", fee_asset="USDT")]
    marks = [(at(i), {BTC: p}) for i, p in enumerate(prices)]
    curve = equity_curve(D(1000), fills, marks)
    held = D(2) - D("0.002") - D(1)
    cash = D(1000) - D(200) + D(110) - D("0.11")
    assert curve[-1].equity == cash + held * prices[-1]
    report = build_report(trades=[], equity=curve, balance=D(1000), first_prices={BTC: prices[0]},
                          last_prices={BTC: prices[-1]}, start=at(0), end=at(len(prices)))
    assert report.final_equity == curve[-1].equity
    assert report.drawdown.amount >= 0


def test_ratios_without_a_loss_or_a_drawdown_are_undefined_and_shown_so() -> None:
    """Only winning trades and a rising curve: profit factor, Sortino and Calmar have nothing to divide by. They
    are None ("n/a" in the terminal and the HTML), never 0, which reads as a rule that lost everything."""
    import io

    from trader_adapters.report import print_report, render_html

    trades = [trip("5", hours=0), trip("7", hours=30)]
    assert trade_stats(trades).profit_factor is None
    curve = [EquityPoint(at(h), D(1000) + h) for h in range(0, 72, 24)]
    report = build_report(trades=trades, equity=curve, balance=D(1000), first_prices={BTC: D(100)},
                          last_prices={BTC: D(110)}, start=at(0), end=at(72))
    assert (report.sortino, report.calmar, report.stats.profit_factor) == (None, None, None)
    terminal = io.StringIO()
    print_report(report, terminal)
    assert "n/a" in terminal.getvalue()
    page = render_html(report, title="t", trades=tuple(trades), equity=tuple(curve), prices=(), marks=())
    assert "<th>Profit factor</th><td>n/a</td>" in page


def test_only_a_span_of_a_year_or_more_is_annualised_and_a_total_loss_stays_a_total_loss() -> None:
    """Returns of less than a year are not annualised (the GIPS rule): 1 % in a day compounded to 3,678 % a year.
    A total loss annualised to 0 % (it is -100 %)."""
    daily = [EquityPoint(at(24 * d), D(1000) + d) for d in range(3)]
    short = build_report(trades=[], equity=daily, balance=D(1000), first_prices={}, last_prices={}, start=at(0),
                         end=at(48))
    assert (short.annual_return_pct, short.calmar) == (None, None)
    yearly = [EquityPoint(at(24 * d), D(1000) + (d % 7) * 3 + d) for d in range(400)]
    long = build_report(trades=[], equity=yearly, balance=D(1000), first_prices={}, last_prices={}, start=at(0),
                        end=at(24 * 399))
    assert long.annual_return_pct is not None
    assert long.calmar is not None
    assert annualised(D(-1), timedelta(days=400)) == -1


def test_a_sharpe_ratio_without_two_daily_returns_is_undefined_not_zero() -> None:
    one_day = [EquityPoint(at(h), D(1000) + h) for h in range(20)]
    report = build_report(trades=[trip("5")], equity=one_day, balance=D(1000), first_prices={}, last_prices={},
                          start=at(0), end=at(19))
    assert report.sharpe is None
    steady = [EquityPoint(at(24 * d), D(1000) * D("1.01") ** d) for d in range(4)]  # 1 % every day: no spread
    assert build_report(trades=[], equity=steady, balance=D(1000), first_prices={}, last_prices={}, start=at(0),
                        end=at(72)).sharpe is None
