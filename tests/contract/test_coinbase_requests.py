"""Coinbase (Advanced Trade) at request level: the real ``ccxt.coinbase`` behind the adapter over a recording
transport (no network), answering with Coinbase's documented shapes. The bot's id goes out as ``client_order_id``
(ccxt would make up its own); fills are asked for since a cursor; Coinbase's error payloads reach the one error
table. Coinbase stays refused live: ccxt cannot find an order by client id there."""

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
    OrderRejectedError,
    OrderStatus,
    Price,
    Quantity,
    RateLimitedError,
    Symbol,
)
from trader_core.model.ids import Asset

BOT_ID = "tcpzs7hce61a1"
BTC = Symbol.parse("BTC/USD")
ORDER_ID = "11111-00000-000000"
PRODUCT = {"product_id": "BTC-USD", "price": "30000", "price_percentage_change_24h": "0", "volume_24h": "1",
           "volume_percentage_change_24h": "0", "base_increment": "0.00000001", "quote_increment": "0.01",
           "quote_min_size": "1", "quote_max_size": "10000000", "base_min_size": "0.00000001",
           "base_max_size": "3400", "base_name": "Bitcoin", "quote_name": "US Dollar", "watched": False,
           "is_disabled": False, "new": False, "status": "online", "cancel_only": False, "limit_only": False,
           "post_only": False, "trading_disabled": False, "auction_mode": False, "product_type": "SPOT",
           "quote_currency_id": "USD", "base_currency_id": "BTC", "base_display_symbol": "BTC",
           "quote_display_symbol": "USD", "price_increment": "0.01"}
FILL = {"entry_id": "22222-2222222-22222222", "trade_id": "1111-11111-111111", "order_id": ORDER_ID,
        "trade_time": "2023-11-14T22:14:20.000Z", "trade_type": "FILL", "price": "30000", "size": "0.001",
        "commission": "0.12", "product_id": "BTC-USD", "sequence_timestamp": "2023-11-14T22:14:20.000Z",
        "liquidity_indicator": "MAKER", "size_in_quote": False, "user_id": "3333-333333-3333333", "side": "BUY"}
ACCOUNT = {"uuid": "8bfc20d7-f7c6-4422-bf07-8243ca4169fe", "name": "USD Wallet", "currency": "USD",
           "available_balance": {"value": "70.00", "currency": "USD"}, "default": True, "active": True,
           "created_at": "2021-05-31T09:59:59Z", "updated_at": "2021-05-31T09:59:59Z", "deleted_at": None,
           "type": "ACCOUNT_TYPE_FIAT", "ready": True, "hold": {"value": "30.00", "currency": "USD"}}


def wire() -> Wire:
    return Wire([
        ("GET", "/v2/time", {"data": {"epoch": 1700000000, "iso": "2023-11-14T22:13:20Z"}}),
        ("GET", "/v2/currencies", {"data": []}),
        ("GET", "/v2/exchange-rates", {"data": {"currency": "USD", "rates": {}}}),
        ("GET", "/brokerage/market/products", lambda r: {"products": [] if r.query.get("product_type") else [PRODUCT],
                                                         "num_products": 1}),
        ("GET", "/brokerage/transaction_summary", {"total_volume": 0, "total_fees": 0, "fee_tier": {
            "pricing_tier": "", "usd_from": "0", "usd_to": "10000", "taker_fee_rate": "0.006",
            "maker_fee_rate": "0.004"}}),
        ("POST", "/brokerage/orders", lambda r: {"success": True, "failure_reason": "UNKNOWN_FAILURE_REASON",
                                                 "order_id": ORDER_ID, "success_response": {
                                                     "order_id": ORDER_ID, "product_id": "BTC-USD", "side": "BUY",
                                                     "client_order_id": r.json()["client_order_id"]},
                                                 "order_configuration": r.json()["order_configuration"]}),
        ("GET", "/brokerage/orders/historical/fills", {"fills": [FILL], "cursor": ""}),
        ("GET", "/brokerage/accounts", {"accounts": [ACCOUNT], "has_next": False, "cursor": "", "size": 1}),
        ("GET", "/v2/accounts", {"pagination": {"ending_before": None, "starting_after": None, "limit": 250,
                                                "order": "desc", "previous_uri": None, "next_uri": None},
                                 "data": [{"id": "8bfc20d7-f7c6-4422-bf07-8243ca4169fe", "name": "USD Wallet",
                                           "primary": True, "type": "fiat",
                                           "currency": {"code": "USD", "name": "US Dollar", "type": "fiat"},
                                           "balance": {"amount": "100.00", "currency": "USD"},
                                           "created_at": "2021-05-31T09:59:59Z",
                                           "updated_at": "2021-05-31T09:59:59Z", "resource": "account",
                                           "resource_path": "/v2/accounts/8bfc20d7"}]}),
    ])


def exchange(transport: Wire) -> CcxtExchange:
    return CcxtExchange.create("coinbase", clock=SystemClock(), api_key="coinbase-key", secret="coinbase-secret",
                               options={"enableRateLimit": False}, transport=transport)




def test_place_sends_the_bots_client_order_id_not_one_ccxt_made_up() -> None:
    transport = wire()
    adapter = exchange(transport)
    order = run(adapter, adapter.place_order(limit_buy(BOT_ID, BTC)))
    body = transport.sent("POST", "/brokerage/orders")[0].json()
    assert body["client_order_id"] == BOT_ID
    assert (body["product_id"], body["side"]) == ("BTC-USD", "BUY")
    assert body["order_configuration"]["limit_limit_gtc"]["base_size"] == "0.001"
    assert body["order_configuration"]["limit_limit_gtc"]["limit_price"] == "30000"
    assert (order.client_order_id, str(order.venue_order_id), order.status) == (ClientOrderId(BOT_ID), ORDER_ID,
                                                                               OrderStatus.OPEN)


def test_fills_since_a_cursor_and_balances() -> None:
    transport = wire()
    adapter = exchange(transport)
    since = datetime(2023, 11, 14, 22, 13, tzinfo=UTC)

    async def place_fills_balances() -> Any:
        await adapter.place_order(limit_buy(BOT_ID, BTC))  # the venue order id is then known as the bot's
        return await adapter.fetch_fills(BTC, since=since), await adapter.fetch_balances()

    (fill,), balances = run(adapter, place_fills_balances())
    sent = transport.sent("GET", "/brokerage/orders/historical/fills")[0].query
    assert sent["product_id"] == "BTC-USD"
    assert sent["start_sequence_timestamp"].startswith("2023-11-14T22:13:00")
    assert (fill.client_order_id, fill.price, fill.quantity, fill.fee.amount) == (
        ClientOrderId(BOT_ID), Price("30000"), Quantity("0.001"), Decimal("0.12"))
    # ccxt's default balance call is Coinbase's v2 accounts: a total, no amount on hold.
    assert balances == (Balance(Asset("USD"), Decimal("100"), Decimal(0)),)


@pytest.mark.parametrize(("answer", "raised"), [
    ((401, {"error": "authentication_error", "error_details": "", "message": "invalid signature"}),
     AuthenticationError),
    ((429, {"error": "rate_limit_exceeded", "error_details": "", "message": "Too many requests"}), RateLimitedError),
    ({"success": False, "failure_reason": "UNKNOWN_FAILURE_REASON", "order_id": "",
      "error_response": {"error": "INSUFFICIENT_FUND", "message": "Insufficient balance in source account",
                         "error_details": "", "preview_failure_reason": "PREVIEW_INSUFFICIENT_FUND"}},
     OrderRejectedError),
], ids=["auth", "rate", "funds"])
def test_coinbase_error_payloads_on_create_go_through_the_one_table(answer: Any, raised: type[Exception]) -> None:
    transport = wire()
    transport.answer_first("POST", "/brokerage/orders", answer)
    adapter = exchange(transport)
    with pytest.raises(raised):
        run(adapter, adapter.place_order(limit_buy(BOT_ID, BTC)))
