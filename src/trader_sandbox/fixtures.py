"""Static exchange data: symbol rules (real Binance filter values), seed prices and balances, and candles
(loaded from a CSV or generated from a seed)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from trader_formats.candle_csv import open_candle_file

__all__ = [
    "DEFAULT_BALANCES",
    "DEFAULT_SYMBOLS",
    "ORDER_TYPES",
    "RECORDED_ORDER_TYPES",
    "Candle",
    "SymbolRules",
    "exchange_info",
    "load_candles",
    "synthetic_candles",
]

ORDER_TYPES = ("LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
# What Binance's recorded exchangeInfo lists for BTCUSDT, ETHUSDT, ADAUSDT and LTCUSDT: no market stops.
RECORDED_ORDER_TYPES = ("LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")


@dataclass(frozen=True)
class SymbolRules:
    """One spot symbol and the filter values the emulator enforces."""

    symbol: str
    base: str
    quote: str
    tick: Decimal
    step: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_notional: Decimal
    seed_price: Decimal
    min_price: Decimal = Decimal("0.01")
    max_price: Decimal = Decimal("1000000")
    max_notional: Decimal = Decimal("9000000")
    market_max_qty: Decimal = Decimal("100")
    max_num_orders: int = 200
    max_num_algo_orders: int = 5
    # PERCENT_PRICE_BY_SIDE as Binance lists it for BTCUSDT: a limit price within 0.2x-5x of the average.
    bid_multiplier_up: Decimal = Decimal(5)
    bid_multiplier_down: Decimal = Decimal("0.2")
    ask_multiplier_up: Decimal = Decimal(5)
    ask_multiplier_down: Decimal = Decimal("0.2")
    order_types: tuple[str, ...] = ORDER_TYPES  # the symbol's ``orderTypes``; others answer -1013


def _rules(symbol: str, base: str, *limits: str, order_types: tuple[str, ...] = ORDER_TYPES) -> SymbolRules:
    tick, step, min_qty, max_qty, price, market_max = (Decimal(x) for x in limits)
    return SymbolRules(symbol, base, "USDT", tick, step, min_qty, max_qty, Decimal(5), price, market_max_qty=market_max,
                       order_types=order_types)


DEFAULT_SYMBOLS: dict[str, SymbolRules] = {
    r.symbol: r
    for r in (
        _rules("BTCUSDT", "BTC", "0.01", "0.00001", "0.00001", "9000", "60000", "120",
               order_types=RECORDED_ORDER_TYPES),
        _rules("ETHUSDT", "ETH", "0.01", "0.0001", "0.0001", "9000", "3000", "2500",
               order_types=RECORDED_ORDER_TYPES),
        _rules("SOLUSDT", "SOL", "0.01", "0.001", "0.001", "9000000", "150", "50000"),
        _rules("BNBUSDT", "BNB", "0.01", "0.001", "0.001", "9000000", "600", "8000"),
    )
}

DEFAULT_BALANCES: dict[str, Decimal] = {
    "USDT": Decimal(10000), "BTC": Decimal(1), "ETH": Decimal(10), "SOL": Decimal(100), "BNB": Decimal(10),
}


def _s(value: Decimal) -> str:
    return f"{value:.8f}"


def symbol_info(r: SymbolRules) -> dict[str, Any]:
    """The ``exchangeInfo`` entry of one symbol, shaped like Binance's."""
    return {
        "symbol": r.symbol, "status": "TRADING", "baseAsset": r.base, "baseAssetPrecision": 8,
        "quoteAsset": r.quote, "quotePrecision": 8, "quoteAssetPrecision": 8, "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8, "orderTypes": list(r.order_types), "icebergAllowed": True,
        "ocoAllowed": True, "otoAllowed": True, "quoteOrderQtyMarketAllowed": True, "allowTrailingStop": False,
        "cancelReplaceAllowed": False, "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": _s(r.min_price), "maxPrice": _s(r.max_price),
             "tickSize": _s(r.tick)},
            {"filterType": "LOT_SIZE", "minQty": _s(r.min_qty), "maxQty": _s(r.max_qty), "stepSize": _s(r.step)},
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {"filterType": "MARKET_LOT_SIZE", "minQty": _s(Decimal(0)), "maxQty": _s(r.market_max_qty),
             "stepSize": _s(Decimal(0))},
            {"filterType": "NOTIONAL", "minNotional": _s(r.min_notional), "applyMinToMarket": True,
             "maxNotional": _s(r.max_notional), "applyMaxToMarket": False, "avgPriceMins": 5},
            {"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": str(r.bid_multiplier_up),
             "bidMultiplierDown": str(r.bid_multiplier_down), "askMultiplierUp": str(r.ask_multiplier_up),
             "askMultiplierDown": str(r.ask_multiplier_down), "avgPriceMins": 5},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": r.max_num_orders},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": r.max_num_algo_orders},
        ],
        "permissions": ["SPOT"], "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def exchange_info(symbols: dict[str, SymbolRules], server_time: int, order_limit_10s: int = 100) -> dict[str, Any]:
    """The whole ``GET /api/v3/exchangeInfo`` answer (``order_limit_10s``: the ORDERS limit per 10 s it states)."""
    return {
        "timezone": "UTC", "serverTime": server_time,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": order_limit_10s},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
        ],
        "exchangeFilters": [],
        "symbols": [symbol_info(r) for r in symbols.values()],
    }


@dataclass(frozen=True)
class Candle:
    """One OHLCV bar; ``time`` is its open time in ms."""

    time: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


def load_candles(path: Path) -> list[Candle]:
    """Read ``timestamp_ms,open,high,low,close,volume`` rows, oldest first, checked as the bot checks a candle file
    (``trader_formats.candle_csv``): a problem is a one-line ``ValueError`` naming the file and the line."""
    with open_candle_file(path) as file:
        return [Candle(ms, *values) for ms, _row, values in file.rows]


def synthetic_candles(start_price: Decimal, tick: Decimal, *, start_ms: int, interval_ms: int = 60_000,
                      seed: int = 7) -> Iterator[Candle]:
    """An endless seeded random walk with volatility clustering, wicks and volume; prices are multiples of
    ``tick``. Floats only drive the walk; every emitted value is a Decimal snapped down to the tick."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    price = float(start_price)
    vol = 0.001

    def snap(x: float) -> Decimal:
        return max(tick, (Decimal(repr(x)) // tick) * tick)

    i = 0
    while True:
        vol = min(0.01, max(0.0003, vol * (0.9 + 0.2 * rng.random())))  # slowly drifting volatility
        o = price
        c = o * (1 + rng.gauss(0, vol))
        h = max(o, c) * (1 + abs(rng.gauss(0, vol / 2)))
        lo = min(o, c) * (1 - abs(rng.gauss(0, vol / 2)))
        volume = Decimal(repr(round(rng.uniform(5, 50), 3)))
        yield Candle(start_ms + i * interval_ms, snap(o), snap(h), snap(lo), snap(c), volume)
        price = c
        i += 1
