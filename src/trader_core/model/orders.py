"""Orders, fills and balances as the venue reports them."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import attrs

from trader_core.model.errors import InvalidValueError
from trader_core.model.ids import Asset, ClientOrderId, Symbol, TradeId, VenueOrderId
from trader_core.model.market import require_utc
from trader_core.model.money import Money, Price, Quantity
from trader_core.model.numbers import ZERO, to_decimal

__all__ = [
    "Balance",
    "ExitBracket",
    "Fill",
    "Liquidity",
    "Order",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "Side",
]


class Side(enum.Enum):
    """Buy or sell. Spot, long-only: a BUY opens or adds, a SELL reduces."""

    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        """The other side."""
        return Side.SELL if self is Side.BUY else Side.BUY

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell: lets price rules be written once for both sides."""
        return 1 if self is Side.BUY else -1


class OrderType(enum.Enum):
    """What the venue should do with the order."""

    MARKET = "market"
    LIMIT = "limit"
    STOP_LOSS = "stop_loss"  # becomes a market order when the price trades at or through stop_price
    TAKE_PROFIT = "take_profit"  # rests as a limit at price


class OrderStatus(enum.Enum):
    """Lifecycle of an order at the venue."""

    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        """True when the venue will do nothing more with the order."""
        return self in _FINAL


_FINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED})


class Liquidity(enum.Enum):
    """Whether a fill added (maker) or took (taker) liquidity."""

    MAKER = "maker"
    TAKER = "taker"
    UNKNOWN = "unknown"


@attrs.frozen(kw_only=True)
class OrderRequest:
    """An order the bot asks the venue to place.

    ``price`` is required for LIMIT and TAKE_PROFIT, ``stop_price`` for STOP_LOSS; MARKET takes neither.
    ``post_only`` asks a LIMIT to be rejected rather than take liquidity.
    """

    client_order_id: ClientOrderId
    symbol: Symbol
    side: Side
    order_type: OrderType
    quantity: Quantity
    price: Price | None = None
    stop_price: Price | None = None
    post_only: bool = False

    def __attrs_post_init__(self) -> None:
        if not self.quantity:
            raise InvalidValueError("an order needs a positive quantity")
        needs_price = self.order_type in (OrderType.LIMIT, OrderType.TAKE_PROFIT)
        kind = self.order_type.value
        if needs_price != (self.price is not None):
            raise InvalidValueError(f"{kind} order: price {'required' if needs_price else 'not allowed'}")
        needs_stop = self.order_type is OrderType.STOP_LOSS
        if needs_stop != (self.stop_price is not None):
            raise InvalidValueError(f"{kind} order: stop_price {'required' if needs_stop else 'not allowed'}")
        if self.post_only and self.order_type is not OrderType.LIMIT:
            raise InvalidValueError("post_only applies to limit orders only")


@attrs.frozen(kw_only=True)
class ExitBracket:
    """A protective exit held by the venue: a stop-loss and a take-profit, one cancelling the other.

    ``side`` is the exit side (SELL for a long position).
    """

    symbol: Symbol
    side: Side
    quantity: Quantity
    stop_price: Price
    target_price: Price
    stop_client_order_id: ClientOrderId
    target_client_order_id: ClientOrderId

    def __attrs_post_init__(self) -> None:
        if not self.quantity:
            raise InvalidValueError("an exit bracket needs a positive quantity")
        # For a SELL exit the stop sits below the target; for a BUY exit above it.
        if (self.target_price.value - self.stop_price.value) * self.side.opposite.sign <= ZERO:
            raise InvalidValueError(
                f"exit bracket: stop {self.stop_price} and target {self.target_price} are on the wrong sides"
            )

    def legs(self) -> tuple[OrderRequest, OrderRequest]:
        """The stop leg and the target leg as plain requests."""
        stop = OrderRequest(
            client_order_id=self.stop_client_order_id, symbol=self.symbol, side=self.side,
            order_type=OrderType.STOP_LOSS, quantity=self.quantity, stop_price=self.stop_price,
        )
        target = OrderRequest(
            client_order_id=self.target_client_order_id, symbol=self.symbol, side=self.side,
            order_type=OrderType.TAKE_PROFIT, quantity=self.quantity, price=self.target_price,
        )
        return stop, target


@attrs.frozen(kw_only=True)
class Order:
    """An order as the venue last reported it."""

    client_order_id: ClientOrderId
    venue_order_id: VenueOrderId
    symbol: Symbol
    side: Side
    order_type: OrderType
    quantity: Quantity
    filled_quantity: Quantity
    status: OrderStatus
    created_at: datetime = attrs.field(validator=lambda _i, _a, v: require_utc(v, "created_at"))
    updated_at: datetime = attrs.field(validator=lambda _i, _a, v: require_utc(v, "updated_at"))
    price: Price | None = None
    stop_price: Price | None = None
    average_price: Price | None = None
    # The executions the venue returned in its answer to the placement (Binance's FULL response), when it did:
    # booked at once, before the next fill query.
    fills: tuple[Fill, ...] = ()

    def __attrs_post_init__(self) -> None:
        if self.filled_quantity.value > self.quantity.value:
            raise InvalidValueError(f"order {self.client_order_id}: filled more than its quantity")

    @property
    def remaining(self) -> Quantity:
        """What is left to fill."""
        return Quantity(self.quantity.value - self.filled_quantity.value)


@attrs.frozen(kw_only=True)
class Fill:
    """One execution (a venue trade) of an order. The fee is money in its own asset."""

    trade_id: TradeId
    venue_order_id: VenueOrderId
    client_order_id: ClientOrderId | None
    symbol: Symbol
    side: Side
    price: Price
    quantity: Quantity
    fee: Money
    time: datetime = attrs.field(validator=lambda _i, _a, v: require_utc(v, "fill time"))
    liquidity: Liquidity = Liquidity.UNKNOWN

    def __attrs_post_init__(self) -> None:
        if not self.quantity:
            raise InvalidValueError(f"fill {self.trade_id}: quantity must be positive")
        if self.fee.amount < ZERO:
            raise InvalidValueError(f"fill {self.trade_id}: negative fee")

    @property
    def notional(self) -> Decimal:
        """Price times quantity, in the quote asset."""
        return self.price.value * self.quantity.value


@attrs.frozen
class Balance:
    """Free and locked amounts of one asset in the account (the whole account, not only the bot's)."""

    asset: Asset
    free: Decimal = attrs.field(converter=to_decimal)
    locked: Decimal = attrs.field(converter=to_decimal)

    @property
    def total(self) -> Decimal:
        """Free plus locked."""
        return self.free + self.locked
