"""What differs per venue in what the adapter sends, as pure functions over the Binance-shaped request.

* **Gemini** has limit orders only. A market order goes out as an immediate-or-cancel limit at a protective
  price ``market_slippage`` beyond the best ask (buy) or bid (sell), on the tick; a protective stop as an
  ``exchange stop limit`` (``stopPrice``) whose limit sits ``stop_limit_offset`` beyond the trigger. An order
  is found by ``client_order_id`` on ``/v1/order/status`` and cancelled by the venue order id.
* **Kraken** carries the bot's id as the integer ``userref`` (``venues.to_venue_client_id``).
* **Coinbase** gets ``client_order_id`` itself on create (ccxt drops a unified ``clientOrderId`` for its own).
* **Bybit** is asked by ``orderLinkId`` itself on cancel and lookup (ccxt forwards ``clientOrderId`` verbatim).
* Every other venue takes ccxt's unified ``clientOrderId``.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import attrs

from trader_adapters.ccxt.requests import CreateArgs, stop_limit_price
from trader_adapters.ccxt.translate import format_decimal
from trader_core.model.instrument import InstrumentRules
from trader_core.model.numbers import ZERO
from trader_core.model.orders import OrderRequest, OrderType, Side

__all__ = [
    "CANCEL_BY_VENUE_ID",
    "DEFAULT_MARKET_SLIPPAGE",
    "LOOKUP_BY_ONE_ID",
    "client_id_params",
    "completed_ack",
    "needs_book",
    "refused_on_arrival",
    "shape_create",
]

DEFAULT_MARKET_SLIPPAGE = Decimal("0.02")  # a Gemini "market" order's limit: 2 % beyond the touch
_LIMIT_ONLY = frozenset({"gemini"})
CANCEL_BY_VENUE_ID = frozenset({"gemini"})  # venues whose cancel takes the venue's order id only
LOOKUP_BY_ONE_ID = frozenset({"gemini"})  # venues whose order lookup takes one id: the venue's or the client's


def needs_book(exchange_id: str, request: OrderRequest) -> bool:
    """Whether shaping ``request`` for the venue needs the current best bid and ask (a market order on a
    venue that takes limit orders only)."""
    return exchange_id in _LIMIT_ONLY and request.order_type is OrderType.MARKET


def _on_tick(value: Decimal, tick: Decimal, rounding: str) -> Decimal:
    if tick <= ZERO:
        return value
    return max(tick, (value / tick).to_integral_value(rounding) * tick)


def shape_create(
    exchange_id: str,
    request: OrderRequest,
    args: CreateArgs,
    rules: InstrumentRules,
    *,
    touch: tuple[Decimal, Decimal] | None = None,
    stop_limit_offset: Decimal,
    market_slippage: Decimal = DEFAULT_MARKET_SLIPPAGE,
) -> CreateArgs:
    """``args`` (built for Binance by ``requests.create_args``) in the form ``exchange_id`` takes.
    ``touch`` is (best bid, best ask), required where :func:`needs_book` says so."""
    if exchange_id not in _LIMIT_ONLY:
        return args
    params = {k: v for k, v in args.params.items() if k != "stopLossPrice"}
    if request.order_type is OrderType.MARKET:
        if touch is None:
            raise ValueError("a market order on a limit-only venue needs the best bid and ask")
        bid, ask = touch
        if request.side is Side.BUY:
            price = _on_tick(ask * (1 + market_slippage), rules.tick_size, ROUND_CEILING)
        else:
            price = _on_tick(bid * (1 - market_slippage), rules.tick_size, ROUND_FLOOR)
        return attrs.evolve(args, type="limit", price=format_decimal(price),
                            params={**params, "timeInForce": "IOC"})
    if request.order_type is OrderType.STOP_LOSS and request.stop_price is not None:
        stop = request.stop_price.value
        limit = stop_limit_price(("STOP_LOSS_LIMIT",), request.side, stop, stop_limit_offset, rules)
        return attrs.evolve(args, type="limit", price=format_decimal(limit if limit is not None else stop),
                            params={**params, "stopPrice": format_decimal(stop)})
    return attrs.evolve(args, params=params)


def client_id_params(exchange_id: str, venue_form: str, *, lookup: bool) -> dict[str, Any]:
    """The parameters naming an order by the bot's client id (``venue_form`` is its venue form): on create
    (``lookup`` False), or on fetch and cancel (``lookup`` True)."""
    if exchange_id == "kraken":
        return {"userref": int(venue_form)}
    if exchange_id == "gemini" and lookup:
        return {"client_order_id": venue_form}
    if exchange_id == "coinbase" and not lookup:
        return {"client_order_id": venue_form}  # overrides the id ccxt's coinbase would make up for the order
    if exchange_id == "bybit" and lookup:
        return {"orderLinkId": venue_form}  # ccxt's bybit passes a unified clientOrderId on as a key Bybit ignores
    return {"clientOrderId": venue_form}


def completed_ack(raw: Any, request: OrderRequest, args: CreateArgs) -> Any:
    """A create answer that names the order but not its terms or state (OKX and Bybit acknowledge with ids
    only, Kraken with ids and a description), completed from what was sent: the venue accepted exactly that
    order, so it is open and unfilled until a read says otherwise. Keys the venue did give are kept."""
    if not isinstance(raw, dict) or not raw.get("id") or None not in (raw.get("amount"), raw.get("status")):
        return raw
    sent = {"symbol": args.symbol, "side": args.side, "amount": args.amount, "price": args.price,
            "type": args.type, "status": "open", "filled": "0"}
    if request.order_type is OrderType.STOP_LOSS and request.stop_price is not None:
        sent["triggerPrice"] = format_decimal(request.stop_price.value)
    return {**raw, **{key: value for key, value in sent.items() if raw.get(key) is None}}


def refused_on_arrival(exchange_id: str, raw: Any) -> str | None:
    """Why a create the venue answered with an order it closed at once was in fact a refusal (Gemini ends a
    maker-or-cancel order that would take with reason ``MakerOrCancelWouldTake``), else None."""
    info = raw.get("info") if isinstance(raw, dict) else None
    if exchange_id != "gemini" or not isinstance(info, dict) or not info.get("is_cancelled"):
        return None
    if info.get("reason") == "MakerOrCancelWouldTake":
        return "post-only order would take liquidity"
    return None
