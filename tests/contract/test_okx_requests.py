"""OKX at request level: the real ``ccxt.okx`` behind the adapter, its HTTP ``fetch`` replaced by a recording
transport (``venue_wire.Wire``) that answers with OKX's documented response shapes (no network). The bot's
client id goes out in OKX's form (1-32 letters and digits) with the passphrase header; orders are placed,
found and cancelled by it; fills are asked for since a cursor; OKX's error payloads reach the one error table."""

from __future__ import annotations

import json
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

BOT_ID = "tc-bot.a-1-1"  # OKX refuses '-' and '.': the venue form is a digest in letters and digits
OKX_ID = to_venue_client_id("okx", BOT_ID)
BTC = Symbol.parse("BTC/USDT")
INSTRUMENT = {"instType": "SPOT", "instId": "BTC-USDT", "baseCcy": "BTC", "quoteCcy": "USDT", "settleCcy": "",
              "ctVal": "", "ctMult": "", "ctValCcy": "", "listTime": "1606468572000", "expTime": "", "lever": "",
              "tickSz": "0.1", "lotSz": "0.00000001", "minSz": "0.00001", "ctType": "", "alias": "",
              "state": "live", "maxLmtSz": "9999999999", "maxMktSz": "1000000", "uly": "", "instFamily": ""}
ORDER = {"instType": "SPOT", "instId": "BTC-USDT", "ordId": "680800019749904384", "clOrdId": OKX_ID,
         "px": "30000.0", "sz": "0.001", "ordType": "limit", "side": "buy", "state": "live", "accFillSz": "0",
         "avgPx": "", "fee": "0", "feeCcy": "BTC", "cTime": "1700000000000", "uTime": "1700000000000",
         "tdMode": "cash", "tag": "", "pnl": "0"}
# GET /api/v5/trade/fills-history, as OKX documents it (one fill of the order above).
FILL = {"instType": "SPOT", "instId": "BTC-USDT", "tradeId": "123", "ordId": "680800019749904384", "clOrdId": OKX_ID,
        "billId": "1111", "tag": "", "fillPx": "30000", "fillSz": "0.001", "side": "buy", "posSide": "net",
        "execType": "M", "feeCcy": "BTC", "fee": "-0.000001", "ts": "1700000060000", "fillTime": "1700000060000"}
BALANCE = {"uTime": "1700000000000", "totalEq": "3000", "details": [
    {"ccy": "USDT", "eq": "2970", "cashBal": "2970", "availBal": "2940", "frozenBal": "30", "availEq": "2940",
     "uTime": "1700000000000"},
    {"ccy": "BTC", "eq": "0", "cashBal": "0", "availBal": "0", "frozenBal": "0", "availEq": "0",
     "uTime": "1700000000000"}]}


def ok(data: list[Any]) -> dict[str, Any]:
    return {"code": "0", "msg": "", "data": data}


def failed(s_code: str, s_msg: str) -> dict[str, Any]:
    """OKX's answer when the one order of a batch failed."""
    return {"code": "1", "msg": "All operations failed",
            "data": [{"clOrdId": OKX_ID, "ordId": "", "sCode": s_code, "sMsg": s_msg, "tag": ""}]}


def wire() -> Wire:
    return Wire([
        ("GET", "/public/time", ok([{"ts": "1700000000000"}])),
        ("GET", "/asset/currencies", ok([])),
        ("GET", "/public/instruments", lambda r: ok([INSTRUMENT] if r.query.get("instType") == "SPOT" else [])),
        ("POST", "/trade/batch-orders", ok([{"clOrdId": OKX_ID, "ordId": "680800019749904384", "tag": "",
                                             "ts": "1700000000000", "sCode": "0", "sMsg": ""}])),
        ("GET", "/trade/order", ok([ORDER])),
        ("POST", "/trade/cancel-order", ok([{"clOrdId": OKX_ID, "ordId": "680800019749904384", "sCode": "0",
                                             "sMsg": ""}])),
        ("GET", "/trade/fills-history", ok([FILL])),
        ("GET", "/trade/fills", ok([FILL])),
        ("GET", "/account/balance", ok([BALANCE])),
    ])


def exchange(transport: Wire) -> CcxtExchange:
    return CcxtExchange.create("okx", clock=SystemClock(), api_key="okx-key-123", secret="okx-secret-456",
                               password="pass-9", sandbox=True, options={"enableRateLimit": False},
                               transport=transport)




def test_place_sends_the_okx_form_of_the_client_id_and_acknowledges_from_the_ids_only_answer() -> None:
    transport = wire()
    adapter = exchange(transport)
    order = run(adapter, adapter.place_order(limit_buy(BOT_ID, BTC)))
    (sent,) = transport.sent("POST", "/trade/batch-orders")
    (body,) = sent.json()
    assert (body["clOrdId"], body["instId"], body["side"], body["ordType"], body["sz"], body["px"]) == (
        OKX_ID, "BTC-USDT", "buy", "limit", "0.001", "30000")
    assert sent.headers.get("OK-ACCESS-PASSPHRASE") == "pass-9"
    assert (order.client_order_id, order.status, order.quantity, order.price) == (
        ClientOrderId(BOT_ID), OrderStatus.OPEN, Quantity("0.001"), Price("30000"))
    assert "pass-9" not in json.dumps([r.url for r in transport.requests])


def test_fetch_by_client_id_sends_okx_form_and_maps_the_answer_back() -> None:
    transport = wire()
    adapter = exchange(transport)
    order = run(adapter, adapter.fetch_order(BTC, ClientOrderId(BOT_ID)))
    (sent,) = transport.sent("GET", "/trade/order")
    assert sent.query["clOrdId"] == OKX_ID
    assert order.client_order_id == ClientOrderId(BOT_ID)
    assert str(order.venue_order_id) == "680800019749904384"
    assert (order.status, order.price) == (OrderStatus.OPEN, Price("30000"))


def test_cancel_by_client_id_after_a_restart_reads_the_final_state_back() -> None:
    transport = wire()
    transport.answer_first("GET", "/trade/order", ok([{**ORDER, "state": "canceled"}]))
    adapter = exchange(transport)  # nothing noted: only the client id is known
    canceled = run(adapter, adapter.cancel_order(BTC, ClientOrderId(BOT_ID)))
    (sent,) = transport.sent("POST", "/trade/cancel-order")
    assert sent.json()["clOrdId"] == OKX_ID
    assert (canceled.client_order_id, canceled.status) == (ClientOrderId(BOT_ID), OrderStatus.CANCELED)


def test_fills_since_a_cursor_carry_the_bots_id_and_the_fee() -> None:
    transport = wire()
    adapter = exchange(transport)
    since = datetime(2023, 11, 14, 22, 13, tzinfo=UTC)

    async def order_then_fills() -> Any:
        await adapter.fetch_order(BTC, ClientOrderId(BOT_ID))  # the bot reads its order first (resync)
        return await adapter.fetch_fills(BTC, since=since)

    (fill,) = run(adapter, order_then_fills())
    sent = transport.sent("GET", "/trade/fills")[-1]
    assert sent.query["instId"] == "BTC-USDT"
    assert int(sent.query["begin"]) == int(since.timestamp() * 1000)
    assert (fill.client_order_id, fill.price, fill.quantity) == (ClientOrderId(BOT_ID), Price("30000"),
                                                                 Quantity("0.001"))
    assert str(fill.fee.asset) == "BTC"


def test_balances_from_the_documented_account_balance() -> None:
    adapter = exchange(wire())
    assert run(adapter, adapter.fetch_balances()) == (Balance(Asset("USDT"), Decimal("2940"), Decimal("30")),)


@pytest.mark.parametrize(("answer", "error", "words"), [
    (failed("51008", "Order failed. Insufficient USDT balance in account."), OrderRejectedError, "insufficient"),
    (failed("51000", "Parameter sz error"), OrderRejectedError, "sz"),
    ((401, {"code": "50113", "msg": "Invalid Sign", "data": []}), AuthenticationError, "Invalid Sign"),
    ((429, {"code": "50011", "msg": "Too Many Requests", "data": []}), RateLimitedError, "Too Many"),
], ids=["funds", "parameter", "signature", "rate"])
def test_okx_error_payloads_on_create_go_through_the_one_table(answer: Any, error: type[Exception],
                                                               words: str) -> None:
    transport = wire()
    transport.answer_first("POST", "/trade/batch-orders", answer)
    adapter = exchange(transport)
    with pytest.raises(error, match=f"(?i){words}"):
        run(adapter, adapter.place_order(limit_buy(BOT_ID, BTC)))


def test_unknown_order_is_not_found_on_fetch_and_cancel() -> None:
    transport = wire()
    transport.answer_first("GET", "/trade/order", {"code": "51603", "msg": "Order does not exist", "data": []})
    gone = "Order cancellation failed as the order has been filled, canceled or does not exist"
    transport.answer_first("POST", "/trade/cancel-order", failed("51400", gone))
    adapter = exchange(transport)
    with pytest.raises(OrderNotFoundError):
        run(adapter, adapter.fetch_order(BTC, ClientOrderId(BOT_ID)))
    adapter = exchange(transport)
    with pytest.raises(OrderNotFoundError):
        run(adapter, adapter.cancel_order(BTC, ClientOrderId(BOT_ID)))


def test_no_stop_goes_to_okx_where_it_could_not_be_found_or_cancelled_by_client_id() -> None:
    """ccxt sends a spot stop to OKX as an algo order (POST /trade/order-algo, ``tdMode`` cross, the id as
    ``clOrdId``, which OKX's algo endpoint does not take: its id there is ``algoClOrdId``). OKX's order endpoints
    answer 51603 for it, so the bot would conclude its stop lost, place another beside it, and never cancel one.
    The adapter says OKX holds no stop (the bot holds stop and target) and refuses one unsent."""
    from trader_core.model import OrderRequest, OrderType, Side

    transport = wire()
    transport.answer_first("POST", "/trade/order-algo", ok([{"algoId": "681096944655273984", "algoClOrdId": "",
                                                            "clOrdId": "", "sCode": "0", "sMsg": "", "tag": ""}]))
    adapter = exchange(transport)
    assert adapter.holds_protective_stops is False
    assert adapter.holds_protective_exits is False
    stop = OrderRequest(client_order_id=ClientOrderId(BOT_ID), symbol=BTC, side=Side.SELL,
                        order_type=OrderType.STOP_LOSS, quantity=Quantity("0.001"), stop_price=Price("29000"))
    with pytest.raises(OrderRejectedError, match="cannot hold a stop"):
        run(adapter, adapter.place_order(stop))
    assert [r.url for r in transport.requests if r.method == "POST"] == []


def test_fills_since_a_cursor_are_all_returned_when_okx_has_more_than_one_page_of_them() -> None:
    """OKX answers fills-history with a ``begin`` by the newest 100 after it, newest first, and pages back with
    ``after`` (a billId). 250 fills since the cursor (another bot or the owner trading the same symbol, a market
    order met in many trades) must all reach the bot, oldest first: before, the oldest 150 were never booked."""
    since = datetime(2023, 11, 14, 22, 13, tzinfo=UTC)
    start = int(since.timestamp() * 1000)
    history = [{**FILL, "tradeId": str(5000 + i), "billId": str(90000 + i), "ts": str(start + 1000 * i),
                "fillTime": str(start + 1000 * i)} for i in range(250)]

    def page(request: Any) -> Any:
        rows = [f for f in history if int(f["ts"]) >= int(request.query.get("begin", 0))
                and int(f["billId"]) < int(request.query.get("after", 10**12))]
        return ok(sorted(rows, key=lambda f: -int(f["billId"]))[:int(request.query.get("limit", 100))])

    transport = wire()
    transport.answer_first("GET", "/trade/fills-history", page)
    adapter = exchange(transport)
    fills = run(adapter, adapter.fetch_fills(BTC, since=since, limit=500))
    assert [f.trade_id.value for f in fills] == [str(5000 + i) for i in range(250)]
    assert len(transport.sent("GET", "/trade/fills-history")) == 3


def test_a_maker_rebate_okx_pays_is_booked_as_a_fill_without_fee() -> None:
    """OKX documents a positive ``fee`` as a rebate it pays (a maker rebate); ccxt makes that a negative cost. The
    fill is booked with no fee: before, the negative fee made every fill sync of the symbol fail, so the bot's own
    fills (and those after it) were never booked."""
    since = datetime(2023, 11, 14, 22, 13, tzinfo=UTC)
    transport = wire()
    transport.answer_first("GET", "/trade/fills-history", ok([{**FILL, "execType": "M", "fee": "0.0000003"}]))
    adapter = exchange(transport)
    (fill,) = run(adapter, adapter.fetch_fills(BTC, since=since))
    assert (fill.quantity, fill.fee.amount, str(fill.fee.asset)) == (Quantity("0.001"), Decimal(0), "BTC")


def test_start_up_reads_okx_spot_instruments_only() -> None:
    """The bot trades spot: an OKX outage or refusal on its futures, swap or option listings must not stop it
    starting (ccxt read all four kinds, five requests, at every load of the markets)."""
    transport = wire()
    transport.answer_first("GET", "/public/instruments?instType=OPTION", (503, {"code": "50001", "msg": "busy"}))
    adapter = exchange(transport)
    rules = run(adapter, adapter.fetch_instrument(BTC))
    assert rules.tick_size == Decimal("0.1")
    assert [r.query["instType"] for r in transport.sent("GET", "/public/instruments")] == ["SPOT"]


# GET /api/v5/account/config, as OKX documents it (the fields the check reads, and a few beside them).
def _config(perm: str) -> dict[str, Any]:
    return ok([{"uid": "44705892343619584", "acctLv": "1", "posMode": "net_mode", "autoLoan": False,
                "greeksType": "PA", "level": "Lv1", "levelTmp": "", "ctIsoMode": "automatic",
                "mgnIsoMode": "automatic", "label": "bot", "roleType": "0", "ip": "", "perm": perm}])


@pytest.mark.parametrize(("perm", "trade", "withdraw"), [
    ("read_only,trade", True, False), ("read_only,withdraw,trade", True, True), ("read_only", False, False)])
def test_the_keys_permissions_are_read_from_the_account_config(perm: str, trade: bool, withdraw: bool) -> None:
    transport = wire()
    transport.answer_first("GET", "/account/config", _config(perm))
    adapter = exchange(transport)
    permissions = run(adapter, adapter.key_permissions())
    assert permissions is not None
    assert (permissions.trade, permissions.withdraw) == (trade, withdraw)
    (sent,) = transport.sent("GET", "/account/config")
    assert sent.headers.get("OK-ACCESS-PASSPHRASE") == "pass-9"
