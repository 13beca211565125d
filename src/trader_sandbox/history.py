"""Order and trade history queries: ``allOrders`` and ``myTrades`` with Binance's paging rules."""

from __future__ import annotations

from typing import Any

from trader_sandbox import errors
from trader_sandbox.engine import Engine
from trader_sandbox.params import Params, integer
from trader_sandbox.trading import rules_for

__all__ = ["all_orders", "my_trades", "open_orders"]

DAY_MS = 86_400_000


def _limit(p: Params) -> int:
    limit = integer(p, "limit", 500) or 500
    return max(1, min(limit, 1000))


def _window(p: Params) -> tuple[int | None, int | None]:
    start, end = integer(p, "startTime"), integer(p, "endTime")
    if start is not None and end is not None and end - start > DAY_MS:
        raise errors.ApiError(400, -1127, "More than 24 hours between startTime and endTime.")
    return start, end


def open_orders(engine: Engine, p: Params) -> list[dict[str, Any]]:
    """``GET /api/v3/openOrders``: the symbol's open orders, or all of them without ``symbol``."""
    symbol = rules_for(engine, p).symbol if p.get("symbol") else None
    return [o.query() for o in engine.open_orders(symbol)]


def all_orders(engine: Engine, p: Params) -> list[dict[str, Any]]:
    """``GET /api/v3/allOrders``: from ``orderId`` (inclusive) or within the time window, oldest first;
    without either, the newest ``limit`` orders."""
    r = rules_for(engine, p)
    order_id = integer(p, "orderId")
    start, end = integer(p, "startTime"), integer(p, "endTime")
    rows = [o for o in engine.orders.values() if o.symbol == r.symbol]
    rows.sort(key=lambda o: o.order_id)
    if order_id is not None:
        rows = [o for o in rows if o.order_id >= order_id]
    if start is not None:
        rows = [o for o in rows if o.time >= start]
    if end is not None:
        rows = [o for o in rows if o.time <= end]
    limit = _limit(p)
    rows = rows[:limit] if order_id is not None or start is not None else rows[-limit:]
    return [o.query() for o in rows]


def my_trades(engine: Engine, p: Params) -> list[dict[str, Any]]:
    """``GET /api/v3/myTrades``: ``fromId`` (inclusive) or a time window of at most 24 h, oldest first;
    without either, the newest ``limit`` trades. ``orderId`` narrows to one order."""
    r = rules_for(engine, p)
    from_id = integer(p, "fromId")
    start, end = _window(p)
    if from_id is not None and (start is not None or end is not None):
        raise errors.ApiError(400, -1128, "Combination of optional parameters invalid.")
    order_id = integer(p, "orderId")
    rows = [t for t in engine.trades if t.symbol == r.symbol]
    if order_id is not None:
        rows = [t for t in rows if t.order_id == order_id]
    if from_id is not None:
        rows = [t for t in rows if t.trade_id >= from_id]
    if start is not None:
        rows = [t for t in rows if t.time >= start]
    if end is not None:
        rows = [t for t in rows if t.time <= end]
    limit = _limit(p)
    rows = rows[:limit] if from_id is not None or start is not None else rows[-limit:]
    return [t.my_trade() for t in rows]
