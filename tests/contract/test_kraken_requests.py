"""Kraken at request level: the real ``ccxt.kraken`` behind the adapter over a recording transport (no network),
answering with Kraken's documented shapes. The bot's client id goes out as Kraken's integer ``userref``
(``venues.to_venue_client_id``), never as text; answers and fills come back under the bot's id; Kraken's
``error`` strings reach the one error table. Kraken stays refused live (see ``venues.live_refusal``): its
QueryOrders needs the venue's txid, so an order cannot be found by ``userref`` alone after a restart."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.contract.venue_wire import Wire, limit_buy, run
from trader_adapters.ccxt import CcxtExchange
from trader_adapters.ccxt.venues import to_venue_client_id
from trader_adapters.clock import SystemClock
from trader_core.model import (
    AuthenticationError,
    Balance,
    ClientOrderId,
    OrderNotFoundError,
    OrderRejectedError,
    OrderStatus,
    Price,
    Quantity,
    RateLimitedError,
    Symbol,
)
from trader_core.model.ids import Asset

BOT_ID = "tcpzs7hce61a1"
USERREF = int(to_venue_client_id("kraken", BOT_ID))
BTC = Symbol.parse("BTC/USD")
TXID = "OUF4EM-FRGI2-MQMWZD"
ASSETS = {"XXBT": {"aclass": "currency", "altname": "XBT", "decimals": 10, "display_decimals": 5, "status": "enabled"},
          "ZUSD": {"aclass": "currency", "altname": "USD", "decimals": 4, "display_decimals": 2, "status": "enabled"}}
PAIRS = {"XXBTZUSD": {"altname": "XBTUSD", "wsname": "XBT/USD", "aclass_base": "currency", "base": "XXBT",
                      "aclass_quote": "currency", "quote": "ZUSD", "lot": "unit", "cost_decimals": 5,
                      "pair_decimals": 1, "lot_decimals": 8, "lot_multiplier": 1, "leverage_buy": [],
                      "leverage_sell": [], "fees": [[0, 0.4]], "fees_maker": [[0, 0.25]],
                      "fee_volume_currency": "ZUSD", "margin_call": 80, "margin_stop": 40, "ordermin": "0.0001",
                      "costmin": "0.5", "tick_size": "0.1", "status": "online"}}
# POST /0/private/QueryOrders, as Kraken documents an order (here: open, unfilled).
ORDER = {"refid": None, "userref": USERREF, "status": "open", "opentm": 1700000000.1, "starttm": 0, "expiretm": 0,
         "descr": {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "price": "30000.0", "price2": "0",
                   "leverage": "none", "order": "buy 0.00100000 XBTUSD @ limit 30000.0", "close": ""},
         "vol": "0.00100000", "vol_exec": "0.00000000", "cost": "0.00000", "fee": "0.00000", "price": "0.00000",
         "stopprice": "0.00000", "limitprice": "0.00000", "misc": "", "oflags": "fciq"}
TRADE = {"ordertxid": TXID, "postxid": "TKH2SE-M7IF5-CFI7LT", "pair": "XXBTZUSD", "time": 1700000060.5,
         "type": "buy", "ordertype": "limit", "price": "30000.0", "cost": "30.00000", "fee": "0.07800",
         "vol": "0.00100000", "margin": "0.00000", "misc": ""}


def ok(result: Any) -> dict[str, Any]:
    return {"error": [], "result": result}


def wire() -> Wire:
    return Wire([
        ("GET", "/public/Assets", ok(ASSETS)),
        ("GET", "/public/AssetPairs", ok(PAIRS)),
        ("GET", "/public/Time", ok({"unixtime": 1700000000, "rfc1123": "Tue, 14 Nov 23 22:13:20 +0000"})),
        ("POST", "/private/AddOrder", ok({"descr": {"order": "buy 0.00100000 XBTUSD @ limit 30000.0"},
                                          "txid": [TXID]})),
        ("POST", "/private/QueryOrders", ok({TXID: ORDER})),
        ("POST", "/private/CancelOrder", ok({"count": 1})),
        ("POST", "/private/TradesHistory", ok({"trades": {"THVRQM-33VKH-UCI7BS": TRADE}, "count": 1})),
        ("POST", "/private/BalanceEx", ok({"ZUSD": {"balance": "100.0000", "hold_trade": "30.0000"},
                                           "XXBT": {"balance": "0.0000000000", "hold_trade": "0.0000000000"}})),
    ])


def exchange(transport: Wire) -> CcxtExchange:
    return CcxtExchange.create("kraken", clock=SystemClock(), api_key="kraken-key", secret="c2VjcmV0LTEyMw==",
                               options={"enableRateLimit": False}, transport=transport)




def test_place_sends_the_integer_userref_not_text() -> None:
    transport = wire()
    adapter = exchange(transport)
    order = run(adapter, adapter.place_order(limit_buy(BOT_ID, BTC)))
    (sent,) = transport.sent("POST", "/private/AddOrder")
    form = sent.form()
    assert form["userref"] == str(USERREF)
    assert 0 < USERREF < 2**31
    assert "cl_ord_id" not in form
    assert (form["pair"], form["type"], form["ordertype"], form["volume"], form["price"]) == (
        "XXBTZUSD", "buy", "limit", "0.001", "30000")
    assert (order.client_order_id, order.status, str(order.venue_order_id)) == (
        ClientOrderId(BOT_ID), OrderStatus.OPEN, TXID)


def test_find_and_cancel_send_the_userref_and_map_the_answer_back() -> None:
    transport = wire()
    adapter = exchange(transport)

    async def place_find_cancel() -> Any:
        await adapter.place_order(limit_buy(BOT_ID, BTC))
        found = await adapter.fetch_order(BTC, ClientOrderId(BOT_ID))
        transport.answer_first("POST", "/private/QueryOrders", ok({TXID: {**ORDER, "status": "canceled"}}))
        return found, await adapter.cancel_order(BTC, ClientOrderId(BOT_ID))

    found, canceled = run(adapter, place_find_cancel())
    assert transport.sent("POST", "/private/QueryOrders")[0].form()["userref"] == str(USERREF)
    assert (found.client_order_id, found.status, found.price) == (ClientOrderId(BOT_ID), OrderStatus.OPEN,
                                                                  Price("30000"))
    # Kraken's CancelOrder takes a userref in place of the txid: cancel by client id works even after a restart.
    assert transport.sent("POST", "/private/CancelOrder")[0].form()["txid"] == str(USERREF)
    assert canceled.status is OrderStatus.CANCELED


def test_fills_since_a_cursor_and_balances() -> None:
    transport = wire()
    adapter = exchange(transport)
    since = datetime(2023, 11, 14, 22, 13, tzinfo=UTC)

    async def place_then_fills() -> Any:
        await adapter.place_order(limit_buy(BOT_ID, BTC))
        return await adapter.fetch_fills(BTC, since=since), await adapter.fetch_balances()

    (fill,), balances = run(adapter, place_then_fills())
    assert transport.sent("POST", "/private/TradesHistory")[0].form()["start"] == str(int(since.timestamp()))
    assert (fill.client_order_id, fill.price, fill.quantity, fill.fee.amount) == (
        ClientOrderId(BOT_ID), Price("30000"), Quantity("0.001"), Decimal("0.078"))
    assert balances == (Balance(Asset("USD"), Decimal("70"), Decimal("30")),)


@pytest.mark.parametrize(("error", "raised"), [
    ("EOrder:Insufficient funds", OrderRejectedError),
    ("EGeneral:Invalid arguments:volume", OrderRejectedError),
    ("EAPI:Invalid key", AuthenticationError),
    ("EAPI:Rate limit exceeded", RateLimitedError),
])
def test_kraken_error_strings_on_create_go_through_the_one_table(error: str, raised: type[Exception]) -> None:
    transport = wire()
    transport.answer_first("POST", "/private/AddOrder", {"error": [error], "result": {}})
    adapter = exchange(transport)
    with pytest.raises(raised):
        run(adapter, adapter.place_order(limit_buy(BOT_ID, BTC)))


def test_cancel_of_an_unknown_order_is_not_found() -> None:
    transport = wire()
    transport.answer_first("POST", "/private/CancelOrder", {"error": ["EOrder:Unknown order"], "result": {}})
    adapter = exchange(transport)

    async def place_then_cancel() -> Any:
        await adapter.place_order(limit_buy(BOT_ID, BTC))
        return await adapter.cancel_order(BTC, ClientOrderId(BOT_ID))

    with pytest.raises(OrderNotFoundError):
        run(adapter, place_then_cancel())
