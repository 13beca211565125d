"""Pure construction of what the adapter sends: ccxt ``create_order`` arguments and Binance OCO lists.

Prices and quantities go out as plain decimal text made from the core's ``Decimal`` values. An order
whose price is off the tick or whose quantity is off the step is refused here, before anything is
sent: ccxt would silently truncate the quantity and round the price, so the venue would hold an
order that differs from the one the bot recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import attrs

from trader_adapters.ccxt.translate import format_decimal
from trader_core.model.errors import OrderRejectedError
from trader_core.model.instrument import InstrumentRules
from trader_core.model.numbers import ZERO
from trader_core.model.orders import ExitBracket, OrderRequest, OrderType, Side

__all__ = ["CreateArgs", "check_grid", "create_args", "describe", "oco_request", "stop_limit_price"]


@attrs.frozen(kw_only=True)
class CreateArgs:
    """Arguments for ``ccxt.create_order(symbol, type, side, amount, price, params)``."""

    symbol: str
    type: str
    side: str
    amount: str
    price: str | None
    params: dict[str, Any]


def describe(request: OrderRequest) -> str:
    """A short text naming an order in messages: ``place BTC/USDT buy limit c-1``."""
    return f"place {request.symbol} {request.side.value} {request.order_type.value} {request.client_order_id}"


def _off_grid(value: Decimal, unit: Decimal) -> bool:
    return unit > ZERO and value % unit != ZERO


def check_grid(what: str, rules: InstrumentRules, quantity: Decimal, *prices: Decimal | None) -> None:
    """Refuse a quantity off the step or a price off the tick (``OrderRejectedError``, nothing sent)."""
    for price in prices:
        if price is not None and _off_grid(price, rules.tick_size):
            raise OrderRejectedError(f"{what}: rejected: price {price} is not a multiple of the tick {rules.tick_size}")
    if _off_grid(quantity, rules.step_size):
        raise OrderRejectedError(
            f"{what}: rejected: quantity {quantity} is not a multiple of the step {rules.step_size}"
        )


def stop_limit_price(
    order_types: Sequence[str] | None, side: Side, stop: Decimal, offset: Decimal, rules: InstrumentRules
) -> Decimal | None:
    """The limit price of a protective stop, or None when the symbol takes a market stop.

    A symbol whose ``orderTypes`` lists STOP_LOSS (or a venue that lists none) gets Binance's STOP_LOSS
    (market on trigger). Where only STOP_LOSS_LIMIT is offered, the stop becomes a limit ``offset`` (a
    fraction) beyond the trigger, on the tick grid: below it for a sell, above it for a buy. A gap through
    that limit leaves the order resting unfilled: the documented price of a symbol without market stops.
    """
    types = {str(t).upper() for t in order_types or ()}
    if not types or "STOP_LOSS" in types:
        return None
    if "STOP_LOSS_LIMIT" not in types:
        raise OrderRejectedError(f"rejected: the symbol offers no stop order type ({', '.join(sorted(types))})")
    raw = stop * (1 - offset) if side is Side.SELL else stop * (1 + offset)
    tick = rules.tick_size
    if tick <= ZERO:
        return raw
    rounding = ROUND_FLOOR if side is Side.SELL else ROUND_CEILING
    return max(tick, (raw / tick).to_integral_value(rounding) * tick)


def create_args(request: OrderRequest, rules: InstrumentRules, stop_limit: Decimal | None = None) -> CreateArgs:
    """The ccxt call for ``request``.

    * MARKET: ``type='market'`` with ``price=None`` (a price would make Binance spend quote, not base).
    * LIMIT: ``type='limit'``; ``post_only`` adds ``postOnly`` (Binance: LIMIT_MAKER).
    * STOP_LOSS: ``type='market'`` with ``stopLossPrice`` (Binance: STOP_LOSS, a market order on trigger),
      or with ``stop_limit`` ``type='limit'`` at that price (Binance: STOP_LOSS_LIMIT).
    * TAKE_PROFIT: a plain limit at ``price``: the core's take-profit rests as a limit (Binance's own
      TAKE_PROFIT is a market order on trigger, which is not the same thing).
    The client order id goes in ccxt's unified ``clientOrderId`` (Binance: ``newClientOrderId``).
    """
    price = None if request.price is None else request.price.value
    stop = None if request.stop_price is None else request.stop_price.value
    check_grid(describe(request), rules, request.quantity.value, price, stop)
    params: dict[str, Any] = {"clientOrderId": str(request.client_order_id)}
    order_type = "market"
    if request.order_type in (OrderType.LIMIT, OrderType.TAKE_PROFIT):
        order_type = "limit"
        if request.post_only:
            params["postOnly"] = True
    elif request.order_type is OrderType.STOP_LOSS and stop is not None:
        params["stopLossPrice"] = format_decimal(stop)
        if stop_limit is not None:
            order_type, price = "limit", stop_limit
    return CreateArgs(
        symbol=str(request.symbol),
        type=order_type,
        side=request.side.value,
        amount=format_decimal(request.quantity.value),
        price=None if price is None else format_decimal(price),
        params=params,
    )


def oco_request(
    bracket: ExitBracket, market_id: str, rules: InstrumentRules, stop_limit: Decimal | None = None
) -> dict[str, str]:
    """The body of Binance's ``POST /api/v3/orderList/oco`` for ``bracket``.

    The target is a LIMIT_MAKER leg and the stop a STOP_LOSS leg (STOP_LOSS_LIMIT at ``stop_limit`` when
    given). For a SELL exit the target is the
    'above' leg and the stop the 'below' one; a BUY exit mirrors it. ``listClientOrderId`` is the stop's
    client id (36 characters at most, like every Binance client id).
    """
    what = f"place {bracket.symbol} {bracket.side.value} exit bracket {bracket.stop_client_order_id}"
    check_grid(what, rules, bracket.quantity.value, bracket.stop_price.value, bracket.target_price.value)
    target = {
        "Type": "LIMIT_MAKER",
        "ClientOrderId": str(bracket.target_client_order_id),
        "Price": format_decimal(bracket.target_price.value),
    }
    stop = {
        "Type": "STOP_LOSS",
        "ClientOrderId": str(bracket.stop_client_order_id),
        "StopPrice": format_decimal(bracket.stop_price.value),
    }
    if stop_limit is not None:
        stop.update(Type="STOP_LOSS_LIMIT", Price=format_decimal(stop_limit), TimeInForce="GTC")
    above, below = (target, stop) if bracket.side is Side.SELL else (stop, target)
    body = {
        "symbol": market_id,
        "side": bracket.side.value.upper(),
        "quantity": format_decimal(bracket.quantity.value),
        "listClientOrderId": str(bracket.stop_client_order_id),
        "newOrderRespType": "FULL",
    }
    body.update({f"above{key}": value for key, value in above.items()})
    body.update({f"below{key}": value for key, value in below.items()})
    return body
