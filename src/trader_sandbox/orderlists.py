"""OCO order lists (``POST /api/v3/orderList/oco`` and the older ``/api/v3/order/oco``) and their queries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from trader_sandbox import errors
from trader_sandbox.book import Order, OrderList
from trader_sandbox.engine import STOP_TYPES, Engine
from trader_sandbox.params import Params, client_id, integer, new_client_id, required
from trader_sandbox.trading import build_order, parse_side, rules_for

__all__ = ["cancel_list", "new_oco", "new_oco_legacy", "open_lists", "query_list"]

# Which leg types may sit above and below the market, per side.
_ABOVE = {"SELL": ("LIMIT_MAKER", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"), "BUY": ("STOP_LOSS", "STOP_LOSS_LIMIT")}
_BELOW = {"SELL": ("STOP_LOSS", "STOP_LOSS_LIMIT"), "BUY": ("LIMIT_MAKER", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")}


def new_oco(engine: Engine, p: Params) -> dict[str, Any]:
    """``POST /api/v3/orderList/oco``: an ``above`` and a ``below`` leg sharing one lock."""
    r = rules_for(engine, p)
    side = parse_side(p)
    legs: list[Order] = []
    for prefix, allowed in (("above", _ABOVE[side]), ("below", _BELOW[side])):
        otype = required(p, prefix + "Type")
        if otype not in allowed:
            raise errors.ApiError(400, -1116, "Invalid orderType.")
        cid = client_id(p, prefix + "ClientOrderId")
        legs.append(build_order(engine, r, p, side=side, otype=otype, prefix=prefix, cid=cid))
    list_cid = client_id(p, "listClientOrderId") or new_client_id()
    if any(o.client_id == list_cid and o.is_open for o in engine.orders.values()) or any(
            ol.client_id == list_cid and ol.order_status == "EXECUTING" for ol in engine.lists.values()):
        raise errors.ApiError(400, -2010, errors.DUPLICATE_ORDER)
    for leg in legs:
        engine.check_duplicate(leg.client_id)
    engine.check_counts(r, legs)
    qty = legs[0].orig_qty
    if side == "SELL":
        engine.reserve(legs, r.base, qty, Decimal(1))
    else:
        engine.reserve(legs, r.quote, qty, max(leg.price or leg.stop_price for leg in legs))
    olist = OrderList(engine.new_list_id(), list_cid, r.symbol, legs, engine.clock())
    engine.lists[olist.list_id] = olist
    for leg in legs:
        leg.order_id = engine.new_order_id()
        leg.list_id = olist.list_id
        engine.orders[leg.order_id] = leg
        if leg.type not in STOP_TYPES:
            leg.working_time = leg.time
    return olist.shape(olist.time, [leg.result(olist.time, "RESULT") for leg in legs])


def new_oco_legacy(engine: Engine, p: Params) -> dict[str, Any]:
    """``POST /api/v3/order/oco`` (deprecated by Binance): a LIMIT_MAKER leg at ``price`` and a stop leg at
    ``stopPrice`` (STOP_LOSS_LIMIT when ``stopLimitPrice`` is sent), mapped onto the above/below form."""
    side = parse_side(p)
    limit = {"Type": "LIMIT_MAKER", "Price": p.get("price", ""), "ClientOrderId": p.get("limitClientOrderId")}
    stop: dict[str, str | None] = {"StopPrice": p.get("stopPrice", ""), "ClientOrderId": p.get("stopClientOrderId")}
    if p.get("stopLimitPrice"):
        stop.update(Type="STOP_LOSS_LIMIT", Price=p["stopLimitPrice"],
                    TimeInForce=p.get("stopLimitTimeInForce") or "GTC")
    else:
        stop["Type"] = "STOP_LOSS"
    above, below = (limit, stop) if side == "SELL" else (stop, limit)
    q: Params = {k: v for k, v in p.items() if k in ("symbol", "side", "quantity", "listClientOrderId")}
    for prefix, leg in (("above", above), ("below", below)):
        for k, v in leg.items():
            if v is not None:
                q[prefix + k] = v
    return new_oco(engine, q)


def _find_list(engine: Engine, p: Params, missing: errors.ApiError) -> OrderList:
    list_id = integer(p, "orderListId")
    cid = p.get("listClientOrderId") or p.get("origClientOrderId")
    if list_id is None and not cid:
        raise errors.ApiError(400, -1102, "Param 'listClientOrderId' or 'orderListId' must be sent, but both were "
                                          "empty/null!")
    found = [ol for ol in engine.lists.values()
             if (ol.list_id == list_id if list_id is not None else ol.client_id == cid)]
    if not found:
        raise missing
    return found[-1]


def query_list(engine: Engine, p: Params) -> dict[str, Any]:
    """``GET /api/v3/orderList``."""
    olist = _find_list(engine, p, errors.ApiError(400, -2013, errors.UNKNOWN_ORDER_LIST))
    return olist.shape(olist.time, None)


def cancel_list(engine: Engine, p: Params) -> dict[str, Any]:
    """``DELETE /api/v3/orderList``: cancels both legs."""
    rules_for(engine, p)
    olist = _find_list(engine, p, errors.ApiError(400, -2011, "Unknown order list sent."))
    if olist.order_status != "EXECUTING":
        raise errors.ApiError(400, -2011, "Unknown order list sent.")
    new_id = client_id(p, "newClientOrderId") or new_client_id()
    for leg in olist.legs:
        if leg.is_open:
            leg.cancel_client_id = new_id
            engine.finish(leg, "CANCELED")
    return olist.shape(engine.clock(), [leg.canceled() for leg in olist.legs])


def open_lists(engine: Engine, all_lists: bool = False) -> list[dict[str, Any]]:
    """``GET /api/v3/openOrderList`` (or ``allOrderList``)."""
    return [ol.shape(ol.time, None) for ol in engine.lists.values()
            if all_lists or ol.order_status == "EXECUTING"]
