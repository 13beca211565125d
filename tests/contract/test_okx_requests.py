"""OKX at request level: the real ``ccxt.okx`` behind the adapter, its HTTP ``fetch`` replaced by a recording
transport that answers with OKX's documented response shapes (no network). The bot's client id goes out in
OKX's form (1-32 letters and digits) with the passphrase header, and answers map back to the bot's id."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from trader_adapters.ccxt import CcxtExchange
from trader_adapters.ccxt.venues import to_venue_client_id
from trader_adapters.clock import SystemClock
from trader_core.model.ids import ClientOrderId, Symbol

BOT_ID = "tc-bot.a-1-1"  # today's form; OKX refuses '-' and '.'
INSTRUMENT = {"instType": "SPOT", "instId": "BTC-USDT", "baseCcy": "BTC", "quoteCcy": "USDT", "settleCcy": "",
              "ctVal": "", "ctMult": "", "ctValCcy": "", "listTime": "1606468572000", "expTime": "", "lever": "",
              "tickSz": "0.1", "lotSz": "0.00000001", "minSz": "0.00001", "ctType": "", "alias": "",
              "state": "live", "maxLmtSz": "9999999999", "maxMktSz": "1000000", "uly": "", "instFamily": ""}


class Recorder:
    """A transport: records each request and answers from the path."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []

    async def __call__(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        self.requests.append((method, url, dict(headers or {}), body))
        if "/public/time" in url:
            return {"code": "0", "msg": "", "data": [{"ts": "1700000000000"}]}
        if "/public/instruments" in url:
            return {"code": "0", "msg": "", "data": [INSTRUMENT]}
        if "/trade/order" in url and method == "GET":
            venue_id = to_venue_client_id("okx", BOT_ID)
            return {"code": "0", "msg": "", "data": [{
                "instType": "SPOT", "instId": "BTC-USDT", "ordId": "680800019749904384", "clOrdId": venue_id,
                "px": "30000.0", "sz": "0.001", "ordType": "limit", "side": "buy", "state": "live",
                "accFillSz": "0", "avgPx": "", "fee": "0", "feeCcy": "BTC", "cTime": "1700000000000",
                "uTime": "1700000000000", "tdMode": "cash", "tag": "", "pnl": "0"}]}
        return {"code": "50001", "msg": "Service temporarily unavailable", "data": []}


def test_fetch_by_client_id_sends_okx_form_and_maps_the_answer_back() -> None:
    recorder = Recorder()
    exchange = CcxtExchange.create("okx", clock=SystemClock(), api_key="okx-key-123", secret="okx-secret-456",
                                   password="pass-9",
                                   sandbox=True, options={"enableRateLimit": False}, transport=recorder)

    async def go() -> Any:
        try:
            return await exchange.fetch_order(Symbol.parse("BTC/USDT"), ClientOrderId(BOT_ID))
        finally:
            await exchange.close()

    order = asyncio.run(go())
    method, url, headers, _ = recorder.requests[-1]
    assert method == "GET"
    assert "/api/v5/trade/order" in url
    assert f"clOrdId={to_venue_client_id('okx', BOT_ID)}" in url
    assert headers.get("OK-ACCESS-PASSPHRASE") == "pass-9"
    assert order.client_order_id == ClientOrderId(BOT_ID)
    assert str(order.venue_order_id) == "680800019749904384"
    assert "pass-9" not in json.dumps([r[1] for r in recorder.requests])
