"""Account state: free/locked balances, orders, order lists and trades, and their Binance JSON shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from trader_sandbox import errors

__all__ = ["ZERO", "Accounts", "Lock", "Order", "OrderList", "Trade", "floor_to", "fmt"]

ZERO = Decimal(0)
EIGHT_DP = Decimal("0.00000001")
TERMINAL = frozenset({"FILLED", "CANCELED", "EXPIRED", "REJECTED", "EXPIRED_IN_MATCH"})


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    """Round ``value`` down to a multiple of ``step`` (floor division: quantize would round to the exponent)."""
    if step <= 0:
        return value
    return (value // step) * step


def fmt(value: Decimal) -> str:
    """Binance's fixed 8-decimal number string."""
    return f"{value:.8f}"


class Accounts:
    """Balances of the single sandbox account, per asset: ``free`` and ``locked``."""

    def __init__(self, balances: dict[str, Decimal]) -> None:
        self.free: dict[str, Decimal] = {}
        self.locked: dict[str, Decimal] = {}
        self.set(balances, replace=True)

    def set(self, balances: dict[str, Decimal], replace: bool = False) -> None:
        """Set free balances; ``replace`` drops assets not named (locked amounts are kept)."""
        if replace:
            self.free = {}
        for asset, amount in balances.items():
            self.free[asset] = Decimal(amount)

    def lock(self, asset: str, amount: Decimal) -> None:
        """Move ``amount`` from free to locked; -2010 when free is short."""
        if self.free.get(asset, ZERO) < amount:
            raise errors.ApiError(400, -2010, errors.INSUFFICIENT_BALANCE)
        self.free[asset] = self.free.get(asset, ZERO) - amount
        self.locked[asset] = self.locked.get(asset, ZERO) + amount

    def unlock(self, asset: str, amount: Decimal) -> None:
        """Move ``amount`` from locked back to free."""
        self.locked[asset] = self.locked.get(asset, ZERO) - amount
        self.free[asset] = self.free.get(asset, ZERO) + amount

    def spend_locked(self, asset: str, amount: Decimal) -> None:
        """Remove ``amount`` from locked (it leaves the account)."""
        self.locked[asset] = self.locked.get(asset, ZERO) - amount

    def debit(self, asset: str, amount: Decimal) -> None:
        """Remove ``amount`` from free; -2010 when free is short."""
        if self.free.get(asset, ZERO) < amount:
            raise errors.ApiError(400, -2010, errors.INSUFFICIENT_BALANCE)
        self.free[asset] = self.free.get(asset, ZERO) - amount

    def credit(self, asset: str, amount: Decimal) -> None:
        """Add ``amount`` to free."""
        self.free[asset] = self.free.get(asset, ZERO) + amount

    def snapshot(self) -> list[dict[str, str]]:
        """``balances[]`` of ``GET /api/v3/account``, sorted by asset."""
        assets = sorted(set(self.free) | set(self.locked))
        return [{"asset": a, "free": fmt(self.free.get(a, ZERO)), "locked": fmt(self.locked.get(a, ZERO))}
                for a in assets]


@dataclass
class Lock:
    """Funds an order (or both legs of an order list) reserved: ``per_unit`` of ``asset`` per base unit."""

    asset: str
    amount: Decimal
    per_unit: Decimal
    orders: list[Order] = field(default_factory=list)


@dataclass
class Order:
    """One order, in Binance terms (prices and quantities as Decimals, zero when not set)."""

    symbol: str
    order_id: int
    client_id: str
    side: str
    type: str
    time_in_force: str
    price: Decimal
    orig_qty: Decimal
    stop_price: Decimal
    time: int
    orig_quote_qty: Decimal = ZERO
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    status: str = "NEW"
    update_time: int = 0
    working_time: int = -1
    list_id: int = -1
    lock: Lock | None = None
    fills: list[dict[str, Any]] = field(default_factory=list)  # fills made by the request being answered
    cancel_client_id: str = ""
    reason: str = ""  # why it was cancelled, in the venue's words (Gemini's ``reason``)

    @property
    def remaining(self) -> Decimal:
        """Quantity not yet executed."""
        return self.orig_qty - self.executed_qty

    @property
    def is_open(self) -> bool:
        """NEW or PARTIALLY_FILLED."""
        return self.status not in TERMINAL

    @property
    def is_working(self) -> bool:
        """Whether the order is on the book (stop orders are not until triggered)."""
        return self.working_time >= 0

    def base_fields(self) -> dict[str, Any]:
        """Fields shared by every order answer."""
        return {
            "symbol": self.symbol, "orderId": self.order_id, "orderListId": self.list_id,
            "clientOrderId": self.client_id, "price": fmt(self.price), "origQty": fmt(self.orig_qty),
            "executedQty": fmt(self.executed_qty), "cummulativeQuoteQty": fmt(self.cum_quote),
            "status": self.status, "timeInForce": self.time_in_force, "type": self.type, "side": self.side,
        }

    def result(self, transact_time: int, resp_type: str = "FULL") -> dict[str, Any]:
        """The answer of ``POST /api/v3/order`` for ``newOrderRespType`` ACK, RESULT or FULL."""
        if resp_type == "ACK":
            return {"symbol": self.symbol, "orderId": self.order_id, "orderListId": self.list_id,
                    "clientOrderId": self.client_id, "transactTime": transact_time}
        out = self.base_fields()
        out["transactTime"] = transact_time
        out["origQuoteOrderQty"] = fmt(self.orig_quote_qty)
        if self.stop_price:
            out["stopPrice"] = fmt(self.stop_price)
        out["workingTime"] = self.working_time
        out["selfTradePreventionMode"] = "EXPIRE_MAKER"
        if resp_type == "FULL":
            out["fills"] = list(self.fills)
        return out

    def query(self) -> dict[str, Any]:
        """The shape of ``GET /api/v3/order``, ``openOrders`` and ``allOrders``."""
        out = self.base_fields()
        out.update({
            "stopPrice": fmt(self.stop_price), "icebergQty": fmt(ZERO), "time": self.time,
            "updateTime": self.update_time, "isWorking": self.is_working, "workingTime": self.working_time,
            "origQuoteOrderQty": fmt(self.orig_quote_qty), "selfTradePreventionMode": "EXPIRE_MAKER",
        })
        return out

    def canceled(self) -> dict[str, Any]:
        """The shape of ``DELETE /api/v3/order``: ``clientOrderId`` is the cancel request's id."""
        out = self.base_fields()
        out["origClientOrderId"] = self.client_id
        out["clientOrderId"] = self.cancel_client_id or self.client_id
        out["transactTime"] = self.update_time
        if self.stop_price:
            out["stopPrice"] = fmt(self.stop_price)
        out["selfTradePreventionMode"] = "EXPIRE_MAKER"
        return out


@dataclass
class OrderList:
    """An OCO: two legs that share one lock; when one executes the other expires."""

    list_id: int
    client_id: str
    symbol: str
    legs: list[Order]
    time: int
    status_type: str = "EXEC_STARTED"  # RESPONSE, EXEC_STARTED, ALL_DONE
    order_status: str = "EXECUTING"  # EXECUTING, ALL_DONE, REJECT

    def refresh(self) -> None:
        """ALL_DONE once no leg is open."""
        if not any(leg.is_open for leg in self.legs):
            self.status_type = "ALL_DONE"
            self.order_status = "ALL_DONE"

    def shape(self, transact_time: int, reports: list[dict[str, Any]] | None) -> dict[str, Any]:
        """The order-list answer; ``reports`` adds ``orderReports`` (POST and DELETE answers)."""
        self.refresh()
        out: dict[str, Any] = {
            "orderListId": self.list_id, "contingencyType": "OCO", "listStatusType": self.status_type,
            "listOrderStatus": self.order_status, "listClientOrderId": self.client_id,
            "transactionTime": transact_time, "symbol": self.symbol,
            "orders": [{"symbol": leg.symbol, "orderId": leg.order_id, "clientOrderId": leg.client_id}
                       for leg in self.legs],
        }
        if reports is not None:
            out["orderReports"] = reports
        return out


@dataclass(frozen=True)
class Trade:
    """One fill of one of the account's orders."""

    symbol: str
    trade_id: int
    order_id: int
    list_id: int
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool

    def fill(self) -> dict[str, Any]:
        """The ``fills[]`` entry of a FULL order answer."""
        return {"price": fmt(self.price), "qty": fmt(self.qty), "commission": fmt(self.commission),
                "commissionAsset": self.commission_asset, "tradeId": self.trade_id}

    def my_trade(self) -> dict[str, Any]:
        """The ``GET /api/v3/myTrades`` entry."""
        return {
            "symbol": self.symbol, "id": self.trade_id, "orderId": self.order_id, "orderListId": self.list_id,
            "price": fmt(self.price), "qty": fmt(self.qty), "quoteQty": fmt(self.quote_qty),
            "commission": fmt(self.commission), "commissionAsset": self.commission_asset, "time": self.time,
            "isBuyer": self.is_buyer, "isMaker": self.is_maker, "isBestMatch": True,
        }
