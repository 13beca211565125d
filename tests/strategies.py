"""Hypothesis strategies for the model: valid by construction, shared by every property test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from trader_core.model import (
    Asset,
    ClientOrderId,
    Fill,
    InstrumentRules,
    Liquidity,
    Money,
    Price,
    Quantity,
    Side,
    Symbol,
    TradeId,
    VenueOrderId,
)

BTC_USDT = Symbol(Asset("BTC"), Asset("USDT"))
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def decimals(low: str, high: str, places: int) -> st.SearchStrategy[Decimal]:
    """Decimals in [low, high] with at most ``places`` decimal places."""
    return st.decimals(min_value=Decimal(low), max_value=Decimal(high), places=places,
                       allow_nan=False, allow_infinity=False)


prices = decimals("0.01", "100000", 2).filter(lambda d: d > 0).map(Price)
quantities = decimals("0.00001", "50", 5).filter(lambda d: d > 0).map(Quantity)
steps = st.sampled_from([Decimal("0.00001"), Decimal("0.001"), Decimal("0.01"), Decimal("0.25"), Decimal(1)])
times = st.integers(min_value=0, max_value=10**8).map(lambda s: T0 + timedelta(seconds=s))


@st.composite
def instrument_rules(draw: st.DrawFn) -> InstrumentRules:
    """Rules with a tick, a step and minimums that are multiples of the step."""
    step = draw(steps)
    return InstrumentRules(
        symbol=BTC_USDT, tick_size=draw(st.sampled_from(["0.01", "0.1", "1"])), step_size=step,
        min_quantity=step * draw(st.integers(1, 10)), min_notional=draw(st.sampled_from(["0", "5", "10"])),
    )


@st.composite
def fills(draw: st.DrawFn, side: Side | None = None, fee_asset: Asset | None = None) -> Fill:
    """A fill of BTC/USDT with a fee in USDT or BTC."""
    chosen_side = side or draw(st.sampled_from(Side))
    price = draw(prices)
    quantity = draw(quantities)
    asset = fee_asset or draw(st.sampled_from([BTC_USDT.quote, BTC_USDT.base]))
    rate = draw(st.sampled_from([Decimal(0), Decimal("0.001"), Decimal("0.00075")]))
    amount = quantity.value * rate if asset == BTC_USDT.base else quantity.value * price.value * rate
    number = draw(st.integers(1, 10**9))
    return Fill(
        trade_id=TradeId(str(number)), venue_order_id=VenueOrderId("1"), client_order_id=ClientOrderId("tc-1-1"),
        symbol=BTC_USDT, side=chosen_side, price=price, quantity=quantity, fee=Money(amount, asset),
        time=draw(times), liquidity=Liquidity.TAKER,
    )
