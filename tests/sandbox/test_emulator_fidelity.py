"""Where the emulator and the ccxt adapter used to be kinder than Binance (issue 17): each test drives the
real ccxt against the emulator on 127.0.0.1 and asserts what a user of the adapter would see."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from trader_adapters.ccxt import CcxtExchange
from trader_adapters.clock import SystemClock
from trader_core.model import ClientOrderId, OrderRequest, OrderType, Price, Quantity, Side, Symbol
from trader_sandbox import Sandbox
from trader_sandbox.testing import ccxt_client, running_sandbox

SYM = "BTC/USDT"
BTC = Symbol.parse(SYM)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox(symbols=("BTCUSDT",), history=20) as sb:
        sb.set_price("BTCUSDT", Decimal(30000))
        yield sb


def _adapter(sb: Sandbox) -> CcxtExchange:
    return CcxtExchange.create("binance", clock=SystemClock(), api_key=sb.api_key, secret=sb.secret,
                               base_url=sb.url, options={"enableRateLimit": False, "timeout": 5000})


async def _open_orders_after_placing(sb: Sandbox) -> Any:
    exchange = _adapter(sb)
    try:
        await exchange.place_order(OrderRequest(
            client_order_id=ClientOrderId("own-1"), symbol=BTC, side=Side.BUY, order_type=OrderType.LIMIT,
            quantity=Quantity("0.01000"), price=Price("29000.00"),
        ))
        return await exchange.fetch_open_orders(BTC)
    finally:
        await exchange.close()


def test_a_foreign_order_the_bot_cannot_read_is_skipped_and_reported(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    raw = ccxt_client(sandbox)
    # A market TAKE_PROFIT placed by someone else on the same account: the core has no such order.
    raw.create_order(SYM, "market", "sell", 0.01, None, {"takeProfitPrice": 31000.0})
    with caplog.at_level(logging.WARNING, logger="trader_adapters.ccxt.exchange"):
        orders = asyncio.run(_open_orders_after_placing(sandbox))
    assert [str(o.client_order_id) for o in orders] == ["own-1"]
    assert any("skipped a foreign order" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("side", "price"), [("buy", 3000.0), ("sell", 300000.0)])
def test_a_limit_price_far_from_the_market_fails_percent_price_by_side(
    sandbox: Sandbox, side: str, price: float
) -> None:
    """Binance allows 0.2x-5x of the average price for BTCUSDT and answers -1013 beyond it."""
    raw = ccxt_client(sandbox)
    with pytest.raises(ccxt.InvalidOrder, match="PERCENT_PRICE_BY_SIDE"):
        raw.create_order(SYM, "limit", side, 0.01, price)
    filters = {f["filterType"]: f for f in raw.fetch_markets()[0]["info"]["filters"]}
    assert filters["PERCENT_PRICE_BY_SIDE"]["bidMultiplierDown"] == "0.2"
    assert raw.create_order(SYM, "limit", "buy", 0.01, 29000.0)["status"] == "open"


async def _fills_after_a_market_buy(sb: Sandbox) -> Any:
    exchange = _adapter(sb)
    try:
        await exchange.place_order(OrderRequest(
            client_order_id=ClientOrderId("bnb-1"), symbol=BTC, side=Side.BUY, order_type=OrderType.MARKET,
            quantity=Quantity("0.01000"),
        ))
        return await exchange.fetch_fills(BTC)
    finally:
        await exchange.close()


def test_with_bnb_fees_on_the_commission_is_charged_in_bnb_and_reaches_the_fills() -> None:
    """Binance's documented myTrades example pays ``commissionAsset: BNB``: the third-asset fee path."""
    with running_sandbox(symbols=("BTCUSDT", "BNBUSDT"), history=20, bnb_fees=True,
                         balances={"USDT": Decimal(1000), "BNB": Decimal(1)}) as sb:
        sb.set_price("BTCUSDT", Decimal(30000))
        sb.set_price("BNBUSDT", Decimal(600))
        fills = asyncio.run(_fills_after_a_market_buy(sb))
        balances = sb.balances()
    assert [(str(f.client_order_id), f.fee.asset.code) for f in fills] == [("bnb-1", "BNB")]
    # 300 USDT x 0.001 x 0.75 / 600 = 0.000375 BNB; the BTC bought arrives whole.
    assert fills[0].fee.amount == Decimal("0.000375")
    assert balances["BNB"][0] == Decimal("0.999625")
    assert balances["BTC"][0] == Decimal("0.01")
