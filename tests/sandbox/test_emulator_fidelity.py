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
from trader_core.model import ClientOrderId, ExitBracket, OrderRequest, OrderType, Price, Quantity, Side, Symbol
from trader_sandbox import Sandbox
from trader_sandbox.testing import ccxt_client, running_sandbox

SYM = "BTC/USDT"
BTC = Symbol.parse(SYM)
SOL = Symbol.parse("SOL/USDT")


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox(symbols=("BTCUSDT", "SOLUSDT"), history=20) as sb:
        sb.set_price("BTCUSDT", Decimal(30000))
        sb.set_price("SOLUSDT", Decimal(150))
        yield sb


def _adapter(sb: Sandbox) -> CcxtExchange:
    return CcxtExchange.create("binance", clock=SystemClock(), api_key=sb.api_key, secret=sb.secret,
                               base_url=sb.url, options={"enableRateLimit": False, "timeout": 5000})


async def _open_orders_after_placing(sb: Sandbox) -> Any:
    exchange = _adapter(sb)
    try:
        await exchange.place_order(OrderRequest(
            client_order_id=ClientOrderId("own-1"), symbol=SOL, side=Side.BUY, order_type=OrderType.LIMIT,
            quantity=Quantity("1.000"), price=Price("140.00"),
        ))
        return await exchange.fetch_open_orders(SOL)
    finally:
        await exchange.close()


def test_a_foreign_order_the_bot_cannot_read_is_skipped_and_reported(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    raw = ccxt_client(sandbox)
    # A market TAKE_PROFIT placed by someone else on the same account (SOLUSDT offers it here): the core
    # has no such order.
    raw.create_order("SOL/USDT", "market", "sell", 1.0, None, {"takeProfitPrice": 160.0})
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


def test_btcusdt_lists_binances_recorded_order_types_and_refuses_a_market_stop(sandbox: Sandbox) -> None:
    raw = ccxt_client(sandbox)
    markets = {m["id"]: m["info"]["orderTypes"] for m in raw.fetch_markets()}
    assert markets["BTCUSDT"] == ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"]
    assert "STOP_LOSS" in markets["SOLUSDT"]
    # Through ccxt's implicit API (as the OCO bracket goes), so the venue decides.
    with pytest.raises(ccxt.ExchangeError, match="Stop loss orders are not supported for this symbol"):
        raw.private_post_order({"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_LOSS", "quantity": "0.01",
                                "stopPrice": "29000"})
    with pytest.raises(ccxt.ExchangeError, match="Stop loss orders are not supported"):
        raw.private_post_orderlist_oco({
            "symbol": "BTCUSDT", "side": "SELL", "quantity": "0.01", "aboveType": "LIMIT_MAKER",
            "abovePrice": "31000", "belowType": "STOP_LOSS", "belowStopPrice": "29000"})


async def _protect(sb: Sandbox, symbol: Symbol, stop: str, target: str, qty: str) -> Any:
    exchange = _adapter(sb)
    try:
        bracket = ExitBracket(symbol=symbol, side=Side.SELL, quantity=Quantity(qty), stop_price=Price(stop),
                              target_price=Price(target), stop_client_order_id=ClientOrderId(f"sl-{symbol.base}"),
                              target_client_order_id=ClientOrderId(f"tp-{symbol.base}"))
        legs = await exchange.place_exit_bracket(bracket)
        single = await exchange.place_order(OrderRequest(
            client_order_id=ClientOrderId(f"st-{symbol.base}"), symbol=symbol, side=Side.SELL,
            order_type=OrderType.STOP_LOSS, quantity=Quantity(qty), stop_price=Price(stop)))
        return legs, single
    finally:
        await exchange.close()


def test_the_protective_stop_is_one_the_symbol_allows(sandbox: Sandbox) -> None:
    """BTCUSDT has no STOP_LOSS: the adapter sends STOP_LOSS_LIMIT 0.5 % under the trigger (the default
    offset); SOLUSDT has it: a market stop, as before."""
    (stop, target), single = asyncio.run(_protect(sandbox, BTC, "29000.00", "31000.00", "0.01000"))
    assert (stop.order_type, stop.stop_price, target.order_type) == (
        OrderType.STOP_LOSS, Price("29000"), OrderType.TAKE_PROFIT)
    assert single.order_type is OrderType.STOP_LOSS
    by_id = {o["clientOrderId"]: o for o in sandbox.orders()}
    assert (by_id["sl-BTC"]["type"], by_id["sl-BTC"]["price"]) == ("STOP_LOSS_LIMIT", "28855.00000000")
    assert (by_id["st-BTC"]["type"], by_id["st-BTC"]["price"]) == ("STOP_LOSS_LIMIT", "28855.00000000")
    asyncio.run(_protect(sandbox, SOL, "140.00", "160.00", "1.000"))
    by_id = {o["clientOrderId"]: o for o in sandbox.orders()}
    assert by_id["sl-SOL"]["type"] == by_id["st-SOL"]["type"] == "STOP_LOSS"


def test_a_price_that_gaps_through_a_stop_limit_leaves_it_resting_and_a_market_stop_fills_where_it_lands(
        sandbox: Sandbox) -> None:
    """Binance: a triggered STOP_LOSS_LIMIT is a limit order at its limit price; a market that jumped past that
    limit does not trade it. A market stop fills at the first price past its trigger, the one the jump lands on."""
    asyncio.run(_protect(sandbox, BTC, "29000.00", "31000.00", "0.01000"))
    asyncio.run(_protect(sandbox, SOL, "140.00", "160.00", "1.000"))
    sandbox.set_price("BTCUSDT", Decimal(27000), gap=True)
    sandbox.set_price("SOLUSDT", Decimal(120), gap=True)
    by_id = {o["clientOrderId"]: o for o in sandbox.orders()}
    for cid in ("sl-BTC", "st-BTC"):
        assert (by_id[cid]["status"], Decimal(by_id[cid]["executedQty"])) == ("NEW", 0), "triggered, unfilled"
    assert by_id["tp-BTC"]["status"] == "EXPIRED", "its OCO leg goes once the stop triggers"
    assert by_id["sl-SOL"]["status"] == "FILLED"
    sold = by_id["sl-SOL"]
    assert Decimal(sold["cummulativeQuoteQty"]) / Decimal(sold["executedQty"]) == 120, (
        "filled where the jump landed, not at the trigger")


def test_a_quiet_candle_keeps_the_price_where_the_gap_left_it(sandbox: Sandbox) -> None:
    """Time passes after a gap with nobody trading: the next candle is flat at the last price with no volume, so a
    bot reading closed candles sees where the price went, and the stop-limit left behind still rests."""
    asyncio.run(_protect(sandbox, BTC, "29000.00", "31000.00", "0.01000"))
    sandbox.set_price("BTCUSDT", Decimal(27000), gap=True)
    sandbox.step(2, "BTCUSDT", quiet=True)
    assert Decimal(sandbox.prices()["BTCUSDT"]) == 27000
    *_, before, last = sandbox.exchange.markets["BTCUSDT"].klines("1m", None, None, 3)
    assert [Decimal(v) for v in last[1:6]] == [Decimal(27000)] * 4 + [Decimal(0)]
    assert last[0] - before[0] == 60_000, "the candle's time is the series' next one"
    assert {o["clientOrderId"]: o["status"] for o in sandbox.orders()}["sl-BTC"] == "NEW"


def test_a_price_walked_through_a_stop_limit_fills_it_on_the_way(sandbox: Sandbox) -> None:
    asyncio.run(_protect(sandbox, BTC, "29000.00", "31000.00", "0.01000"))
    sandbox.set_price("BTCUSDT", Decimal(27000))  # a walk: it trades at every price on the way
    by_id = {o["clientOrderId"]: o for o in sandbox.orders()}
    assert by_id["sl-BTC"]["status"] == "FILLED"


@pytest.mark.parametrize(("extra", "order"), [
    ({"stopPrice": "31000"}, {"type": "MARKET", "quantity": "0.001"}),  # a mistaken "stop market" on BTCUSDT
    ({"stopPrice": "29000"}, {"type": "LIMIT", "quantity": "0.001", "price": "29500", "timeInForce": "GTC"}),
    ({"timeInForce": "GTC"}, {"type": "MARKET", "quantity": "0.001"}),
    ({"quoteOrderQty": "100"}, {"type": "LIMIT", "quantity": "0.001", "price": "29500", "timeInForce": "GTC"}),
])
def test_a_parameter_the_order_type_does_not_take_is_refused_not_ignored(
        sandbox: Sandbox, extra: dict[str, str], order: dict[str, str]) -> None:
    """Binance answers -1106 "Parameter '...' sent when not required."; a MARKET order sent with a stop price is
    refused there, and must not run here as a plain market order."""
    raw = ccxt_client(sandbox)
    name = next(iter(extra))
    with pytest.raises(ccxt.BadRequest, match=f"-1106.*Parameter '{name}' sent when not required"):
        raw.private_post_order({"symbol": "BTCUSDT", "side": "BUY", **order, **extra})
    assert sandbox.orders() == [], "nothing placed, nothing filled"


def test_a_read_only_key_is_refused_orders_and_cancels_as_binance_refuses_them() -> None:
    """A key without spot trading reads (balances, orders) but every placement and cancel is -2015, as on Binance;
    its apiRestrictions say so."""
    from trader_sandbox.testing import running_sandbox

    with running_sandbox(key_trading=False) as read_only:
        raw = ccxt_client(read_only)
        assert raw.sapi_get_account_apirestrictions()["enableSpotAndMarginTrading"] is False
        assert raw.fetch_balance()["USDT"]["total"] > 0
        with pytest.raises(ccxt.BaseError, match="-2015"):  # ccxt: AuthenticationError or DDoSProtection
            raw.private_post_order({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"})
        with pytest.raises(ccxt.BaseError, match="-2015"):  # ccxt: AuthenticationError or DDoSProtection
            raw.private_delete_order({"symbol": "BTCUSDT", "origClientOrderId": "x-1"})
        assert read_only.orders() == []


def test_an_order_past_the_accounts_order_rate_limit_is_refused_not_placed_and_not_in_doubt() -> None:
    """Binance's ORDERS limit (stated in exchangeInfo) refuses a new order past it with 429 -1015, "Too many new
    orders", and places nothing: the adapter must read it as a refusal (a rate limit, nothing applied), not an order in
    doubt. An OCO counts as two orders."""
    from trader_core.model import RateLimitedError

    with running_sandbox(symbols=("BTCUSDT",), history=20, order_limit_10s=3) as sb:
        sb.set_price("BTCUSDT", Decimal(30000))
        client = ccxt_client(sb)
        info = client.publicGetExchangeInfo()
        assert {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 3} in info["rateLimits"]

        async def place_four() -> list[object]:
            exchange = _adapter(sb)
            outcomes: list[object] = []
            try:
                for n in range(4):
                    try:
                        outcomes.append(await exchange.place_order(OrderRequest(
                            client_order_id=ClientOrderId(f"own-{n}"), symbol=BTC, side=Side.BUY,
                            order_type=OrderType.LIMIT, quantity=Quantity("0.001"), price=Price("29000.00"))))
                    except RateLimitedError as exc:
                        outcomes.append(exc)
            finally:
                await exchange.close()
            return outcomes

        outcomes = asyncio.run(place_four())
        assert [type(o).__name__ for o in outcomes] == ["Order", "Order", "Order", "RateLimitedError"]
        assert "-1015" in str(outcomes[3])
        assert len(client.fetch_open_orders(SYM)) == 3, "the fourth was not placed"
