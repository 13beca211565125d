"""Gemini's order endpoints over the shared engine: ``/v1/order/new`` (``exchange limit`` and ``exchange stop
limit``, ``client_order_id``, ``options``), ``/v1/order/status``, ``/v1/order/cancel``, ``/v1/orders``,
``/v1/mytrades`` and ``/v1/balances``, answering in Gemini's shapes.

In engine terms an ``exchange limit`` is a LIMIT and an ``exchange stop limit`` a STOP_LOSS_LIMIT (a sell
triggers as the price falls to its stop, a buy as it rises); the order's option is kept in its time in force.
Gemini has no market orders and no minimum notional; a buy reserves its commission (charged in the quote
asset) on top of its notional.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from trader_sandbox.book import ZERO, Order, Trade
from trader_sandbox.engine import Engine, triggers_down
from trader_sandbox.fixtures import SymbolRules
from trader_sandbox.gemini.errors import GeminiError, insufficient_funds, invalid_symbol, order_not_found

__all__ = ["balances", "cancel", "my_trades", "new_order", "number", "open_orders", "order_json", "rules_of",
           "status"]

TYPES = {"exchange limit": "LIMIT", "exchange stop limit": "STOP_LOSS_LIMIT"}
OPTIONS = ("maker-or-cancel", "immediate-or-cancel", "fill-or-kill")
UNSUPPORTED_OPTIONS = ("auction-only", "indication-of-interest")
MAX_CLIENT_ID = 100
MAX_TRADES = 500


def number(value: Decimal) -> str:
    """Gemini's plain number text (``2800``, ``0.014434``)."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def rules_of(engine: Engine, symbol: object) -> SymbolRules:
    """The rules of a Gemini symbol (``btcusdt``, any case); ``InvalidSymbol`` otherwise."""
    rules = engine.rules.get(str(symbol).upper()) if isinstance(symbol, str) else None
    if rules is None:
        raise invalid_symbol(symbol)
    return rules


def _decimal(payload: dict[str, Any], key: str, reason: str) -> Decimal:
    raw = payload.get(key)
    try:
        value = Decimal(str(raw)) if isinstance(raw, (str, int, float)) and not isinstance(raw, bool) else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value <= 0:
        raise GeminiError(400, reason, f"Invalid {key} for order: {raw!r}")
    return value


def _client_id(payload: dict[str, Any]) -> str:
    cid = payload.get("client_order_id")
    if cid is None:
        return ""
    if not isinstance(cid, str):
        raise GeminiError(400, "ClientOrderIdMustBeString", "The Client Order ID must be a string")
    if len(cid) >= MAX_CLIENT_ID:
        raise GeminiError(400, "ClientOrderIdTooLong", "The Client Order ID must be under 100 characters")
    return cid


def _option(payload: dict[str, Any], stop: bool) -> str:
    options = payload.get("options", [])
    if not isinstance(options, list):
        raise GeminiError(400, "OptionsMustBeArray", "The options parameter must be an array")
    if len(options) > 1:
        raise GeminiError(400, "ConflictingOptions", "A combination of order execution options is not supported")
    if not options:
        return "GTC"
    option = options[0]
    if option in UNSUPPORTED_OPTIONS or option not in OPTIONS or stop:
        raise GeminiError(400, "UnsupportedOption", f"Option {option!r} is not supported for this order")
    return str(option)


def _check_grid(r: SymbolRules, price: Decimal, amount: Decimal) -> None:
    if price % r.tick != 0 or price < r.min_price or price > r.max_price:
        raise GeminiError(400, "InvalidPrice", f"Invalid price {number(price)}: the increment is {number(r.tick)}")
    if amount < r.min_qty or amount % r.step != 0 or amount > r.max_qty:
        raise GeminiError(400, "InvalidQuantity", f"Invalid quantity {number(amount)}: the minimum is "
                                                  f"{number(r.min_qty)} in steps of {number(r.step)}")


def new_order(engine: Engine, payload: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/order/new``."""
    r = rules_of(engine, payload.get("symbol"))
    cid = _client_id(payload)
    side = payload.get("side")
    if side not in ("buy", "sell"):
        raise GeminiError(400, "InvalidSide", f"Invalid side for order: {side!r}")
    otype = TYPES.get(str(payload.get("type")))
    if otype is None:
        raise GeminiError(400, "InvalidOrderType", f"Invalid order type for symbol {r.symbol}: "
                                                   f"{payload.get('type')!r}")
    amount = _decimal(payload, "amount", "InvalidQuantity")
    price = _decimal(payload, "price", "InvalidPrice")
    option = _option(payload, stop=otype != "LIMIT")
    _check_grid(r, price, amount)
    stop = ZERO
    if otype != "LIMIT":
        stop = _decimal(payload, "stop_price", "InvalidStopPrice")
        _check_grid(r, stop, amount)
        if (side == "sell" and stop < price) or (side == "buy" and stop > price):
            raise GeminiError(400, "InvalidStopPrice", "A sell stop price must be at or above its limit price, "
                                                       "a buy stop price at or below it")
    now = engine.clock()
    o = Order(r.symbol, 0, cid, side.upper(), otype, option, price, amount, stop, now, update_time=now)
    _reserve(engine, r, o)
    o.order_id = engine.new_order_id()
    engine.orders[o.order_id] = o
    _start(engine, o)
    return order_json(o)


def _reserve(engine: Engine, r: SymbolRules, o: Order) -> None:
    if o.side == "SELL":
        asset, per_unit = r.base, Decimal(1)
    else:
        asset, per_unit = r.quote, o.price * (1 + engine.commission_rate)
    if engine.accounts.free.get(asset, ZERO) < o.orig_qty * per_unit:
        raise insufficient_funds(asset)
    engine.reserve([o], asset, o.orig_qty, per_unit)


def _start(engine: Engine, o: Order) -> None:
    """Put a new order to work: a stop waits (or triggers now when the price is already past it); a limit takes
    what it crosses unless it is maker-or-cancel; IOC and FOK never rest."""
    last = engine.markets[o.symbol].last
    if o.type == "STOP_LOSS_LIMIT":
        if (last <= o.stop_price) if triggers_down(o) else (last >= o.stop_price):
            engine.advance(o.symbol, [last])  # triggers it at once, as the next trade would
        return
    o.working_time = o.time
    marketable = engine.marketable(o, last)
    if o.time_in_force == "maker-or-cancel" and marketable:
        o.reason = "MakerOrCancelWouldTake"
        engine.finish(o, "CANCELED")
    elif o.time_in_force == "fill-or-kill" and marketable and engine.taken(o) < o.remaining:
        o.reason = "FillOrKillWouldNotFill"
        engine.finish(o, "CANCELED")
    elif marketable:
        quantity = engine.taken(o)  # what the touch gives (all of it unless ``taker_depth`` is set)
        if quantity > 0:
            engine.fill(o, quantity, last, maker=False)
        if o.time_in_force == "immediate-or-cancel" and o.remaining > 0 and o.is_open:
            o.reason = "ImmediateOrCancelWouldPost"  # the rest is cancelled; a plain limit rests with it
            engine.finish(o, "CANCELED")
    elif o.time_in_force in ("immediate-or-cancel", "fill-or-kill"):
        ioc = o.time_in_force == "immediate-or-cancel"
        o.reason = "ImmediateOrCancelWouldPost" if ioc else "FillOrKillWouldNotFill"
        engine.finish(o, "CANCELED")


def order_json(o: Order) -> dict[str, Any]:
    """An order as Gemini answers it (new, status, cancel and the active-orders list)."""
    cancelled = o.status in ("CANCELED", "EXPIRED")
    average = o.cum_quote / o.executed_qty if o.executed_qty else ZERO
    body: dict[str, Any] = {
        "order_id": str(o.order_id), "id": str(o.order_id), "symbol": o.symbol.lower(), "exchange": "gemini",
        "avg_execution_price": number(average), "side": o.side.lower(),
        "type": "exchange limit" if o.type == "LIMIT" else "exchange stop limit",
        "timestamp": str(o.time // 1000), "timestampms": o.time, "is_live": o.is_open, "is_cancelled": cancelled,
        "is_hidden": False, "was_forced": False, "executed_amount": number(o.executed_qty),
        "options": [] if o.time_in_force == "GTC" else [o.time_in_force], "price": number(o.price),
        "original_amount": number(o.orig_qty), "remaining_amount": number(o.remaining),
    }
    if o.client_id:
        body["client_order_id"] = o.client_id
    if o.stop_price:
        body["stop_price"] = number(o.stop_price)
    if cancelled:
        body["reason"] = o.reason or "Requested"
    return body


def _given(payload: dict[str, Any], key: str) -> Any:
    value = payload.get(key)
    return None if value in (None, "") else value


def _find(engine: Engine, payload: dict[str, Any]) -> Order:
    order_id, cid = _given(payload, "order_id"), _given(payload, "client_order_id")
    if order_id is None and cid is None:
        raise GeminiError(400, "MissingOrderField", "The order_id or client_order_id field is required")
    if order_id is not None:
        try:
            found = engine.orders.get(int(str(order_id)))
        except ValueError:
            found = None
        if found is None:
            raise order_not_found(order_id)
        return found
    matches = [o for o in engine.orders.values() if o.client_id == cid]
    if not matches:
        raise order_not_found(cid)
    return matches[-1]  # the newest order carrying that client id


def status(engine: Engine, payload: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/order/status`` by ``order_id`` or ``client_order_id`` (the newest with that id), never both:
    Gemini's API says "order_id cannot be used in combination with client_order_id" (a key sent as null
    counts: a client that sends ``"order_id": null`` beside a client id is refused, not read generously)."""
    if "order_id" in payload and "client_order_id" in payload:
        raise GeminiError(400, "InvalidParameter", "order_id cannot be used in combination with client_order_id")
    return order_json(_find(engine, payload))


def cancel(engine: Engine, payload: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/order/cancel`` by ``order_id``; an order no longer open is not found."""
    if _given(payload, "order_id") is None:
        raise GeminiError(400, "MissingOrderField", "The order_id field is required")
    o = _find(engine, {"order_id": payload["order_id"]})
    if not o.is_open:
        raise order_not_found(payload["order_id"])
    o.reason = "Requested"
    engine.finish(o, "CANCELED")
    return order_json(o)


def open_orders(engine: Engine) -> list[dict[str, Any]]:
    """``POST /v1/orders``: every live order of the account, all symbols."""
    return [order_json(o) for o in engine.open_orders(None)]


def _trade_json(engine: Engine, t: Trade) -> dict[str, Any]:
    order = engine.orders.get(t.order_id)
    body: dict[str, Any] = {
        "price": number(t.price), "amount": number(t.qty), "timestamp": t.time // 1000, "timestampms": t.time,
        "type": "Buy" if t.is_buyer else "Sell", "aggressor": not t.is_maker, "fee_currency": t.commission_asset,
        "fee_amount": number(t.commission), "tid": t.trade_id, "order_id": str(t.order_id), "exchange": "gemini",
        "is_auction_fill": False, "is_clearing_fill": False, "symbol": t.symbol,
    }
    if order is not None and order.client_id:
        body["client_order_id"] = order.client_id
    return body


def my_trades(engine: Engine, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """``POST /v1/mytrades``: the symbol's trades at or after ``timestamp`` (seconds, or ms), the oldest
    ``limit_trades`` of them (default 50, at most 500) when a timestamp is given, else the newest; newest first."""
    r = rules_of(engine, payload.get("symbol"))
    try:
        limit = max(1, min(int(str(payload.get("limit_trades", 50))), MAX_TRADES))
        since = _given(payload, "timestamp")
        since_ms = None if since is None else int(str(since))
    except ValueError as exc:
        raise GeminiError(400, "InvalidTimestampInPayload", "timestamp and limit_trades must be integers") from exc
    if since_ms is not None and since_ms < 10**11:
        since_ms *= 1000
    trades = [t for t in engine.trades if t.symbol == r.symbol and (since_ms is None or t.time >= since_ms)]
    chosen = trades[:limit] if since_ms is not None else trades[-limit:]
    return [_trade_json(engine, t) for t in reversed(chosen)]


def balances(engine: Engine) -> list[dict[str, Any]]:
    """``POST /v1/balances``: each currency of the exchange account (total and available)."""
    accounts = engine.accounts
    out = []
    for asset in sorted(set(accounts.free) | set(accounts.locked)):
        free, locked = accounts.free.get(asset, ZERO), accounts.locked.get(asset, ZERO)
        out.append({"type": "exchange", "currency": asset, "amount": number(free + locked),
                    "available": number(free), "availableForWithdrawal": number(free)})
    return out
