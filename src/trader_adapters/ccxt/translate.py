"""Pure translation of ccxt's unified dicts into the core's orders, fills and balances (market data is in
``marketdata``), and the number and time conversions both use.

Everything numeric leaves ccxt as a float (or a numeric string) and enters the core as a ``Decimal``
built from its shortest text form, ``Decimal(str(x))``. Anything missing, non-finite, negative where
it must not be, or inconsistent raises ``InvalidDataError`` naming what and where: the venue sent
something we will not act on. Nothing here does I/O, so the unit tests feed recorded dicts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from trader_core.model.errors import InvalidDataError, InvalidValueError
from trader_core.model.ids import Asset, ClientOrderId, Symbol, TradeId, VenueOrderId
from trader_core.model.money import Money, Price, Quantity
from trader_core.model.numbers import ZERO
from trader_core.model.orders import Balance, Fill, Liquidity, Order, OrderStatus, OrderType, Side

__all__ = [
    "DECIMAL_PLACES",
    "TICK_SIZE",
    "carried_client_id",
    "client_order_id_of",
    "decimal_of",
    "format_decimal",
    "from_millis",
    "non_negative",
    "order_type_of",
    "parse_balances",
    "parse_fill",
    "parse_order",
    "positive",
    "symbol_of",
    "to_millis",
]

CcxtDict = Mapping[str, Any]

# ccxt's precision modes (ccxt.base.decimal_to_precision); copied so this module stays import-light.
DECIMAL_PLACES = 2
SIGNIFICANT_DIGITS = 3
TICK_SIZE = 4


def decimal_of(value: object, what: str) -> Decimal:
    """``value`` (float, int, numeric str or Decimal from ccxt) as a finite Decimal; ``what`` names it."""
    if value is None:
        raise InvalidDataError(f"{what}: missing")
    if isinstance(value, bool):
        raise InvalidDataError(f"{what}: not a number: {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, (int, float, str)):
        try:
            result = Decimal(str(value).strip())  # str(float) is the shortest round-trip text: no binary noise
        except InvalidOperation as exc:
            raise InvalidDataError(f"{what}: not a number: {value!r}") from exc
    else:
        raise InvalidDataError(f"{what}: not a number: {value!r}")
    if not result.is_finite():
        raise InvalidDataError(f"{what}: not finite: {value!r}")
    return result


def positive(value: object, what: str) -> Decimal:
    result = decimal_of(value, what)
    if result <= ZERO:
        raise InvalidDataError(f"{what}: must be positive, got {result}")
    return result


def non_negative(value: object, what: str) -> Decimal:
    result = decimal_of(value, what)
    if result < ZERO:
        raise InvalidDataError(f"{what}: cannot be negative, got {result}")
    return result


def _optional_price(value: object, what: str) -> Price | None:
    """A price, where None and zero both mean 'none' (Binance reports 0.00000000 for 'no price')."""
    if value is None:
        return None
    result = non_negative(value, what)
    return Price(result) if result > ZERO else None


def format_decimal(value: Decimal) -> str:
    """Plain positional text, no exponent, no trailing zeros: what the venue expects on the wire."""
    return format(value.normalize(), "f")


def from_millis(value: object, what: str) -> datetime:
    """A ccxt millisecond timestamp as an aware UTC datetime."""
    if value is None or isinstance(value, bool):
        raise InvalidDataError(f"{what}: missing timestamp")
    try:
        millis = int(decimal_of(value, what))
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)
    except (OverflowError, ValueError) as exc:
        raise InvalidDataError(f"{what}: bad timestamp {value!r}") from exc


def to_millis(value: datetime) -> int:
    """An aware datetime as ccxt's millisecond timestamp."""
    return int((value - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(milliseconds=1))


def symbol_of(value: object, what: str) -> Symbol:
    try:
        return Symbol.parse(str(value))
    except InvalidValueError as exc:
        raise InvalidDataError(f"{what}: bad symbol {value!r}") from exc


def _side(value: object, what: str) -> Side:
    try:
        return Side(str(value).lower())
    except ValueError as exc:
        raise InvalidDataError(f"{what}: bad side {value!r}") from exc


# -- orders ---------------------------------------------------------------------------------------

# Binance's raw order types. LIMIT_MAKER is a post-only limit, except as the limit leg of an order list
# (OCO), where it is the bracket's target.
_RAW_TYPES = {
    "MARKET": OrderType.MARKET,
    "LIMIT": OrderType.LIMIT,
    "LIMIT_MAKER": OrderType.LIMIT,
    "STOP_LOSS": OrderType.STOP_LOSS,
    "STOP_LOSS_LIMIT": OrderType.STOP_LOSS,
    "STOP_MARKET": OrderType.STOP_LOSS,
    "TAKE_PROFIT": OrderType.TAKE_PROFIT,
    "TAKE_PROFIT_LIMIT": OrderType.TAKE_PROFIT,
    "TAKE_PROFIT_MARKET": OrderType.TAKE_PROFIT,
    "EXCHANGE LIMIT": OrderType.LIMIT,  # Gemini
    "EXCHANGE STOP LIMIT": OrderType.STOP_LOSS,  # Gemini: a stop whose trigger places a limit
}

_STATUSES = {
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "cancelled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}


def _in_order_list(info: CcxtDict) -> bool:
    list_id = info.get("orderListId")
    return list_id is not None and str(list_id) not in ("-1", "")


def order_type_of(order: CcxtDict) -> OrderType:
    """The core type of a ccxt order: from the venue's raw type when ccxt kept it in ``info`` (ccxt's
    unified ``type`` folds Binance's STOP_LOSS into 'market'), else from the unified type and prices."""
    info = order.get("info") or {}
    raw = str(info.get("type") or "").upper()
    if raw == "LIMIT_MAKER" and _in_order_list(info):
        return OrderType.TAKE_PROFIT
    if raw in _RAW_TYPES:
        return _RAW_TYPES[raw]
    if order.get("stopLossPrice") is not None:
        return OrderType.STOP_LOSS
    if order.get("takeProfitPrice") is not None:
        return OrderType.TAKE_PROFIT
    unified = str(order.get("type") or "").lower()
    if order.get("triggerPrice") not in (None, 0) and unified in ("market", "stop_loss", "stop", "stop_market"):
        return OrderType.STOP_LOSS
    if unified in ("market", "limit"):
        return OrderType(unified)
    raise InvalidDataError(f"order {order.get('id')}: unknown order type {order.get('type')!r}")


def _status(order: CcxtDict, filled: Decimal) -> OrderStatus:
    info = order.get("info") or {}
    raw = str(info.get("status") or "").upper()
    # An order list's other leg ends EXPIRED on Binance when its partner fills: for the core that is the
    # OCO cancelling it, which is what CANCELED means in the Trading port.
    if raw in ("EXPIRED", "EXPIRED_IN_MATCH") and _in_order_list(info):
        return OrderStatus.CANCELED
    status = str(order.get("status") or "").lower()
    if status in ("open", "canceling", "new"):
        return OrderStatus.PARTIALLY_FILLED if filled > ZERO else OrderStatus.OPEN
    if status in _STATUSES:
        return _STATUSES[status]
    raise InvalidDataError(f"order {order.get('id')}: unknown status {order.get('status')!r}")


def client_order_id_of(order: CcxtDict) -> str | None:
    """The order's own client id. A Binance cancel answer's ``clientOrderId`` is the cancel request's
    id; the order's is in ``info['origClientOrderId']``."""
    info = order.get("info") or {}
    original = info.get("origClientOrderId")
    return str(original) if original else (str(order["clientOrderId"]) if order.get("clientOrderId") else None)


def _known_time(value: object) -> object:
    """A venue timestamp, or None when it is missing or a negative placeholder (Binance's -1)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return None if float(str(value)) < 0 else value
    except ValueError:
        return value  # left for from_millis to name as a bad timestamp


def parse_order(
    order: CcxtDict,
    *,
    now: datetime,
    requested_type: OrderType | None = None,
    client_order_id: ClientOrderId | None = None,
) -> Order:
    """A ccxt order as the core's ``Order``.

    ``requested_type`` (what the bot asked for, when this adapter placed it) wins over the venue's type:
    a TAKE_PROFIT is sent as a plain limit and must come back as TAKE_PROFIT. ``client_order_id`` is the
    fallback when the answer carries none. ``now`` stands in for missing timestamps.
    """
    venue_id = order.get("id")
    if venue_id in (None, ""):
        raise InvalidDataError("order: missing venue order id")
    what = f"order {venue_id}"
    raw_client_id = client_order_id_of(order)
    try:
        client_id = ClientOrderId(raw_client_id) if raw_client_id else client_order_id
    except InvalidValueError as exc:
        raise InvalidDataError(f"{what}: bad client order id {raw_client_id!r}") from exc
    if client_id is None:
        raise InvalidDataError(f"{what}: no client order id")
    quantity = non_negative(order.get("amount"), f"{what} quantity")
    filled = non_negative(order.get("filled") if order.get("filled") is not None else 0, f"{what} filled quantity")
    if filled > quantity:
        raise InvalidDataError(f"{what}: filled {filled} more than its quantity {quantity}")
    order_type = requested_type or order_type_of(order)
    # ccxt fills a market order's price with its average fill price; the core's market orders have none.
    price = None if order_type is OrderType.MARKET else _optional_price(order.get("price"), f"{what} price")
    if order_type in (OrderType.LIMIT, OrderType.TAKE_PROFIT) and price is None:
        raise InvalidDataError(f"{what}: a {order_type.value} order without a price")
    info = order.get("info") or {}
    stop = next((v for v in (order.get("triggerPrice"), order.get("stopPrice"), info.get("stop_price"))
                 if v is not None), None)
    # Binance reports an untriggered stop's ``workingTime`` as -1, and ccxt takes it as the order's
    # timestamp: a negative time means "not yet working", never 1969.
    created = _known_time(order.get("timestamp")) or _known_time(info.get("transactTime"))
    updated = (_known_time(order.get("lastUpdateTimestamp")) or _known_time(order.get("lastTradeTimestamp"))
               or created)
    return Order(
        client_order_id=client_id,
        venue_order_id=VenueOrderId(str(venue_id)),
        symbol=symbol_of(order.get("symbol"), what),
        side=_side(order.get("side"), what),
        order_type=order_type,
        quantity=Quantity(quantity),
        filled_quantity=Quantity(filled),
        status=_status(order, filled),
        created_at=now if created is None else from_millis(created, f"{what} time"),
        updated_at=now if updated is None else from_millis(updated, f"{what} update time"),
        price=price,
        stop_price=_optional_price(stop, f"{what} stop price"),
        average_price=_optional_price(order.get("average"), f"{what} average price") if filled > ZERO else None,
    )


# -- fills ----------------------------------------------------------------------------------------


# Where venues put the order's client id in a trade: ccxt's unified key, Binance-style, Gemini, Bybit, OKX.
CLIENT_ID_KEYS = ("clientOrderId", "client_order_id", "orderLinkId", "clOrdId")


def carried_client_id(trade: CcxtDict) -> str | None:
    """The client order id a ccxt trade carries, in the venue's form, if any."""
    info = trade.get("info") or {}
    found = trade.get("clientOrderId") or next((info.get(key) for key in CLIENT_ID_KEYS if info.get(key)), None)
    return str(found) if found else None


def parse_fill(trade: CcxtDict, client_order_id: Callable[[str], ClientOrderId | None]) -> Fill:
    """A ccxt trade (``fetch_my_trades``) as a ``Fill``. ``client_order_id(venue_order_id)`` resolves
    the bot's id when the trade does not carry one (Binance's myTrades never does)."""
    trade_id = trade.get("id")
    if trade_id in (None, ""):
        raise InvalidDataError("trade: missing trade id")
    what = f"trade {trade_id}"
    order_id = trade.get("order")
    if order_id in (None, ""):
        raise InvalidDataError(f"{what}: missing order id")
    symbol = symbol_of(trade.get("symbol"), what)
    info = trade.get("info") or {}
    raw_client_id = carried_client_id(trade)
    try:
        client_id = ClientOrderId(str(raw_client_id)) if raw_client_id else client_order_id(str(order_id))
    except InvalidValueError as exc:
        raise InvalidDataError(f"{what}: bad client order id {raw_client_id!r}") from exc
    fee = trade.get("fee") or {}
    fee_cost = fee.get("cost")
    fee_currency = fee.get("currency")
    try:
        fee_asset = Asset(str(fee_currency)) if fee_currency else symbol.quote
    except InvalidValueError as exc:
        raise InvalidDataError(f"{what}: bad fee currency {fee_currency!r}") from exc
    taker_or_maker = str(trade.get("takerOrMaker") or "").lower()
    if not taker_or_maker and isinstance(info.get("aggressor"), bool):  # Gemini: the aggressor took liquidity
        taker_or_maker = "taker" if info["aggressor"] else "maker"
    return Fill(
        trade_id=TradeId(str(trade_id)),
        venue_order_id=VenueOrderId(str(order_id)),
        client_order_id=client_id,
        symbol=symbol,
        side=_side(trade.get("side"), what),
        price=Price(positive(trade.get("price"), f"{what} price")),
        quantity=Quantity(positive(trade.get("amount"), f"{what} quantity")),
        # A negative cost is a rebate the venue paid (OKX documents a positive ``fee`` as one; ccxt flips the sign): the
        # core's fees are never negative, so it is booked as no fee (the ledger under-counts by the rebate, never over).
        fee=Money(ZERO if fee_cost is None else max(ZERO, decimal_of(fee_cost, f"{what} fee")), fee_asset),
        time=from_millis(trade.get("timestamp"), what),
        liquidity=Liquidity(taker_or_maker) if taker_or_maker in ("maker", "taker") else Liquidity.UNKNOWN,
    )


def answer_fills(raw: CcxtDict, order: Order) -> tuple[Fill, ...]:
    """The executions a venue returned in its answer to ``order``'s placement (Binance's FULL ``fills``, which ccxt
    puts in ``trades`` with their trade id, price, quantity and fee, but no order id, side, time or liquidity):
    dated at the answer's time and taken (an execution on arrival takes liquidity). None when the answer has none,
    or any of them cannot be read: the fill query books them then, as before."""
    trades = raw.get("trades") if isinstance(raw, dict) else None
    stamp = raw.get("timestamp") if isinstance(raw, dict) else None
    if not trades or stamp is None or not isinstance(trades, list):
        return ()
    fills: list[Fill] = []
    for trade in trades:
        if not isinstance(trade, dict):
            return ()
        shaped = {**trade, "order": order.venue_order_id.value, "symbol": str(order.symbol),
                  "side": order.side.value, "timestamp": trade.get("timestamp") or stamp, "takerOrMaker": "taker"}
        try:
            fills.append(parse_fill(shaped, lambda _venue_id: order.client_order_id))
        except (InvalidDataError, InvalidValueError):
            return ()
    return tuple(fills)


# -- balances -------------------------------------------------------------------------------------


def parse_balances(balance: CcxtDict) -> tuple[Balance, ...]:
    """Every non-zero balance of a ccxt ``fetch_balance`` answer, sorted by asset.

    Codes the core cannot hold as an ``Asset`` (lower-case or punctuated codes some venues list) are
    skipped: the bot cannot trade them, and one odd code must not hide every other balance.
    """
    free = balance.get("free") or {}
    used = balance.get("used") or {}
    result: list[Balance] = []
    for code in sorted(set(free) | set(used)):
        try:
            asset = Asset(str(code))
        except InvalidValueError:
            continue
        amount_free = non_negative(free.get(code) or 0, f"{code} free balance")
        amount_locked = non_negative(used.get(code) or 0, f"{code} locked balance")
        if amount_free or amount_locked:
            result.append(Balance(asset, amount_free, amount_locked))
    return tuple(result)
