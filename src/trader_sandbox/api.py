"""The Binance spot REST routes: (method, path) -> handler, whether it is signed, and its request weight."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from trader_sandbox import errors, history, orderlists, trading
from trader_sandbox.fixtures import exchange_info
from trader_sandbox.market import INTERVALS
from trader_sandbox.params import Params, integer, required
from trader_sandbox.state import Exchange

__all__ = ["ROUTES", "Route"]

Handler = Callable[[Exchange, Params], Any]


@dataclass(frozen=True)
class Route:
    """One endpoint: its handler, whether it needs a signature, and its weight (a number or a function)."""

    handler: Handler
    signed: bool
    weight: int | Callable[[Params], int]
    orders: int = 0  # new orders one request places (counted against the ORDERS rate limit)

    def cost(self, p: Params) -> int:
        """The request weight Binance charges for these parameters."""
        return self.weight(p) if callable(self.weight) else self.weight


def _exchange_info(ex: Exchange, p: Params) -> Any:
    info = exchange_info(ex.rules, ex.server_time(), ex.settings.order_limit_10s)
    wanted: list[str] = []
    if p.get("symbol"):
        wanted = [p["symbol"]]
    elif p.get("symbols"):
        try:
            wanted = list(json.loads(p["symbols"]))
        except ValueError as exc:
            raise errors.bad_param("symbols", "^\\[\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}\\]$") from exc
    if wanted:
        if any(s not in ex.rules for s in wanted):
            raise errors.ApiError(400, -1121, errors.INVALID_SYMBOL)
        info["symbols"] = [s for s in info["symbols"] if s["symbol"] in wanted]
    return info


def _ticker(ex: Exchange, p: Params) -> Any:
    if p.get("symbol"):
        r = trading.rules_for(ex.engine, p)
        return ex.markets[r.symbol].ticker(ex.market_time())
    return [m.ticker(ex.market_time()) for m in ex.markets.values()]


def _ticker_price(ex: Exchange, p: Params) -> Any:
    if p.get("symbol"):
        r = trading.rules_for(ex.engine, p)
        return {"symbol": r.symbol, "price": ex.markets[r.symbol].ticker(0)["lastPrice"]}
    return [{"symbol": n, "price": m.ticker(0)["lastPrice"]} for n, m in ex.markets.items()]


def _depth(ex: Exchange, p: Params) -> Any:
    r = trading.rules_for(ex.engine, p)
    limit = integer(p, "limit", 100) or 100
    return ex.markets[r.symbol].depth(max(1, min(limit, 5000)))


def _depth_weight(p: Params) -> int:
    limit = integer(p, "limit", 100) or 100
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


def _public_trades(aggregated: bool) -> Handler:
    def handler(ex: Exchange, p: Params) -> Any:
        r = trading.rules_for(ex.engine, p)
        limit = max(1, min(integer(p, "limit", 500) or 500, 1000))
        return ex.markets[r.symbol].public_trades(limit, aggregated)

    return handler


def _klines(ex: Exchange, p: Params) -> Any:
    r = trading.rules_for(ex.engine, p)
    interval = required(p, "interval")
    if interval not in INTERVALS:
        raise errors.ApiError(400, -1120, "Invalid interval.")
    limit = max(1, min(integer(p, "limit", 500) or 500, 1000))
    return ex.markets[r.symbol].klines(interval, integer(p, "startTime"), integer(p, "endTime"), limit)


def _account(ex: Exchange, p: Params) -> Any:
    balances = ex.accounts.snapshot()
    if p.get("omitZeroBalances") == "true":
        balances = [b for b in balances if Decimal(b["free"]) or Decimal(b["locked"])]
    rate = str(ex.engine.commission_rate)
    bps = int(ex.engine.commission_rate * 10_000)
    return {
        "makerCommission": bps, "takerCommission": bps, "buyerCommission": 0, "sellerCommission": 0,
        "commissionRates": {"maker": rate, "taker": rate, "buyer": "0.00000000", "seller": "0.00000000"},
        "canTrade": True, "canWithdraw": True, "canDeposit": True, "brokered": False,
        "requireSelfTradePrevention": False, "preventSor": False, "updateTime": ex.market_time(),
        "accountType": "SPOT", "balances": balances, "permissions": ["SPOT"], "uid": 1000001,
    }


def _api_restrictions(ex: Exchange, _p: Params) -> Any:
    """``GET /sapi/v1/account/apiRestrictions``: what the key may do (a trading key, withdrawals as configured;
    Binance lets a key withdraw only when it is restricted to trusted IPs)."""
    withdrawals = ex.settings.key_withdrawals
    return {
        "ipRestrict": withdrawals, "createTime": 1_700_000_000_000, "enableReading": True,
        "enableSpotAndMarginTrading": ex.settings.key_trading, "enableWithdrawals": withdrawals,
        "enableInternalTransfer": False, "enableMargin": False, "enableFutures": False,
        "permitsUniversalTransfer": False, "enableVanillaOptions": False, "enableFixApiTrade": False,
        "enableFixReadOnly": False, "enablePortfolioMarginTrading": False,
    }


def _get_order(ex: Exchange, p: Params) -> Any:
    return trading.query_order(ex.engine, p, errors.ApiError(400, -2013, errors.ORDER_NOT_EXIST)).query()


def _open_orders_weight(p: Params) -> int:
    return 6 if p.get("symbol") else 80


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/api/v3/ping"): Route(lambda _ex, _p: {}, False, 1),
    ("GET", "/api/v3/time"): Route(lambda ex, _p: {"serverTime": ex.server_time()}, False, 1),
    ("GET", "/api/v3/exchangeInfo"): Route(_exchange_info, False, 20),
    ("GET", "/api/v3/ticker/24hr"): Route(_ticker, False, lambda p: 2 if p.get("symbol") else 80),
    ("GET", "/api/v3/ticker/price"): Route(_ticker_price, False, lambda p: 2 if p.get("symbol") else 4),
    ("GET", "/api/v3/depth"): Route(_depth, False, _depth_weight),
    ("GET", "/api/v3/klines"): Route(_klines, False, 2),
    ("GET", "/api/v3/aggTrades"): Route(_public_trades(aggregated=True), False, 4),
    ("GET", "/api/v3/trades"): Route(_public_trades(aggregated=False), False, 25),
    ("GET", "/api/v3/account"): Route(_account, True, 20),
    ("GET", "/sapi/v1/account/apiRestrictions"): Route(_api_restrictions, True, 1),
    ("POST", "/api/v3/order"): Route(lambda ex, p: trading.new_order(ex.engine, p), True, 1, orders=1),
    ("POST", "/api/v3/order/test"): Route(lambda ex, p: trading.new_order(ex.engine, p, test=True), True, 1),
    ("GET", "/api/v3/order"): Route(_get_order, True, 4),
    ("DELETE", "/api/v3/order"): Route(lambda ex, p: trading.cancel_order(ex.engine, p), True, 1),
    ("GET", "/api/v3/openOrders"): Route(lambda ex, p: history.open_orders(ex.engine, p), True,
                                         _open_orders_weight),
    ("DELETE", "/api/v3/openOrders"): Route(lambda ex, p: trading.cancel_all(ex.engine, p), True, 1),
    ("GET", "/api/v3/allOrders"): Route(lambda ex, p: history.all_orders(ex.engine, p), True, 20),
    ("GET", "/api/v3/myTrades"): Route(lambda ex, p: history.my_trades(ex.engine, p), True, 20),
    ("POST", "/api/v3/orderList/oco"): Route(lambda ex, p: orderlists.new_oco(ex.engine, p), True, 1, orders=2),
    ("POST", "/api/v3/order/oco"): Route(lambda ex, p: orderlists.new_oco_legacy(ex.engine, p), True, 1, orders=2),
    ("GET", "/api/v3/orderList"): Route(lambda ex, p: orderlists.query_list(ex.engine, p), True, 4),
    ("DELETE", "/api/v3/orderList"): Route(lambda ex, p: orderlists.cancel_list(ex.engine, p), True, 1),
    ("GET", "/api/v3/openOrderList"): Route(lambda ex, _p: orderlists.open_lists(ex.engine), True, 6),
    ("GET", "/api/v3/allOrderList"): Route(lambda ex, _p: orderlists.open_lists(ex.engine, all_lists=True), True,
                                           20),
}
