"""The ccxt adapter's translation, offline: the error table (ccxt class -> core error, per call kind),
Binance's answers -> ccxt exceptions -> core errors, ccxt-shaped dicts -> core values (and malformed
ones -> InvalidDataError), the requests it builds, and that credentials never leak."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt
import pytest

from trader_adapters.ccxt import CcxtExchange
from trader_adapters.ccxt.client import WIRE_LOGGER, ClientSpec, build_client
from trader_adapters.ccxt.errors import (
    CallKind,
    Redactor,
    core_error_class,
    retry_after_from_headers,
    translate_error,
)
from trader_adapters.ccxt.marketdata import parse_candles, parse_instrument, parse_quote
from trader_adapters.ccxt.requests import create_args, oco_request
from trader_adapters.ccxt.translate import (
    DECIMAL_PLACES,
    TICK_SIZE,
    answer_fills,
    decimal_of,
    format_decimal,
    parse_balances,
    parse_fill,
    parse_order,
)
from trader_adapters.clock import SimulatedClock
from trader_core.model import (
    Asset,
    AuthenticationError,
    ClientOrderId,
    ConfigError,
    ExchangeUnavailableError,
    ExitBracket,
    InstrumentRules,
    InvalidDataError,
    Liquidity,
    Money,
    OrderNotFoundError,
    OrderRejectedError,
    OrderRequest,
    OrderStatus,
    OrderType,
    OutcomeUnknownError,
    Price,
    Quantity,
    RateLimitedError,
    Side,
    Symbol,
    Timeframe,
    TraderError,
    TransientVenueError,
    UnknownSymbolError,
    WouldTriggerError,
)

BTC = Symbol.parse("BTC/USDT")
NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
NOW_MS = 1704110400000
KEY = "k3y-AbCdEf0123456789-key"
SECRET = "s3cr3t-ZyXwVu9876543210-secret"
C, X, R = CallKind.CREATE, CallKind.CANCEL, CallKind.READ
RULES = InstrumentRules(
    symbol=BTC, tick_size=Decimal("0.01"), step_size=Decimal("0.00001"), min_quantity=Decimal("0.00001"),
    min_notional=Decimal(5),
)

# -- the error table, class by class --------------------------------------------------------------

# (ccxt class, call kind, core error): the brief's and the reference's rules, written out independently of
# the implementation's table so that a changed row fails here.
ROWS: list[tuple[type[Exception], CallKind, type[TraderError]]] = [
    # create: definitive refusals
    (ccxt.InsufficientFunds, C, OrderRejectedError),
    (ccxt.InvalidOrder, C, OrderRejectedError),
    (ccxt.DuplicateOrderId, C, OrderRejectedError),
    (ccxt.OrderImmediatelyFillable, C, OrderRejectedError),
    (ccxt.OrderNotFillable, C, OrderRejectedError),
    (ccxt.BadRequest, C, OrderRejectedError),
    (ccxt.ArgumentsRequired, C, OrderRejectedError),
    (ccxt.NotSupported, C, OrderRejectedError),
    (ccxt.MarketClosed, C, OrderRejectedError),
    (ccxt.BadSymbol, C, UnknownSymbolError),
    # create: may have been applied
    (ccxt.RequestTimeout, C, OutcomeUnknownError),
    (ccxt.ExchangeNotAvailable, C, OutcomeUnknownError),
    (ccxt.OnMaintenance, C, OutcomeUnknownError),
    (ccxt.NetworkError, C, OutcomeUnknownError),
    (ccxt.OperationFailed, C, OutcomeUnknownError),
    (ccxt.BadResponse, C, OutcomeUnknownError),
    (ccxt.ExchangeError, C, OutcomeUnknownError),
    (ConnectionResetError, C, OutcomeUnknownError),
    # create: refused before being applied
    (ccxt.DDoSProtection, C, RateLimitedError),
    (ccxt.RateLimitExceeded, C, RateLimitedError),
    (ccxt.InvalidNonce, C, ExchangeUnavailableError),
    (ccxt.AuthenticationError, C, AuthenticationError),
    (ccxt.PermissionDenied, C, AuthenticationError),
    (ccxt.AccountSuspended, C, AuthenticationError),
    # cancel
    (ccxt.OrderNotFound, X, OrderNotFoundError),
    (ccxt.InvalidOrder, X, OrderRejectedError),
    (ccxt.RequestTimeout, X, OutcomeUnknownError),
    (ccxt.ExchangeNotAvailable, X, OutcomeUnknownError),
    (ccxt.OperationFailed, X, OutcomeUnknownError),
    (ccxt.CancelPending, X, OutcomeUnknownError),
    (ccxt.DDoSProtection, X, RateLimitedError),
    (ccxt.InvalidNonce, X, ExchangeUnavailableError),
    (ccxt.AuthenticationError, X, AuthenticationError),
    (ccxt.BadSymbol, X, UnknownSymbolError),
    # read
    (ccxt.OrderNotFound, R, OrderNotFoundError),
    (ccxt.BadSymbol, R, UnknownSymbolError),
    (ccxt.RequestTimeout, R, ExchangeUnavailableError),
    (ccxt.ExchangeNotAvailable, R, TransientVenueError),
    (ccxt.NetworkError, R, TransientVenueError),
    (ccxt.OperationFailed, R, TransientVenueError),
    (ccxt.ExchangeError, R, ExchangeUnavailableError),
    (ccxt.InvalidNonce, R, ExchangeUnavailableError),
    (ccxt.DDoSProtection, R, RateLimitedError),
    (ccxt.RateLimitExceeded, R, RateLimitedError),
    (ccxt.AuthenticationError, R, AuthenticationError),
    (ccxt.PermissionDenied, R, AuthenticationError),
    (ccxt.BadResponse, R, InvalidDataError),
    (ccxt.NullResponse, R, InvalidDataError),
    (ccxt.BadRequest, R, ExchangeUnavailableError),
    (ConnectionResetError, R, TransientVenueError),
    (TimeoutError, R, ExchangeUnavailableError),  # an OSError too, but a timeout: not retried
]


@pytest.mark.parametrize(("ccxt_class", "kind", "expected"), ROWS,
                         ids=[f"{k.value}-{c.__name__}" for c, k, _ in ROWS])
def test_error_table_row(ccxt_class: type[Exception], kind: CallKind, expected: type[TraderError]) -> None:
    error = translate_error(ccxt_class("binance boom"), kind, what="call", redact=Redactor([]))
    assert type(error) is expected
    assert core_error_class(ccxt_class("x"), kind) is expected


def test_an_exception_outside_the_table_is_never_definitive_for_a_write() -> None:
    assert type(translate_error(KeyError("x"), C, what="w", redact=Redactor([]))) is OutcomeUnknownError
    assert type(translate_error(KeyError("x"), X, what="w", redact=Redactor([]))) is OutcomeUnknownError
    assert type(translate_error(KeyError("x"), R, what="w", redact=Redactor([]))) is ExchangeUnavailableError


# -- Binance answers as the reference's §6 lists them, through real ccxt, to the core ------------------

_BINANCE = ccxt.binance({"options": {"fetchMarkets": {"types": ["spot"]}}})


def ccxt_exception(status: int, body: str) -> Exception:
    """What ccxt.binance raises for this HTTP answer (its own handle_errors, no network)."""
    url = "http://127.0.0.1:9/api/v3/order"
    parsed = json.loads(body) if body.startswith("{") else None
    try:
        _BINANCE.handle_errors(status, "reason", url, "POST", {}, body, parsed, {}, "")
        _BINANCE.handle_http_status_code(status, "reason", url, "POST", body)
    except Exception as exc:  # noqa: BLE001 - the exception is the result
        return exc
    raise AssertionError(f"ccxt raised nothing for {status} {body}")


def _err(code: int, msg: str) -> str:
    return json.dumps({"code": code, "msg": msg})


# (status, body, ccxt class, core error for create, for cancel, for read)
REFERENCE_ROWS = [
    (400, _err(-2010, "Account has insufficient balance for requested action."), ccxt.InsufficientFunds,
     OrderRejectedError, OrderRejectedError, ExchangeUnavailableError),
    (400, _err(-2010, "Duplicate order sent."), ccxt.InvalidOrder,
     OrderRejectedError, OrderRejectedError, ExchangeUnavailableError),
    (400, _err(-2013, "Order does not exist."), ccxt.OrderNotFound,
     OrderRejectedError, OrderNotFoundError, OrderNotFoundError),
    (400, _err(-2011, "Unknown order sent."), ccxt.OrderNotFound,
     OrderRejectedError, OrderNotFoundError, OrderNotFoundError),
    (400, _err(-1013, "Filter failure: LOT_SIZE"), ccxt.InvalidOrder,
     OrderRejectedError, OrderRejectedError, ExchangeUnavailableError),
    (400, _err(-1013, "Filter failure: PRICE_FILTER"), ccxt.InvalidOrder,
     OrderRejectedError, OrderRejectedError, ExchangeUnavailableError),
    (400, _err(-1013, "Filter failure: NOTIONAL"), ccxt.BadRequest,
     OrderRejectedError, OrderRejectedError, ExchangeUnavailableError),
    (400, _err(-1100, "Illegal characters found in parameter 'newClientOrderId'."), ccxt.BadRequest,
     OrderRejectedError, OrderRejectedError, ExchangeUnavailableError),
    (400, _err(-1022, "Signature for this request is not valid."), ccxt.AuthenticationError,
     AuthenticationError, AuthenticationError, AuthenticationError),
    (401, _err(-2015, "Invalid API-key, IP, or permissions for action."), ccxt.AuthenticationError,
     AuthenticationError, AuthenticationError, AuthenticationError),
    (400, _err(-1021, "Timestamp for this request was 1000ms ahead of the server's time."), ccxt.InvalidNonce,
     ExchangeUnavailableError, ExchangeUnavailableError, ExchangeUnavailableError),
    (429, _err(-1003, "Too many requests."), ccxt.DDoSProtection,
     RateLimitedError, RateLimitedError, RateLimitedError),
    (418, _err(-1003, "Way too many requests; IP banned."), ccxt.DDoSProtection,
     RateLimitedError, RateLimitedError, RateLimitedError),
    (400, _err(-1003, "Too much request weight used."), ccxt.RateLimitExceeded,
     RateLimitedError, RateLimitedError, RateLimitedError),
    (500, _err(-1000, "An unknown error occurred while processing the request."), ccxt.OperationFailed,
     OutcomeUnknownError, OutcomeUnknownError, TransientVenueError),
    (502, "<html>Bad Gateway</html>", ccxt.ExchangeNotAvailable,
     OutcomeUnknownError, OutcomeUnknownError, TransientVenueError),
    (503, "", ccxt.ExchangeNotAvailable, OutcomeUnknownError, OutcomeUnknownError, TransientVenueError),
    (504, "", ccxt.RequestTimeout, OutcomeUnknownError, OutcomeUnknownError, ExchangeUnavailableError),
    (404, "", ccxt.ExchangeNotAvailable, OutcomeUnknownError, OutcomeUnknownError, TransientVenueError),
    (400, _err(-1121, "Invalid symbol."), ccxt.BadSymbol, UnknownSymbolError, UnknownSymbolError, UnknownSymbolError),
]


@pytest.mark.parametrize("row", REFERENCE_ROWS,
                         ids=[f"{r[0]}-{r[2].__name__}-{i}" for i, r in enumerate(REFERENCE_ROWS)])
def test_binance_answer_to_core_error(row: tuple[Any, ...]) -> None:
    status, body, ccxt_class, on_create, on_cancel, on_read = row
    exc = ccxt_exception(status, body)
    assert type(exc) is ccxt_class
    for kind, expected in ((C, on_create), (X, on_cancel), (R, on_read)):
        assert type(translate_error(exc, kind, what="call", redact=Redactor([]))) is expected


def test_a_key_refused_after_it_has_worked_is_an_authentication_failure_not_a_ban() -> None:
    # Keys revoked while the bot runs: ccxt reads a -2015 after a first success as a temporary ban.
    client = ccxt.binance({"options": {"fetchMarkets": {"types": ["spot"]},
                                       "hasAlreadyAuthenticatedSuccessfully": True}})
    body = _err(-2015, "Invalid API-key, IP, or permissions for action.")
    with pytest.raises(ccxt.DDoSProtection) as caught:
        client.handle_errors(401, "Unauthorized", "http://127.0.0.1:9/api/v3/account", "GET", {}, body,
                             json.loads(body), {}, "")
    for kind in (C, X, R):
        assert type(translate_error(caught.value, kind, what="call", redact=Redactor([]))) is AuthenticationError
    ban = ccxt_exception(418, _err(-1003, "Way too many requests; IP banned."))
    assert type(translate_error(ban, R, what="call", redact=Redactor([]))) is RateLimitedError, "a ban stays a ban"


@pytest.mark.parametrize(("msg", "reason"), [
    ("Account has insufficient balance for requested action.", "insufficient USDT"),
    ("Filter failure: NOTIONAL", "notional"),
    ("Filter failure: LOT_SIZE", "step"),
    ("Filter failure: PRICE_FILTER", "tick"),
    ("Order would immediately match and take.", "post-only"),
    ("Duplicate order sent.", "duplicate client order id"),
    ("The relationship of the prices for the orders is not correct.", "straddle"),
])
def test_rejections_say_why_in_the_core_vocabulary(msg: str, reason: str) -> None:
    exc = ccxt_exception(400, _err(-2010, msg))
    error = translate_error(exc, C, what="place BTC/USDT buy limit c-1", redact=Redactor([]), funding_asset="USDT")
    assert isinstance(error, OrderRejectedError)
    assert reason in str(error)
    assert msg in str(error)  # the venue's own words stay


def test_a_stop_that_would_trigger_immediately_is_its_own_kind_of_rejection() -> None:
    # The plan monitor exits at once on it instead of retrying a bracket the venue will never hold.
    exc = ccxt_exception(400, _err(-2010, "Stop price would trigger immediately."))
    error = translate_error(exc, C, what="place BTC/USDT OCO", redact=Redactor([]), funding_asset="BTC")
    assert type(error) is WouldTriggerError
    other = translate_error(ccxt_exception(400, _err(-2010, "Filter failure: NOTIONAL")), C, what="p",
                            redact=Redactor([]))
    assert type(other) is OrderRejectedError


def test_rate_limit_carries_the_venues_retry_after() -> None:
    retry_after = retry_after_from_headers({"Content-Type": "application/json", "Retry-After": "17"})
    assert retry_after == timedelta(seconds=17)
    error = translate_error(ccxt_exception(429, "{}"), C, what="place", redact=Redactor([]), retry_after=retry_after)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == timedelta(seconds=17)
    assert retry_after_from_headers({"retry-after": "3"}) == timedelta(seconds=3)
    assert retry_after_from_headers({}) is None
    assert retry_after_from_headers({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None


def test_lost_cancel_is_explained_as_maybe_cancelled() -> None:
    error = translate_error(ccxt_exception(400, _err(-2011, "Unknown order sent.")), X, what="cancel",
                            redact=Redactor([]))
    assert isinstance(error, OrderNotFoundError)
    assert "may already be cancelled" in str(error)


# -- secrets --------------------------------------------------------------------------------------


def test_credentials_never_appear_in_error_messages() -> None:
    exc = ccxt.AuthenticationError(f"binance GET /api/v3/account?signature=abcdef0123 key={KEY} secret={SECRET}")
    for kind in CallKind:
        error = translate_error(exc, kind, what="balances", redact=Redactor([KEY, SECRET]))
        for text in (str(error), repr(error)):
            assert KEY not in text
            assert SECRET not in text
            assert "abcdef0123" not in text


def test_credentials_never_appear_in_reprs() -> None:
    exchange = CcxtExchange.create("binance", clock=SimulatedClock(NOW), api_key=KEY, secret=SECRET, sandbox=True)
    spec = ClientSpec("binance", KEY, SECRET, True, None, {})
    redactor = spec.redactor()
    for text in (repr(exchange), str(exchange), repr(spec), repr(redactor)):
        assert KEY not in text
        assert SECRET not in text
    assert "with credentials" in repr(exchange)


def test_credentials_never_appear_in_ccxt_wire_logs(caplog: pytest.LogCaptureFixture) -> None:
    spec = ClientSpec("binance", KEY, SECRET, True, None, {})
    client = build_client(spec)
    with caplog.at_level(logging.DEBUG, logger=WIRE_LOGGER.name):
        # What ccxt's async fetch() logs for a signed request: the headers carry the key.
        client.logger.debug("%s %s, Request: %s %s", "GET", "https://x/api/v3/account?signature=ff00",
                            {"X-MBX-APIKEY": KEY}, f"secret={SECRET}")
    assert caplog.records
    assert KEY not in caplog.text
    assert SECRET not in caplog.text


# -- the ccxt client --------------------------------------------------------------------------------


def test_binance_client_options_and_base_url_override() -> None:
    client = build_client(ClientSpec("binance", KEY, SECRET, False, "http://127.0.0.1:8123", {}))
    options = client.options
    assert options["fetchMarkets"]["types"] == ["spot"]
    assert options["fetchCurrencies"] is False
    assert options["fetchMargins"] is False
    assert options["warnOnFetchOpenOrdersWithoutSymbol"] is False
    assert client.enableRateLimit is True
    assert client.urls["api"]["public"] == "http://127.0.0.1:8123/api/v3"
    assert client.urls["api"]["private"] == "http://127.0.0.1:8123/api/v3"
    assert options["sandboxMode"] is True


def test_client_settings_are_configurable() -> None:
    client = build_client(ClientSpec("binance", None, None, True, None, {"enableRateLimit": False, "timeout": 3000,
                                                                         "recvWindow": 5000}))
    assert client.enableRateLimit is False
    assert client.timeout == 3000
    assert client.options["recvWindow"] == 5000
    assert "testnet.binance.vision" in client.urls["api"]["public"]


def test_unknown_exchange_id_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no exchange"):
        CcxtExchange.create("not-an-exchange", clock=SimulatedClock(NOW))



def test_binance_bounds_how_late_a_placement_is_accepted_by_the_recv_window_it_is_signed_with() -> None:
    clock = SimulatedClock(NOW)
    assert CcxtExchange.create("binance", clock=clock).acceptance_window == timedelta(seconds=25)  # 10 s + margin
    short = CcxtExchange.create("binance", clock=clock, options={"recvWindow": 5000})
    assert short.acceptance_window == timedelta(seconds=20)
    for venue_id in ("gemini", "okx", "kraken"):  # nonces or nothing sent that bounds it: no such proof
        assert CcxtExchange.create(venue_id, clock=clock).acceptance_window is None


def test_venue_without_order_lists_refuses_brackets_without_calling_it() -> None:
    exchange = CcxtExchange.create("kraken", clock=SimulatedClock(NOW))
    assert exchange.holds_protective_exits is False
    assert CcxtExchange.create("binance", clock=SimulatedClock(NOW)).holds_protective_exits is True
    bracket = ExitBracket(
        symbol=BTC, side=Side.SELL, quantity=Quantity("0.1"), stop_price=Price("29000"), target_price=Price("32000"),
        stop_client_order_id=ClientOrderId("sl-1"), target_client_order_id=ClientOrderId("tp-1"),
    )
    with pytest.raises(OrderRejectedError, match="protective"):
        asyncio.run(exchange.place_exit_bracket(bracket))


# -- requests -------------------------------------------------------------------------------------


def request(order_type: OrderType, **kw: Any) -> OrderRequest:
    return OrderRequest(client_order_id=ClientOrderId("c-1"), symbol=BTC, side=Side.BUY, order_type=order_type,
                        quantity=Quantity(kw.pop("quantity", "0.10000")), **kw)


def test_create_args_per_order_type() -> None:
    market = create_args(request(OrderType.MARKET), RULES)
    assert (market.type, market.side, market.amount, market.price) == ("market", "buy", "0.1", None)
    assert market.params == {"clientOrderId": "c-1"}
    limit = create_args(request(OrderType.LIMIT, price=Price("29000.50"), post_only=True), RULES)
    assert (limit.type, limit.price, limit.params["postOnly"]) == ("limit", "29000.5", True)
    stop = create_args(request(OrderType.STOP_LOSS, stop_price=Price("28000")), RULES)
    assert (stop.type, stop.price, stop.params["stopLossPrice"]) == ("market", None, "28000")
    target = create_args(request(OrderType.TAKE_PROFIT, price=Price("32000")), RULES)
    assert (target.type, target.price) == ("limit", "32000")


def test_off_grid_orders_are_refused_before_sending() -> None:
    with pytest.raises(OrderRejectedError, match="tick"):
        create_args(request(OrderType.LIMIT, price=Price("29000.005")), RULES)
    with pytest.raises(OrderRejectedError, match="step"):
        create_args(request(OrderType.MARKET, quantity="0.100001"), RULES)


def test_oco_request_for_a_sell_and_a_buy_exit() -> None:
    sell = ExitBracket(
        symbol=BTC, side=Side.SELL, quantity=Quantity("0.1"), stop_price=Price("29000"), target_price=Price("32000"),
        stop_client_order_id=ClientOrderId("sl-1"), target_client_order_id=ClientOrderId("tp-1"),
    )
    body = oco_request(sell, "BTCUSDT", RULES)
    assert body["side"] == "SELL"
    assert (body["aboveType"], body["abovePrice"], body["aboveClientOrderId"]) == ("LIMIT_MAKER", "32000", "tp-1")
    assert (body["belowType"], body["belowStopPrice"], body["belowClientOrderId"]) == ("STOP_LOSS", "29000", "sl-1")
    buy = ExitBracket(
        symbol=BTC, side=Side.BUY, quantity=Quantity("0.1"), stop_price=Price("32000"), target_price=Price("29000"),
        stop_client_order_id=ClientOrderId("sl-2"), target_client_order_id=ClientOrderId("tp-2"),
    )
    body = oco_request(buy, "BTCUSDT", RULES)
    assert (body["aboveType"], body["aboveStopPrice"]) == ("STOP_LOSS", "32000")
    assert (body["belowType"], body["belowPrice"]) == ("LIMIT_MAKER", "29000")


# -- parsing: numbers, markets ---------------------------------------------------------------------


def test_floats_become_exact_decimals_at_the_edge() -> None:
    assert decimal_of(0.1, "x") == Decimal("0.1")
    assert decimal_of(1e-05, "x") == Decimal("0.00001")
    assert decimal_of("29000.50", "x") == Decimal("29000.50")
    assert format_decimal(Decimal("1E-5")) == "0.00001"
    assert format_decimal(Decimal("30000.00")) == "30000"
    for bad in (float("nan"), float("inf"), "abc", None, True, object()):
        with pytest.raises(InvalidDataError):
            decimal_of(bad, "x")


def market(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "symbol": "BTC/USDT", "spot": True, "active": True,
        "precision": {"price": 0.01, "amount": 1e-05},
        "limits": {"amount": {"min": 1e-05, "max": 9000.0}, "cost": {"min": 5.0, "max": None}},
    }
    base.update(overrides)
    return base


def test_instrument_rules_from_a_tick_size_market() -> None:
    assert parse_instrument(market(), TICK_SIZE) == RULES


def test_instrument_rules_from_a_decimal_places_market() -> None:
    rules = parse_instrument(market(precision={"price": 2, "amount": 5}), DECIMAL_PLACES)
    assert (rules.tick_size, rules.step_size) == (Decimal("0.01"), Decimal("0.00001"))


@pytest.mark.parametrize("precision", [{"price": None, "amount": 1e-05}, {"price": 0.0, "amount": 1e-05},
                                       {"price": 0.01, "amount": float("nan")}, {"price": -0.01, "amount": 1}])
def test_malformed_market_precision_is_invalid_data(precision: dict[str, Any]) -> None:
    with pytest.raises(InvalidDataError, match="BTC/USDT"):
        parse_instrument(market(precision=precision), TICK_SIZE)


# -- parsing: orders ------------------------------------------------------------------------------


def ccxt_order(**overrides: Any) -> dict[str, Any]:
    """A ccxt-unified order as ccxt.binance returns it for a FULL new-order answer."""
    order: dict[str, Any] = {
        "id": "12345", "clientOrderId": "c-1", "timestamp": NOW_MS, "lastUpdateTimestamp": NOW_MS + 5,
        "lastTradeTimestamp": None, "symbol": "BTC/USDT", "type": "limit", "side": "buy", "price": 29000.0,
        "triggerPrice": None, "amount": 0.1, "filled": 0.0, "remaining": 0.1, "average": None, "cost": 0.0,
        "status": "open", "fee": None, "trades": [],
        "info": {"symbol": "BTCUSDT", "orderId": 12345, "orderListId": -1, "clientOrderId": "c-1",
                 "price": "29000.00", "origQty": "0.10000", "status": "NEW", "type": "LIMIT", "side": "BUY"},
    }
    order.update(overrides)
    return order


def test_order_from_ccxt() -> None:
    order = parse_order(ccxt_order(), now=NOW)
    assert order.client_order_id == ClientOrderId("c-1")
    assert order.venue_order_id.value == "12345"
    assert (order.symbol, order.side, order.order_type, order.status) == (BTC, Side.BUY, OrderType.LIMIT,
                                                                          OrderStatus.OPEN)
    assert order.quantity == Quantity("0.1")
    assert order.price == Price("29000")
    assert order.created_at == NOW
    assert order.updated_at == NOW + timedelta(milliseconds=5)
    assert order.average_price is None


def test_partially_filled_and_filled_orders() -> None:
    partial = parse_order(ccxt_order(filled=0.04, average=29000.0), now=NOW)
    assert partial.status is OrderStatus.PARTIALLY_FILLED
    assert partial.filled_quantity == Quantity("0.04")
    assert partial.average_price == Price("29000")
    filled = parse_order(ccxt_order(status="closed", filled=0.1, average=28999.5), now=NOW)
    assert filled.status is OrderStatus.FILLED


def test_cancel_answer_uses_the_original_client_id() -> None:
    info = {**ccxt_order()["info"], "clientOrderId": "cancel-req-9", "origClientOrderId": "c-1", "status": "CANCELED"}
    order = parse_order(ccxt_order(clientOrderId="cancel-req-9", status="canceled", info=info), now=NOW)
    assert order.client_order_id == ClientOrderId("c-1")
    assert order.status is OrderStatus.CANCELED


def test_binance_raw_types_survive_ccxts_folding() -> None:
    stop_info = {**ccxt_order()["info"], "type": "STOP_LOSS", "stopPrice": "28000.00", "orderListId": 7}
    stop = parse_order(ccxt_order(type="market", price=0.0, triggerPrice=28000.0, info=stop_info), now=NOW)
    assert stop.order_type is OrderType.STOP_LOSS
    assert stop.stop_price == Price("28000")
    assert stop.price is None
    leg_info = {**ccxt_order()["info"], "type": "LIMIT_MAKER", "orderListId": 7, "status": "EXPIRED"}
    leg = parse_order(ccxt_order(status="expired", info=leg_info), now=NOW)
    assert leg.order_type is OrderType.TAKE_PROFIT  # the target leg of an order list
    assert leg.status is OrderStatus.CANCELED  # cancelled by its OCO partner
    maker = parse_order(ccxt_order(info={**ccxt_order()["info"], "type": "LIMIT_MAKER"}), now=NOW)
    assert maker.order_type is OrderType.LIMIT
    assert parse_order(ccxt_order(), now=NOW, requested_type=OrderType.TAKE_PROFIT).order_type is OrderType.TAKE_PROFIT


@pytest.mark.parametrize(("overrides", "match"), [
    ({"id": None}, "venue order id"),
    ({"price": None}, "without a price"),
    ({"price": float("nan")}, "price"),
    ({"amount": -1.0}, "negative"),
    ({"filled": 0.2}, "more than its quantity"),
    ({"side": "long"}, "side"),
    ({"status": "weird"}, "status"),
    ({"symbol": "BTCUSDT"}, "symbol"),
    ({"clientOrderId": "bad id with spaces", "info": {}}, "client order id"),
])
def test_malformed_orders_are_invalid_data(overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        parse_order(ccxt_order(**overrides), now=NOW)


def test_ccxt_binance_parses_a_raw_answer_into_something_we_read() -> None:
    """A raw Binance FULL new-order answer through ccxt's own parser, then ours."""
    client = ccxt.binance({"options": {"fetchMarkets": {"types": ["spot"]}, "crossMarginPairsData": [],
                                       "isolatedMarginPairsData": []}})
    raw_market = {
        "symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT", "baseAssetPrecision": 8,
        "quotePrecision": 8, "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS"],
        "isSpotTradingAllowed": True, "isMarginTradingAllowed": False, "permissions": ["SPOT"],
        "permissionSets": [["SPOT"]],
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000.00", "tickSize": "0.01"},
            {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000.0", "stepSize": "0.00001"},
            {"filterType": "NOTIONAL", "minNotional": "5.00", "maxNotional": "9000000.00"},
        ],
    }
    client.set_markets([client.parse_market(raw_market)])
    assert parse_instrument(client.markets["BTC/USDT"], client.precisionMode) == RULES
    answer = {
        "symbol": "BTCUSDT", "orderId": 42, "orderListId": -1, "clientOrderId": "mkt-1", "transactTime": NOW_MS,
        "price": "0.00000000", "origQty": "0.10000000", "executedQty": "0.10000000",
        "cummulativeQuoteQty": "3000.00000000", "status": "FILLED", "timeInForce": "GTC", "type": "MARKET",
        "side": "BUY", "workingTime": NOW_MS,
        "fills": [{"price": "30000.00", "qty": "0.10000000", "commission": "3.00000000", "commissionAsset": "USDT",
                   "tradeId": 7}],
    }
    order = parse_order(client.parse_order(answer, client.markets["BTC/USDT"]), now=NOW)
    assert (order.order_type, order.status, order.price) == (OrderType.MARKET, OrderStatus.FILLED, None)
    assert order.filled_quantity == Quantity("0.1")
    assert order.average_price == Price("30000")
    trade = client.parse_trade({"symbol": "BTCUSDT", "id": 7, "orderId": 42, "price": "30000.00", "qty": "0.1",
                                "quoteQty": "3000", "commission": "3.0", "commissionAsset": "USDT",
                                "time": NOW_MS, "isBuyer": True, "isMaker": False, "isBestMatch": True},
                               client.markets["BTC/USDT"])
    fill = parse_fill(trade, {"42": ClientOrderId("mkt-1")}.get)
    assert fill.client_order_id == ClientOrderId("mkt-1")
    assert fill.fee == Money(Decimal(3), Asset("USDT"))
    assert fill.liquidity is Liquidity.TAKER


# -- parsing: fills -------------------------------------------------------------------------------


def ccxt_trade(**overrides: Any) -> dict[str, Any]:
    trade: dict[str, Any] = {
        "id": "7", "order": "42", "timestamp": NOW_MS, "symbol": "BTC/USDT", "side": "buy", "takerOrMaker": "maker",
        "price": 29000.0, "amount": 0.1, "cost": 2900.0, "fee": {"cost": 0.0001, "currency": "BTC"},
        "info": {"id": 7, "orderId": 42, "isMaker": True},
    }
    trade.update(overrides)
    return trade


def test_fill_from_ccxt_with_the_client_id_resolved_from_the_order_id() -> None:
    fill = parse_fill(ccxt_trade(), {"42": ClientOrderId("lim-1")}.get)
    assert fill.client_order_id == ClientOrderId("lim-1")
    assert fill.trade_id.value == "7"
    assert fill.venue_order_id.value == "42"
    assert fill.fee == Money(Decimal("0.0001"), Asset("BTC"))
    assert fill.liquidity is Liquidity.MAKER
    assert fill.time == NOW
    assert parse_fill(ccxt_trade(), {}.get).client_order_id is None  # someone else's order
    assert parse_fill(ccxt_trade(info={"clientOrderId": "x-1"}), {}.get).client_order_id == ClientOrderId("x-1")
    assert parse_fill(ccxt_trade(fee=None), {}.get).fee == Money(Decimal(0), Asset("USDT"))


@pytest.mark.parametrize(("overrides", "match"), [
    ({"price": None}, "price"), ({"price": float("nan")}, "price"), ({"price": -1.0}, "positive"),
    ({"amount": 0.0}, "quantity"), ({"timestamp": None}, "timestamp"), ({"order": None}, "order id"),
    ({"fee": {"cost": float("nan"), "currency": "USDT"}}, "fee"), ({"id": None}, "trade id"),
])
def test_malformed_fills_are_invalid_data(overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        parse_fill(ccxt_trade(**overrides), {}.get)


def full_answer(*trades: dict[str, Any]) -> dict[str, Any]:
    """A market buy's FULL answer as ccxt.binance gives it: its fills in ``trades`` with a trade id, price,
    quantity and fee, and no order id, side, time or liquidity."""
    info = {**ccxt_order()["info"], "type": "MARKET", "status": "FILLED", "price": "0.00000000"}
    return ccxt_order(type="market", price=None, filled=0.1, remaining=0.0, status="closed", trades=list(trades),
                      info=info)


def answer_trade(trade_id: str | None, amount: float) -> dict[str, Any]:
    return {"id": trade_id, "order": None, "timestamp": None, "symbol": "BTC/USDT", "side": None,
            "takerOrMaker": None, "price": 29000.0, "amount": amount,
            "fee": {"cost": round(amount / 1000, 8), "currency": "BTC"},
            "info": {"price": "29000.00", "qty": str(amount), "tradeId": trade_id}}


def test_fills_in_a_placement_answer_are_the_orders_taken_at_the_answers_time() -> None:
    raw = full_answer(answer_trade("7", 0.06), answer_trade("8", 0.04))
    fills = answer_fills(raw, parse_order(raw, now=NOW))
    assert [(f.trade_id.value, f.quantity, f.venue_order_id.value, f.client_order_id, f.side, f.liquidity, f.time)
            for f in fills] == [
        ("7", Quantity("0.06"), "12345", ClientOrderId("c-1"), Side.BUY, Liquidity.TAKER, NOW),
        ("8", Quantity("0.04"), "12345", ClientOrderId("c-1"), Side.BUY, Liquidity.TAKER, NOW),
    ]
    assert fills[0].fee == Money(Decimal("0.00006"), Asset("BTC"))


@pytest.mark.parametrize("raw", [
    full_answer(),  # a resting order, or a venue that answers without fills
    full_answer(answer_trade("7", 0.06), answer_trade(None, 0.04)),  # one unreadable: none (the query books them)
    {**full_answer(answer_trade("7", 0.1)), "timestamp": None},  # no time to date them
])
def test_an_answer_without_readable_fills_carries_none(raw: dict[str, Any]) -> None:
    assert answer_fills(raw, parse_order({**raw, "timestamp": NOW_MS}, now=NOW)) == ()


# -- parsing: balances ----------------------------------------------------------------------------


def test_balances_keep_non_zero_assets_only() -> None:
    balance = {"info": {}, "free": {"USDT": 100.5, "BTC": 0.0, "ETH": 0.0, "bad code": 1.0},
               "used": {"USDT": 0.0, "BTC": 0.0, "ETH": 1.25}, "total": {}}
    assert [(b.asset.code, b.free, b.locked) for b in parse_balances(balance)] == [
        ("ETH", Decimal(0), Decimal("1.25")), ("USDT", Decimal("100.5"), Decimal(0)),
    ]


def test_negative_or_nan_balance_is_invalid_data() -> None:
    with pytest.raises(InvalidDataError, match="BTC"):
        parse_balances({"free": {"BTC": -1.0}, "used": {}})
    with pytest.raises(InvalidDataError, match="USDT"):
        parse_balances({"free": {"USDT": float("nan")}, "used": {}})


# -- parsing: quotes and candles ------------------------------------------------------------------


def book(bids: Any = ((29999.99, 0.5),), asks: Any = ((30000.01, 0.25),)) -> dict[str, Any]:
    return {"symbol": "BTC/USDT", "bids": [list(b) for b in bids], "asks": [list(a) for a in asks],
            "timestamp": None, "nonce": 1}


def test_quote_from_book_and_ticker() -> None:
    quote = parse_quote(BTC, book(), {"last": 30000.0, "timestamp": NOW_MS - 1000}, observed_at=NOW,
                        latency=timedelta(milliseconds=12))
    assert (quote.bid, quote.ask, quote.last) == (Decimal("29999.99"), Decimal("30000.01"), Decimal("30000"))
    assert (quote.bid_size, quote.ask_size) == (Decimal("0.5"), Decimal("0.25"))
    assert quote.venue_time == NOW - timedelta(seconds=1)
    assert quote.latency == timedelta(milliseconds=12)
    assert parse_quote(BTC, book(), {"last": 30000.0}, observed_at=NOW, latency=timedelta(0)).venue_time is None


@pytest.mark.parametrize(("the_book", "ticker", "match"), [
    (book(bids=()), {"last": 30000.0}, "no bid"),
    (book(), {"last": None, "close": None}, "last price"),
    (book(), {"last": float("nan")}, "last price"),
    (book(asks=((-1.0, 1.0),)), {"last": 30000.0}, "positive"),
    (book(bids=((30001.0, 1.0),)), {"last": 30000.0}, "bid"),
])
def test_malformed_quotes_are_invalid_data(the_book: dict[str, Any], ticker: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        parse_quote(BTC, the_book, ticker, observed_at=NOW, latency=timedelta(0))


M1 = Timeframe("1m")


def bars(*closes: float, start: int = NOW_MS - 3 * 60_000) -> list[list[Any]]:
    return [[start + i * 60_000, c, c + 10, c - 10, c, 1.5] for i, c in enumerate(closes)]


def test_candles_drop_the_forming_bar_and_honour_since_and_limit() -> None:
    rows = bars(30000.0, 30010.0, 30020.0, 30030.0)  # the last opens at NOW: still forming
    candles = parse_candles(rows, BTC, M1, now=NOW)
    assert [c.close for c in candles] == [Decimal("30000"), Decimal("30010"), Decimal("30020")]
    assert candles[0].volume == Decimal("1.5")
    assert parse_candles(rows, BTC, M1, now=NOW, limit=1) == candles[-1:]
    assert parse_candles(rows, BTC, M1, now=NOW, since=candles[1].open_time) == candles[1:]
    assert parse_candles(rows, BTC, M1, now=NOW, since=candles[0].open_time, limit=1) == candles[:1]
    assert parse_candles(rows, BTC, M1, now=NOW, since=NOW) == ()
    assert parse_candles(list(reversed(rows)), BTC, M1, now=NOW) == candles  # oldest first whatever the order


@pytest.mark.parametrize(("row", "match"), [
    ([NOW_MS - 120_000, float("nan"), 1.0, 1.0, 1.0, 1.0], "BTC/USDT 1m candle at .* o"),
    ([NOW_MS - 120_000, None, 1.0, 1.0, 1.0, 1.0], "missing"),
    ([NOW_MS - 120_000, 10.0, 9.0, 11.0, 10.0, 1.0], "BTC/USDT 1m candle at .*high/low"),
    ([NOW_MS - 120_000, -1.0, 1.0, -2.0, 1.0, 1.0], "positive"),
    ([NOW_MS - 120_000, 1.0, 1.0], "malformed"),
])
def test_malformed_candles_are_invalid_data_naming_symbol_and_time(row: list[Any], match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        parse_candles([row], BTC, M1, now=NOW)



def test_secrets_are_redacted_where_they_stand_as_values_not_inside_words() -> None:
    redact = Redactor(["s3cr3tKEY", "ab"])
    text = "GET /api?apiKey=s3cr3tKEY&x=1 failed: about tabs; key ab; signature=deadbeef"
    assert redact(text) == "GET /api?apiKey=***&x=1 failed: about tabs; key ***; signature=***"


def test_an_untriggered_stop_is_not_dated_1969() -> None:
    """Binance answers a new stop with ``workingTime: -1``; ccxt takes that as its timestamp (issue 17)."""
    client = ccxt.binance({"options": {"fetchMarkets": {"types": ["spot"]}}})
    answer = {
        "symbol": "BTCUSDT", "orderId": 43, "orderListId": -1, "clientOrderId": "stop-1", "transactTime": NOW_MS,
        "price": "27900.00", "stopPrice": "28000.00", "origQty": "0.10000000", "executedQty": "0.00000000",
        "cummulativeQuoteQty": "0.00000000", "status": "NEW", "timeInForce": "GTC", "type": "STOP_LOSS_LIMIT",
        "side": "SELL", "workingTime": -1, "fills": [],
    }
    raw = client.parse_order(answer, None)
    assert raw["timestamp"] == -1  # what ccxt makes of it
    order = parse_order({**raw, "symbol": "BTC/USDT"}, now=NOW + timedelta(seconds=9))
    assert order.created_at == NOW
    assert order.updated_at == NOW
    assert parse_order(ccxt_order(timestamp=-1, lastUpdateTimestamp=None, info={}), now=NOW).created_at == NOW
