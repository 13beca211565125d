"""The signed order endpoints on top of the engine: new order (and test), OCO lists, cancel, and queries."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from trader_sandbox import errors
from trader_sandbox.book import ZERO, Order, floor_to
from trader_sandbox.engine import STOP_TYPES, Engine, triggers_down
from trader_sandbox.fixtures import ORDER_TYPES, SymbolRules
from trader_sandbox.params import (
    Params,
    client_id,
    decimal,
    integer,
    new_client_id,
    not_required,
    optional_decimal,
    required,
)

__all__ = ["build_order", "cancel_all", "cancel_order", "new_order", "parse_side", "query_order", "rules_for"]

TIFS = ("GTC", "IOC", "FOK")
RESP_TYPES = ("ACK", "RESULT", "FULL")


def rules_for(engine: Engine, p: Params) -> SymbolRules:
    """The rules of the required ``symbol`` parameter (-1121 when unknown)."""
    r = engine.rules.get(required(p, "symbol"))
    if r is None:
        raise errors.ApiError(400, -1121, errors.INVALID_SYMBOL)
    return r


def parse_side(p: Params) -> str:
    side = required(p, "side")
    if side not in ("BUY", "SELL"):
        raise errors.ApiError(400, -1117, "Invalid side.")
    return side


def _tif(p: Params, key: str = "timeInForce") -> str:
    tif = required(p, key)
    if tif not in TIFS:
        raise errors.ApiError(400, -1115, "Invalid timeInForce.")
    return tif


def _positive(value: Decimal, what: str) -> Decimal:
    if value <= 0:
        raise errors.ApiError(400, -1013, f"Invalid {what}.")
    return value


def _check_type(r: SymbolRules, otype: str) -> None:
    """-1013 for a type missing from the symbol's ``orderTypes``, worded as Binance words it."""
    if otype not in r.order_types:
        kind = otype.replace("_LIMIT", "").replace("_", " ").capitalize()
        raise errors.ApiError(400, -1013, f"{kind} orders are not supported for this symbol.")


def _not_taken(p: Params, otype: str, key: Callable[[str], str], prefix: str) -> None:
    """-1106 for a parameter ``otype`` does not take (a MARKET with a stop price is refused, not run as a plain
    market order)."""
    if otype not in ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"):
        not_required(p, key("timeInForce"))
    if otype not in STOP_TYPES:
        not_required(p, key("stopPrice"))
    if otype != "MARKET" and not prefix:
        not_required(p, "quoteOrderQty")


def build_order(engine: Engine, r: SymbolRules, p: Params, *, side: str, otype: str, prefix: str = "",
                cid: str | None = None) -> Order:
    """Validate the parameters of one order (or one OCO leg, whose keys carry ``prefix``) into an Order."""

    def key(name: str) -> str:
        return prefix + name[0].upper() + name[1:] if prefix else name

    _check_type(r, otype)
    last = engine.markets[r.symbol].last
    price = stop = ZERO
    tif = "GTC"
    qty = optional_decimal(p, "quantity")
    quote_qty = ZERO
    _not_taken(p, otype, key, prefix)
    if otype in ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"):
        tif = _tif(p, key("timeInForce"))
    if otype in ("LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"):
        price = _positive(decimal(p, key("price")), "price")
        engine.check_price(r, price)
    else:
        not_required(p, key("price"))
    if otype in STOP_TYPES:
        stop = _positive(decimal(p, key("stopPrice")), "stopPrice")
        engine.check_price(r, stop)
    if otype == "MARKET":
        quote = optional_decimal(p, "quoteOrderQty")
        if (qty is None) == (quote is None):
            raise errors.ApiError(400, -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were "
                                              "empty/null!" if qty is None else
                                  "Parameter 'quoteOrderQty' sent when not required.")
        if quote is not None:
            quote_qty = _positive(quote, "quoteOrderQty")
            qty = floor_to(quote_qty / last, r.step)
            engine.check_notional(r, quote_qty, market=True)
    if qty is None:
        raise errors.mandatory("quantity")
    qty = _positive(qty, "quantity")
    engine.check_qty(r, qty, market=otype == "MARKET")
    engine.check_percent_price(r, side, price)
    ref_price = price if price else stop if stop else last
    engine.check_notional(r, qty * ref_price, market=otype in ("MARKET", "STOP_LOSS", "TAKE_PROFIT"))
    now = engine.clock()
    o = Order(r.symbol, 0, cid or new_client_id(), side, otype, tif, price, qty, stop, now,
              orig_quote_qty=quote_qty, update_time=now)
    if otype == "LIMIT_MAKER" and engine.marketable(o, last):
        raise errors.ApiError(400, -2010, errors.WOULD_TAKE)
    if otype in STOP_TYPES:
        down = triggers_down(o)
        if (last <= stop) if down else (last >= stop):
            raise errors.ApiError(400, -2010, errors.STOP_WOULD_TRIGGER)
    return o


def _reserve_single(engine: Engine, r: SymbolRules, o: Order) -> None:
    last = engine.markets[r.symbol].last
    if o.side == "SELL":
        engine.reserve([o], r.base, o.orig_qty, Decimal(1))
    elif o.type in ("STOP_LOSS", "TAKE_PROFIT"):
        return  # a market buy pays from free funds when it triggers
    elif o.type == "MARKET":
        if engine.accounts.free.get(r.quote, ZERO) < o.orig_qty * last:
            raise errors.ApiError(400, -2010, errors.INSUFFICIENT_BALANCE)
    else:
        engine.reserve([o], r.quote, o.orig_qty, o.price)


def _register(engine: Engine, o: Order) -> None:
    o.order_id = engine.new_order_id()
    engine.orders[o.order_id] = o


def _start(engine: Engine, o: Order) -> None:
    """Put a registered order to work: market fills, marketable limits take, stops wait."""
    last = engine.markets[o.symbol].last
    if o.type in STOP_TYPES:
        return
    o.working_time = o.time
    if o.time_in_force == "FOK" and engine.taken(o) < o.remaining:
        engine.finish(o, "EXPIRED")  # fill or kill: the touch cannot give all of it
    elif o.type == "MARKET" or (o.type == "LIMIT" and engine.marketable(o, last)):
        quantity = engine.taken(o)  # what the touch gives (all of it unless ``taker_depth`` is set)
        if quantity > 0:
            engine.fill(o, quantity, last, maker=False, at=o.time)  # the trade's time is the order's transactTime
        if o.remaining > 0 and o.is_open and (o.type == "MARKET" or o.time_in_force == "IOC"):
            engine.finish(o, "EXPIRED")  # a market or IOC order never rests; a GTC limit rests with the rest
    elif o.time_in_force in ("IOC", "FOK"):
        engine.finish(o, "EXPIRED")


def new_order(engine: Engine, p: Params, test: bool = False) -> dict[str, Any]:
    """``POST /api/v3/order`` (and ``/order/test``, which validates only and answers ``{}``)."""
    r = rules_for(engine, p)
    side = parse_side(p)
    otype = required(p, "type")
    if otype not in ORDER_TYPES:
        raise errors.ApiError(400, -1116, "Invalid orderType.")
    resp_type = p.get("newOrderRespType") or "FULL"
    if resp_type not in RESP_TYPES:
        raise errors.ApiError(400, -1116, "Invalid newOrderRespType.")
    cid = client_id(p, "newClientOrderId")
    o = build_order(engine, r, p, side=side, otype=otype, cid=cid)
    engine.check_duplicate(o.client_id)
    engine.check_counts(r, [o])
    if test:
        return {}
    _reserve_single(engine, r, o)
    _register(engine, o)
    _start(engine, o)
    return o.result(o.time, resp_type)


def query_order(engine: Engine, p: Params, missing: errors.ApiError) -> Order:
    """The order named by ``orderId`` or ``origClientOrderId``; ``missing`` when there is none."""
    r = rules_for(engine, p)
    order_id = integer(p, "orderId")
    cid = p.get("origClientOrderId") or None
    if order_id is None and cid is None:
        raise errors.ApiError(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were "
                                          "empty/null!")
    o = engine.find(r.symbol, order_id, cid)
    if o is None:
        raise missing
    return o


def cancel_order(engine: Engine, p: Params) -> dict[str, Any]:
    """``DELETE /api/v3/order``; cancelling an OCO leg cancels the whole list (Binance semantics)."""
    o = query_order(engine, p, errors.ApiError(400, -2011, errors.UNKNOWN_ORDER))
    if not o.is_open:
        raise errors.ApiError(400, -2011, errors.UNKNOWN_ORDER)
    new_id = client_id(p, "newClientOrderId") or new_client_id()
    legs = engine.lists[o.list_id].legs if o.list_id >= 0 else [o]
    for leg in legs:
        if leg.is_open:
            leg.cancel_client_id = new_id
            engine.finish(leg, "CANCELED")
    return o.canceled()


def cancel_all(engine: Engine, p: Params) -> list[dict[str, Any]]:
    """``DELETE /api/v3/openOrders``: every open order of the symbol; -2011 when there is none."""
    r = rules_for(engine, p)
    mine = engine.open_orders(r.symbol)
    if not mine:
        raise errors.ApiError(400, -2011, errors.UNKNOWN_ORDER)
    out: list[dict[str, Any]] = []
    done_lists: set[int] = set()
    for o in mine:
        if o.list_id >= 0:
            if o.list_id in done_lists:
                continue
            done_lists.add(o.list_id)
            olist = engine.lists[o.list_id]
            reports = []
            for leg in olist.legs:
                if leg.is_open:
                    leg.cancel_client_id = new_client_id()
                    engine.finish(leg, "CANCELED")
                reports.append(leg.canceled())
            out.append(olist.shape(engine.clock(), reports))
            continue
        o.cancel_client_id = new_client_id()
        engine.finish(o, "CANCELED")
        out.append(o.canceled())
    return out
