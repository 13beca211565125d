"""Gemini's REST routes: the public market data (``/v1/symbols``, ``/v1/symbols/details/:symbol``,
``/v1/pubticker/:symbol``, ``/v1/book/:symbol``, ``/v2/candles/:symbol/:time_frame``) and the private POSTs."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from trader_sandbox.gemini import orders
from trader_sandbox.gemini.errors import GeminiError
from trader_sandbox.gemini.orders import number, rules_of
from trader_sandbox.state import Exchange

__all__ = ["PRIVATE", "TIME_FRAMES", "public"]

# Gemini's candle time frames -> the emulator's intervals.
TIME_FRAMES = {"1m": "1m", "5m": "5m", "15m": "15m", "30m": "30m", "1hr": "1h", "6hr": "6h", "1day": "1d"}
_MAX_CANDLES = 1440


def _details(ex: Exchange, symbol: str) -> dict[str, Any]:
    r = rules_of(ex.engine, symbol)
    # Gemini's own naming: ``tick_size`` is the quantity increment, ``quote_increment`` the price tick.
    return {"symbol": r.symbol, "base_currency": r.base, "quote_currency": r.quote, "tick_size": float(r.step),
            "quote_increment": float(r.tick), "min_order_size": number(r.min_qty), "status": "open",
            "wrap_enabled": False, "product_type": "spot",
            # As Gemini documents a spot instrument: contract fields on a spot symbol too.
            "contract_type": "vanilla", "contract_price_currency": r.quote}


def _ticker(ex: Exchange, symbol: str) -> dict[str, Any]:
    r = rules_of(ex.engine, symbol)
    market = ex.markets[r.symbol]
    raw = market.ticker(ex.server_time())
    bid, ask = market.book_prices()
    return {"bid": number(bid), "ask": number(ask), "last": number(market.last),
            "volume": {r.base: number(Decimal(raw["volume"])), r.quote: number(Decimal(raw["quoteVolume"])),
                       "timestamp": ex.server_time()}}


def _book(ex: Exchange, symbol: str, query: dict[str, str]) -> dict[str, Any]:
    r = rules_of(ex.engine, symbol)
    try:
        depth = max(int(query.get("limit_bids") or 50), int(query.get("limit_asks") or 50))
    except ValueError as exc:
        raise GeminiError(400, "InvalidParameter", "limit_bids and limit_asks must be integers") from exc
    raw = ex.markets[r.symbol].depth(max(1, min(depth, 500)) if depth > 0 else 500)
    stamp = str(ex.server_time() // 1000)

    def side(levels: list[list[str]]) -> list[dict[str, str]]:
        return [{"price": number(Decimal(p)), "amount": number(Decimal(q)), "timestamp": stamp} for p, q in levels]

    return {"bids": side(raw["bids"]), "asks": side(raw["asks"])}


def _candles(ex: Exchange, symbol: str, time_frame: str) -> list[list[Any]]:
    r = rules_of(ex.engine, symbol)
    interval = TIME_FRAMES.get(time_frame)
    if interval is None:
        raise GeminiError(400, "InvalidParameter", f"Supplied value '{time_frame}' is not a valid time frame")
    rows = ex.markets[r.symbol].klines(interval, None, None, _MAX_CANDLES)
    # Newest first, numbers rather than text, as Gemini sends them.
    return [[row[0], *(float(Decimal(v)) for v in row[1:6])] for row in reversed(rows)]


def public(ex: Exchange, path: str, query: dict[str, str]) -> Any:
    """Answer one public GET, or raise ``GeminiError`` (404 for an unknown entry point)."""
    parts = path.strip("/").split("/")
    if parts == ["v1", "symbols"]:
        return [name.lower() for name in ex.rules]
    if len(parts) == 4 and parts[:3] == ["v1", "symbols", "details"]:
        return _details(ex, parts[3])
    if len(parts) == 3 and parts[:2] == ["v1", "pubticker"]:
        return _ticker(ex, parts[2])
    if len(parts) == 3 and parts[:2] == ["v1", "book"]:
        return _book(ex, parts[2], query)
    if len(parts) == 4 and parts[:2] == ["v2", "candles"]:
        return _candles(ex, parts[2], parts[3])
    raise GeminiError(404, "EndpointNotFound", f"API entry point `{path}` not found")


PRIVATE: dict[str, Callable[[Exchange, dict[str, Any]], Any]] = {
    "/v1/order/new": lambda ex, p: orders.new_order(ex.engine, p),
    "/v1/order/status": lambda ex, p: orders.status(ex.engine, p),
    "/v1/order/cancel": lambda ex, p: orders.cancel(ex.engine, p),
    "/v1/orders": lambda ex, _p: orders.open_orders(ex.engine),
    "/v1/mytrades": lambda ex, p: orders.my_trades(ex.engine, p),
    "/v1/balances": lambda ex, _p: orders.balances(ex.engine),
    "/v1/heartbeat": lambda _ex, _p: {"result": "ok"},
    # The key's roles: Trader, and Fund Manager (which may withdraw) as configured.
    "/v1/roles": lambda ex, _p: {"isAuditor": not ex.settings.key_trading, "isFundManager": ex.settings.key_withdrawals,
                                 "isTrader": ex.settings.key_trading},
}

