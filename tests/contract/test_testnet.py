"""Opt-in: the exchange contract suite through ``CcxtExchange`` against the real Binance spot testnet.

Runs only with ``TRADER_TESTNET_API_KEY`` and ``TRADER_TESTNET_SECRET`` set (``pytest -m testnet``);
skipped otherwise. The shared tests that need to move the price or fund the account skip themselves
(a real venue allows neither); those that assume the emulated starting state are replaced by live
variants below. Orders are placed far from the market and cancelled, so nothing fills.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.contract import test_exchange_contract as contract
from tests.contract.ccxt_harness import CcxtTestnetHarness, testnet_credentials_or_skip
from tests.contract.exchange_harness import BTC, TF, run
from trader_core.model import (
    ClientOrderId,
    OrderNotFoundError,
    OrderRequest,
    OrderStatus,
    OrderType,
    Quantity,
    Side,
    Symbol,
    UnknownSymbolError,
)

pytestmark = pytest.mark.testnet

ASSUMES_EMULATED_START = {
    "test_quote_shape": "asserts the emulated start price 30000",
    "test_unknown_symbol": "XRP/USDT is listed on the testnet",
    "test_fetch_balances_reports_only_non_zero": "asserts an empty account",
}
SHARED = sorted(
    name for name in dir(contract)
    if name.startswith("test_") and not name.startswith("test_fake_") and name not in ASSUMES_EMULATED_START
)
globals().update({name: getattr(contract, name) for name in SHARED})


@pytest.fixture
def harness() -> Iterator[CcxtTestnetHarness]:
    """CcxtExchange on the Binance spot testnet (sandbox mode, no base URL)."""
    key, secret = testnet_credentials_or_skip()
    h = CcxtTestnetHarness(key, secret)
    try:
        yield h
    finally:
        h.close()


def test_live_quote_and_closed_candles(harness: CcxtTestnetHarness) -> None:
    quote = run(harness.market.fetch_quote(BTC))
    assert Decimal(0) < quote.bid <= quote.ask
    candles = run(harness.market.fetch_candles(BTC, TF, limit=5))
    assert 0 < len(candles) <= 5
    assert all(c.close_time <= harness.clock.now() for c in candles)


def test_live_unknown_symbol(harness: CcxtTestnetHarness) -> None:
    with pytest.raises(UnknownSymbolError):
        run(harness.market.fetch_instrument(Symbol.parse("ZZZNOTLISTED/USDT")))


def test_live_balances_are_non_zero(harness: CcxtTestnetHarness) -> None:
    assert all(b.total > 0 for b in run(harness.venue.fetch_balances()))


def test_live_far_limit_order_round_trip(harness: CcxtTestnetHarness) -> None:
    rules = run(harness.market.fetch_instrument(BTC))
    quote = run(harness.market.fetch_quote(BTC))
    price = rules.round_price(quote.bid * Decimal("0.8"))  # far below the market: rests, never fills
    quantity = rules.round_quantity(rules.min_notional * 2 / price.value + rules.step_size)
    client_id = ClientOrderId(f"core-testnet-{harness.clock.now():%H%M%S%f}")
    request = OrderRequest(client_order_id=client_id, symbol=BTC, side=Side.BUY, order_type=OrderType.LIMIT,
                           quantity=Quantity(quantity.value), price=price, post_only=True)
    placed = run(harness.venue.place_order(request))
    try:
        assert placed.status is OrderStatus.OPEN
        assert run(harness.venue.fetch_order(BTC, client_id)).venue_order_id == placed.venue_order_id
        assert client_id in {o.client_order_id for o in run(harness.venue.fetch_open_orders(BTC))}
    finally:
        canceled = run(harness.venue.cancel_order(BTC, client_id))
    assert canceled.status is OrderStatus.CANCELED
    with pytest.raises(OrderNotFoundError):
        run(harness.venue.cancel_order(BTC, client_id))
