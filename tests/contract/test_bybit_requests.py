"""Bybit (v5, spot) at request level: the real ``ccxt.bybit`` behind the adapter over a recording transport (no
network), answering with Bybit's documented shapes. The bot's id goes out as ``orderLinkId`` on create and on
cancel (ccxt would forward a unified ``clientOrderId`` that Bybit ignores); fills are asked for since a cursor;
Bybit's ``retCode`` errors reach the one error table. Bybit stays refused live: ccxt finds an order by
``orderLinkId`` only among the last 500."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.contract.venue_wire import Wire, limit_buy, run
from trader_adapters.ccxt import CcxtExchange
from trader_adapters.clock import SystemClock
from trader_core.model import (
    AuthenticationError,
    Balance,
    ClientOrderId,
    ExchangeUnavailableError,
    OrderRejectedError,
    OrderStatus,
    Price,
    Quantity,
    RateLimitedError,
    Symbol,
)
from trader_core.model.ids import Asset

BOT_ID = "tcpzs7hce61a1"
BTC = Symbol.parse("BTC/USDT")
ORDER_ID = "1321003749386327552"
INSTRUMENT = {"symbol": "BTCUSDT", "baseCoin": "BTC", "quoteCoin": "USDT", "innovation": "0", "status": "Trading",
              "marginTrading": "both", "lotSizeFilter": {"basePrecision": "0.000001", "quotePrecision": "0.00000001",
                                                         "minOrderQty": "0.000048", "maxOrderQty": "71.73956243",
                                                         "minOrderAmt": "1", "maxOrderAmt": "2000000"},
              "priceFilter": {"tickSize": "0.01"}}
# GET /v5/execution/list, one spot execution as Bybit documents it.
EXECUTION = {"symbol": "BTCUSDT", "orderId": ORDER_ID, "orderLinkId": BOT_ID, "side": "Buy", "orderPrice": "30000",
             "orderQty": "0.001", "leavesQty": "0", "orderType": "Limit", "stopOrderType": "", "execFee": "0.000001",
             "feeCurrency": "BTC", "execId": "2100000000007764263", "execPrice": "30000", "execQty": "0.001",
             "execType": "Trade", "execValue": "30", "execTime": "1700000060000", "isMaker": True, "feeRate": "0.001",
             "tradeIv": "", "markIv": "", "markPrice": "", "indexPrice": "", "underlyingPrice": "", "blockTradeId": "",
             "closedSize": "", "seq": 4688002127}
WALLET = {"accountType": "UNIFIED", "totalEquity": "100", "coin": [
    {"coin": "USDT", "equity": "100", "walletBalance": "100", "locked": "30", "free": "70",
     "availableToWithdraw": "70", "usdValue": "100", "totalOrderIM": "0", "totalPositionIM": "0"}]}


def ok(result: Any) -> dict[str, Any]:
    return {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": 1700000000000}


def error(code: int, message: str) -> dict[str, Any]:
    return {"retCode": code, "retMsg": message, "result": {}, "retExtInfo": {}, "time": 1700000000000}


def wire() -> Wire:
    return Wire([
        ("GET", "/market/time", ok({"timeSecond": "1700000000", "timeNano": "1700000000000000000"})),
        ("GET", "/asset/coin/query-info", ok({"rows": []})),
        ("GET", "/market/instruments-info",
         lambda r: ok({"category": r.query.get("category"),
                       "list": [INSTRUMENT] if r.query.get("category") == "spot" else []})),
        ("POST", "/order/create", ok({"orderId": ORDER_ID, "orderLinkId": BOT_ID})),
        ("POST", "/order/cancel", ok({"orderId": ORDER_ID, "orderLinkId": BOT_ID})),
        ("GET", "/execution/list", ok({"category": "spot", "list": [EXECUTION], "nextPageCursor": ""})),
        ("GET", "/account/wallet-balance", ok({"list": [WALLET]})),
        ("GET", "/account/info", ok({"unifiedMarginStatus": 5, "marginMode": "REGULAR_MARGIN", "isMasterTrader": False,
                                     "spotHedgingStatus": "OFF", "updatedTime": "1700000000000", "dcpStatus": "OFF",
                                     "timeWindow": 0, "smpGroup": 0})),
        ("GET", "/user/query-api", ok({"id": "1", "note": "", "apiKey": "k", "readOnly": 0, "secret": "",
                                       "permissions": {}, "ips": [], "type": 1, "deadlineDay": 0, "expiredAt": "",
                                       "createdAt": "", "unified": 1, "uta": 1, "userID": 1, "inviterID": 0,
                                       "vipLevel": "No VIP", "mktMakerLevel": "0", "affiliateID": 0,
                                       "rsaPublicKey": "", "isMaster": True})),
    ])


def exchange(transport: Wire) -> CcxtExchange:
    return CcxtExchange.create("bybit", clock=SystemClock(), api_key="bybit-key", secret="bybit-secret",
                               sandbox=True, options={"enableRateLimit": False}, transport=transport)




def test_place_sends_the_order_link_id() -> None:
    transport = wire()
    adapter = exchange(transport)
    order = run(adapter, adapter.place_order(limit_buy(BOT_ID, BTC)))
    body = transport.sent("POST", "/order/create")[0].json()
    assert (body["orderLinkId"], body["symbol"], body["side"], body["orderType"], body["qty"], body["price"]) == (
        BOT_ID, "BTCUSDT", "Buy", "Limit", "0.001", "30000")
    assert "clientOrderId" not in body
    assert (order.client_order_id, str(order.venue_order_id), order.status) == (ClientOrderId(BOT_ID), ORDER_ID,
                                                                               OrderStatus.OPEN)


def test_cancel_names_the_order_by_order_link_id_but_its_state_cannot_be_read_back() -> None:
    transport = wire()
    adapter = exchange(transport)

    async def place_then_cancel() -> None:
        await adapter.place_order(limit_buy(BOT_ID, BTC))
        await adapter.cancel_order(BTC, ClientOrderId(BOT_ID))

    # Bybit acknowledges a cancel with ids only; reading the final state back is ccxt's refused lookup (why the
    # bot will not trade Bybit live).
    with pytest.raises(ExchangeUnavailableError, match="last 500 orders"):
        run(adapter, place_then_cancel())
    body = transport.sent("POST", "/order/cancel")[0].json()
    assert body["orderLinkId"] == BOT_ID
    assert "clientOrderId" not in body


def test_fills_since_a_cursor_and_balances() -> None:
    transport = wire()
    adapter = exchange(transport)
    since = datetime(2023, 11, 14, 22, 13, tzinfo=UTC)

    async def fills_and_balances() -> Any:
        return await adapter.fetch_fills(BTC, since=since), await adapter.fetch_balances()

    (fill,), balances = run(adapter, fills_and_balances())
    sent = transport.sent("GET", "/execution/list")[0].query
    assert (sent["category"], sent["symbol"], sent["startTime"]) == ("spot", "BTCUSDT",
                                                                      str(int(since.timestamp() * 1000)))
    assert (fill.client_order_id, fill.price, fill.quantity, str(fill.fee.asset)) == (
        ClientOrderId(BOT_ID), Price("30000"), Quantity("0.001"), "BTC")
    assert balances == (Balance(Asset("USDT"), Decimal("70"), Decimal("30")),)


@pytest.mark.parametrize(("answer", "raised"), [
    (error(170131, "Insufficient balance."), OrderRejectedError),
    (error(10001, "params error: qty invalid"), OrderRejectedError),
    (error(10003, "API key is invalid."), AuthenticationError),
    (error(10006, "Too many visits!"), RateLimitedError),
])
def test_bybit_ret_codes_on_create_go_through_the_one_table(answer: Any, raised: type[Exception]) -> None:
    transport = wire()
    transport.answer_first("POST", "/order/create", answer)
    adapter = exchange(transport)
    with pytest.raises(raised):
        run(adapter, adapter.place_order(limit_buy(BOT_ID, BTC)))


def test_no_stop_goes_to_bybit_where_its_cancel_could_not_reach_it() -> None:
    """ccxt sends a spot stop to Bybit as a TP/SL order (``orderFilter: tpslOrder``) and cancels with
    ``orderFilter: Order``, which Bybit documents as the ordinary orders only: the stop could not be taken down
    (on the test network the bot's stop would outlive its exit). The adapter says Bybit holds no stop and refuses
    one unsent."""
    from trader_core.model import OrderRequest, OrderType, Side

    transport = wire()
    adapter = exchange(transport)
    assert adapter.holds_protective_stops is False
    stop = OrderRequest(client_order_id=ClientOrderId(BOT_ID), symbol=BTC, side=Side.SELL,
                        order_type=OrderType.STOP_LOSS, quantity=Quantity("0.001"), stop_price=Price("29000"))
    with pytest.raises(OrderRejectedError, match="cannot hold a stop"):
        run(adapter, adapter.place_order(stop))
    assert transport.sent("POST", "/order/create") == []
