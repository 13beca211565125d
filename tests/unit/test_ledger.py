"""Ledger properties: average cost, realized PnL and fees from fills, in any split of the same trades."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.strategies import BTC_USDT, fills
from trader_core.model import ZERO, Fill, Money, Quantity, Side, TradeId
from trader_core.portfolio import Holding, apply_fill

Fills = list[Fill]
_PLACES = Decimal("1e-12")


def _book(sequence: Fills) -> tuple[Holding, Decimal, Decimal, Decimal]:
    holding, realized, fees, cash = Holding(BTC_USDT), ZERO, ZERO, ZERO
    for fill in sequence:
        holding, booking = apply_fill(holding, fill)
        realized += booking.realized_pnl
        fees += booking.fee_quote
        cash += booking.cash_delta
    return holding, realized, fees, cash


def _split(fill: Fill, parts: list[int]) -> Fills:
    """The same trade reported as several partial fills (fees split pro rata)."""
    total = sum(parts)
    pieces = []
    quantity_left, fee_left = fill.quantity.value, fill.fee.amount
    for number, part in enumerate(parts):
        last = number == len(parts) - 1
        # Exact pieces: each is truncated to 12 places and the last takes the remainder.
        quantity = quantity_left if last else (fill.quantity.value * part / total).quantize(_PLACES, ROUND_DOWN)
        fee = fee_left if last else (fill.fee.amount * part / total).quantize(_PLACES, ROUND_DOWN)
        quantity_left, fee_left = quantity_left - quantity, fee_left - fee
        if quantity == ZERO:
            continue
        pieces.append(attrs_evolve(fill, quantity=Quantity(quantity), fee=Money(fee, fill.fee.asset),
                                   trade_id=TradeId(f"{fill.trade_id}-{number}")))
    return pieces


def attrs_evolve(fill: Fill, **changes: object) -> Fill:
    import attrs

    return attrs.evolve(fill, **changes)  # type: ignore[arg-type]


def _round_trip(buys: Fills, sell_price_fill: Fill) -> Fills:
    """Buys, then one sell of everything held at ``sell_price_fill``'s price (fee in quote)."""
    held = _book(buys)[0].quantity
    sell = attrs_evolve(sell_price_fill, side=Side.SELL, quantity=Quantity(held),
                        fee=Money(held * sell_price_fill.price.value / 1000, BTC_USDT.quote))
    return [*buys, sell]


@given(st.lists(fills(side=Side.BUY), min_size=1, max_size=5), fills(side=Side.SELL))
def test_net_realized_of_a_closed_round_trip_equals_cash_in_minus_cash_out(buys: Fills, exit_fill: Fill) -> None:
    trades = _round_trip(buys, exit_fill)
    holding, realized, fees, _ = _book(trades)
    assert holding.quantity == ZERO
    assert holding.cost == ZERO
    spent = sum((f.notional + (f.fee.amount if f.fee.asset == BTC_USDT.quote else ZERO)
                 for f in trades if f.side is Side.BUY), ZERO)
    sell = trades[-1]
    received = sell.notional - sell.fee.amount
    assert realized - fees == received - spent


@given(st.lists(fills(side=Side.BUY), min_size=1, max_size=4), fills(side=Side.SELL),
       st.lists(st.integers(1, 5), min_size=1, max_size=4), st.lists(st.integers(1, 5), min_size=1, max_size=4))
def test_any_split_of_the_same_trades_gives_the_same_result(
    buys: Fills, exit_fill: Fill, buy_parts: list[int], sell_parts: list[int]
) -> None:
    whole = _round_trip(buys, exit_fill)
    split = [piece for fill in whole[:-1] for piece in _split(fill, buy_parts)] + _split(whole[-1], sell_parts)
    assert _book(split)[0].quantity == _book(whole)[0].quantity == ZERO
    # Once flat, the cost basis has telescoped away: realized PnL and fees are exact whatever the split.
    assert _book(split)[1:] == _book(whole)[1:]


@given(st.lists(fills(), min_size=1, max_size=12))
def test_holdings_never_go_negative_and_overselling_books_no_profit(sequence: Fills) -> None:
    holding = Holding(BTC_USDT)
    for fill in sequence:
        before = holding
        holding, booking = apply_fill(holding, fill)
        assert holding.quantity >= ZERO
        assert holding.cost >= ZERO
        if booking.excess > ZERO:
            # Only the units actually held produce PnL: never profit from a zero cost basis.
            assert booking.realized_pnl == (before.quantity * fill.price.value - before.cost)


@given(st.lists(fills(side=Side.BUY, fee_asset=BTC_USDT.base), min_size=1, max_size=5))
def test_a_base_asset_fee_reduces_what_is_held_and_counts_as_a_fee(buys: Fills) -> None:
    holding, _, fees, _ = _book(buys)
    assert holding.quantity == sum((f.quantity.value - f.fee.amount for f in buys), ZERO)
    assert fees == sum((f.fee.amount * f.price.value for f in buys), ZERO)


@given(fills(side=Side.BUY), st.decimals(min_value=Decimal("0.01"), max_value=Decimal(1000), places=4),
       st.decimals(min_value=Decimal("0.00001"), max_value=Decimal(1), places=5))
def test_a_third_asset_fee_is_valued_at_its_rate_and_needs_one(buy: Fill, rate: Decimal, amount: Decimal) -> None:
    from trader_core.model import Asset, InvalidValueError

    fill = attrs_evolve(buy, fee=Money(amount, Asset("BNB")))
    holding, booking = apply_fill(Holding(BTC_USDT), fill, rate)
    assert booking.fee_quote == amount * rate
    assert holding.quantity == fill.quantity.value  # a BNB fee takes nothing from what was bought
    assert booking.cash_delta == -(fill.notional) - amount * rate
    with pytest.raises(InvalidValueError, match="rate"):  # refused, never valued at 0
        apply_fill(Holding(BTC_USDT), fill)
