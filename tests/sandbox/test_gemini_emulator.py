"""The Gemini face of the emulator on the wire: payload authentication, nonces, and its error payloads, asked
with plain HTTP (stdlib), and the same refusals as the real ``ccxt.gemini`` raises them."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import ccxt  # type: ignore[import-untyped,unused-ignore]
import pytest

from trader_sandbox import Sandbox, start_sandbox
from trader_sandbox.gemini.auth import sign


@pytest.fixture
def gemini() -> Iterator[Sandbox]:
    """A Gemini emulator with BTC/USDT at 30000 and 10000 USDT."""
    sandbox = start_sandbox(venue="gemini", symbols=("BTCUSDT", "ETHUSDT"), history=20, balances={"USDT": "10000"})
    sandbox.set_price("BTCUSDT", "30000")
    try:
        yield sandbox
    finally:
        sandbox.stop()


_LAST_NONCE = [0]


def _next_nonce() -> int:
    """Milliseconds since the epoch, strictly increasing (two requests in one millisecond must not share one)."""
    _LAST_NONCE[0] = max(int(time.time() * 1000), _LAST_NONCE[0] + 1)
    return _LAST_NONCE[0]


def call(sandbox: Sandbox, path: str, payload: dict[str, Any] | None = None, *, secret: str | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """One request: a signed POST when ``payload`` is given (``request`` and ``nonce`` filled in), else a GET."""
    request = urllib.request.Request(sandbox.url + path, method="GET")
    if payload is not None:
        body = {"request": path, "nonce": str(_next_nonce()), **payload}
        encoded = base64.b64encode(json.dumps(body).encode()).decode()
        request = urllib.request.Request(sandbox.url + path, method="POST", data=b"", headers={
            "Content-Type": "text/plain", "X-GEMINI-APIKEY": sandbox.api_key, "X-GEMINI-PAYLOAD": encoded,
            "X-GEMINI-SIGNATURE": sign(secret or sandbox.secret, encoded), **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_public_symbols_and_details(gemini: Sandbox) -> None:
    assert call(gemini, "/v1/symbols") == (200, ["btcusdt", "ethusdt"])
    status, details = call(gemini, "/v1/symbols/details/btcusdt")
    assert status == 200
    assert (details["quote_increment"], details["tick_size"], details["min_order_size"]) == (0.01, 1e-05, "0.00001")
    assert call(gemini, "/v1/symbols/details/xrpusd")[1]["reason"] == "InvalidSymbol"
    assert call(gemini, "/v1/nothing")[0] == 404


def test_private_requests_need_a_valid_signature_and_an_increasing_nonce(gemini: Sandbox) -> None:
    assert call(gemini, "/v1/balances", {})[0] == 200
    status, body = call(gemini, "/v1/balances", {}, secret="not-the-secret")
    assert (status, body["result"], body["reason"]) == (400, "error", "InvalidSignature")
    assert call(gemini, "/v1/balances", {"nonce": "1"})[1]["reason"] == "InvalidNonce"  # not above the last
    stale = str(int(time.time() * 1000) - 60_000)
    assert call(gemini, "/v1/balances", {"nonce": stale})[1]["reason"] == "InvalidNonce"
    assert call(gemini, "/v1/orders", {"request": "/v1/balances"})[1]["reason"] == "EndpointMismatch"
    missing = {"X-GEMINI-SIGNATURE": ""}
    assert call(gemini, "/v1/balances", {}, headers=missing)[1]["reason"] == "MissingSignatureHeader"


def test_order_refusals_use_geminis_reasons(gemini: Sandbox) -> None:
    base = {"symbol": "btcusdt", "side": "buy", "type": "exchange limit", "amount": "0.1", "price": "29000"}
    assert call(gemini, "/v1/order/new", {**base, "amount": "20"}) == (406, {
        "result": "error", "reason": "InsufficientFunds", "message": "Failed to place order: insufficient USDT funds"})
    assert call(gemini, "/v1/order/new", {**base, "price": "29000.005"})[1]["reason"] == "InvalidPrice"
    assert call(gemini, "/v1/order/new", {**base, "amount": "0.000001"})[1]["reason"] == "InvalidQuantity"
    assert call(gemini, "/v1/order/new", {**base, "side": "hold"})[1]["reason"] == "InvalidSide"
    assert call(gemini, "/v1/order/new", {**base, "type": "market"})[1]["reason"] == "InvalidOrderType"
    assert call(gemini, "/v1/order/new", {**base, "options": "maker-or-cancel"})[1]["reason"] == "OptionsMustBeArray"
    two = {**base, "options": ["maker-or-cancel", "immediate-or-cancel"]}
    assert call(gemini, "/v1/order/new", two)[1]["reason"] == "ConflictingOptions"
    assert call(gemini, "/v1/order/new", {**base, "options": ["auction-only"]})[1]["reason"] == "UnsupportedOption"
    assert call(gemini, "/v1/order/new", {**base, "client_order_id": "x" * 100})[1]["reason"] == "ClientOrderIdTooLong"
    assert call(gemini, "/v1/order/new", {**base, "client_order_id": 7})[1]["reason"] == "ClientOrderIdMustBeString"
    stop = {**base, "side": "sell", "type": "exchange stop limit", "stop_price": "28000", "price": "28500"}
    gemini.set_balances({"BTC": "1"})
    assert call(gemini, "/v1/order/new", stop)[1]["reason"] == "InvalidStopPrice"  # a sell's limit above its stop
    assert call(gemini, "/v1/order/status", {"order_id": 99})[1]["reason"] == "OrderNotFound"
    assert call(gemini, "/v1/order/cancel", {})[1]["reason"] == "MissingOrderField"


def test_the_real_ccxt_gemini_raises_its_own_errors_for_the_emulators_reasons(gemini: Sandbox) -> None:
    client = ccxt.gemini({"apiKey": gemini.api_key, "secret": "wrong", "enableRateLimit": False,
                          "options": {"fetchMarketsFromAPI": {"fetchDetailsForAllSymbols": True},
                                      "fetchCurrencies": {"webApiEnable": False}}})
    client.set_sandbox_mode(True)
    client.urls["api"] = dict.fromkeys(client.urls["api"], gemini.url)
    with pytest.raises(ccxt.AuthenticationError):
        client.fetch_balance()
    client.secret = gemini.secret
    # Plain ccxt reads the contract fields Gemini documents on a spot symbol as a swap's (the adapter drops them).
    (btc,) = [name for name in client.load_markets() if name.startswith("BTC/USDT")]
    with pytest.raises(ccxt.InsufficientFunds):
        client.create_order(btc, "limit", "buy", 20, 29000)
    with pytest.raises(ccxt.OrderNotFound):
        client.fetch_order("12345")
    placed = client.create_order(btc, "limit", "buy", 0.1, 29000, {"clientOrderId": "bot-1"})
    assert client.privatePostV1OrderStatus({"client_order_id": "bot-1"})["order_id"] == placed["id"]
    # ccxt's own fetch_order always sends order_id, null when it is not known: Gemini takes one id, never both.
    with pytest.raises(ccxt.ExchangeError, match="cannot be used in combination"):
        client.fetch_order(None, None, {"client_order_id": "bot-1"})


def test_at_any_market_speed_a_time_nonce_is_checked_against_real_time() -> None:
    """Gemini's 30 s window for a time-based nonce is real time: a client makes its nonce from its own clock. At
    speed 60 the market clock is a minute ahead after one real second; the private call must still pass."""
    sandbox = start_sandbox(venue="gemini", symbols=("BTCUSDT",), history=20, balances={"USDT": "100"}, speed=60)
    try:
        assert call(sandbox, "/v1/balances", {})[0] == 200
        time.sleep(1.0)  # a minute of market time
        status, body = call(sandbox, "/v1/balances", {})
        assert status == 200, body
        ahead = {"request": "/v1/balances", "nonce": str(int(time.time() * 1000) + 60_000)}
        encoded = base64.b64encode(json.dumps(ahead).encode()).decode()
        stale = urllib.request.Request(sandbox.url + "/v1/balances", method="POST", data=b"", headers={
            "Content-Type": "text/plain", "X-GEMINI-APIKEY": sandbox.api_key, "X-GEMINI-PAYLOAD": encoded,
            "X-GEMINI-SIGNATURE": sign(sandbox.secret, encoded)})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(stale, timeout=5)
        assert "not within 30 seconds" in refused.value.read().decode(), "a nonce a real minute off is refused"
    finally:
        sandbox.stop()
