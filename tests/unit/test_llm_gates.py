"""The original's pre-call gates: fee-ratio cooldown, chop filter, trade spacing with break-glass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from trader_adapters.llm.gates import (
    GatePolicy,
    fee_ratio_blocks,
    is_chop,
    priority_move_pct,
    rsi,
    spacing,
)

P = GatePolicy()
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_fee_ratio_at_fifty_percent_blocks() -> None:
    assert fee_ratio_blocks(Decimal(100), Decimal(50), P)
    assert fee_ratio_blocks(Decimal(-100), Decimal(60), P)
    assert not fee_ratio_blocks(Decimal(100), Decimal("49.99"), P)
    assert not fee_ratio_blocks(Decimal(0), Decimal(5), P)


def test_chop_needs_twenty_bars_narrow_bands_and_a_neutral_rsi() -> None:
    flat = [Decimal(100) + Decimal("0.01") * (i % 2) for i in range(30)]
    assert is_chop(flat, P)
    assert not is_chop(flat[:19], P)
    trending = [Decimal(100) + Decimal("0.01") * i for i in range(30)]
    assert not is_chop(trending, P)  # narrow bands, but RSI 100
    wide = [Decimal(100) + Decimal(5) * (i % 2) for i in range(30)]
    assert not is_chop(wide, P)
    assert not is_chop(flat, GatePolicy(chop_filter=False))  # turned off (chop_filter = false)


@given(st.lists(st.decimals(1, 10_000, places=2), min_size=15, max_size=40))
def test_rsi_is_between_0_and_100(closes: list[Decimal]) -> None:
    value = rsi(closes)
    assert value is not None
    assert 0 <= value <= 100


def test_spacing_blocks_within_two_minutes_unless_the_break_glass_move_fires_once_an_hour() -> None:
    now = T0 + timedelta(minutes=1)
    assert spacing(now, None, None, Decimal(0), P).allowed
    assert spacing(T0 + timedelta(minutes=2), T0, None, Decimal(0), P).allowed
    assert not spacing(now, T0, None, Decimal("1.4"), P).allowed
    glass = spacing(now, T0, None, Decimal("-1.5"), P)
    assert (glass.allowed, glass.break_glass, glass.size_factor) == (True, True, Decimal("0.6"))
    assert not spacing(now, T0, now - timedelta(minutes=59), Decimal(3), P).allowed
    assert spacing(now, T0, now - timedelta(minutes=60), Decimal(3), P).break_glass


def test_priority_move_over_the_lookback() -> None:
    closes = [(T0 + timedelta(minutes=i), Decimal(100 + i)) for i in range(10)]
    assert priority_move_pct(closes, T0 + timedelta(minutes=9), timedelta(minutes=5)) == Decimal(5) / 104 * 100
    assert priority_move_pct(closes[:1], T0, timedelta(minutes=5)) == 0
