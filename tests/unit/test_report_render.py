"""The HTML renderer's downsampling: exact around trades, bounded elsewhere, spikes kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from trader_adapters.report.html import PricePoint, downsample, monthly_returns
from trader_core.analytics import EquityPoint

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _series(prices: list[int]) -> list[PricePoint]:
    return [PricePoint(T0 + timedelta(minutes=i), Decimal(p)) for i, p in enumerate(prices)]


def test_points_near_a_trade_are_kept_exactly_and_the_rest_is_thinned() -> None:
    points = _series([100 + (i % 7) for i in range(10_000)])
    trade = T0 + timedelta(minutes=5_000)
    shown = downsample(points, [trade], target=500, near=5)
    assert len(shown) < 700
    assert [p.at for p in shown if abs(p.at - trade) <= timedelta(minutes=5)] == [
        trade + timedelta(minutes=k) for k in range(-5, 6)]


@given(st.lists(st.integers(1, 10_000), min_size=1, max_size=3_000), st.integers(10, 200))
def test_the_extremes_first_and_last_points_survive(prices: list[int], target: int) -> None:
    points = _series(prices)
    shown = downsample(points, [], target=target)
    assert shown[0] == points[0]
    assert shown[-1] == points[-1]
    assert max(p.price for p in shown) == max(p.price for p in points)
    assert min(p.price for p in shown) == min(p.price for p in points)
    assert [p.at for p in shown] == sorted({p.at for p in shown})


def test_monthly_returns_chain_month_end_equities() -> None:
    equity = [EquityPoint(datetime(2025, 1, 1, tzinfo=UTC), Decimal(1000)),
              EquityPoint(datetime(2025, 1, 31, tzinfo=UTC), Decimal(1100)),
              EquityPoint(datetime(2025, 2, 15, tzinfo=UTC), Decimal(990)),
              EquityPoint(datetime(2025, 2, 28, tzinfo=UTC), Decimal(1045))]
    assert monthly_returns(equity) == [("2025-01", 10.0), ("2025-02", -5.0)]
