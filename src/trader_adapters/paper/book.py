"""The account and order book shared by the simulated venues (paper and fake): balances, holds, orders, fills.

The venues decide *when* and *at what price* an order executes; this module owns everything else:
rule checks, fund holds, duplicate client ids, OCO links, fees in the quote asset and fill records.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal

import attrs

from trader_core.model.errors import OrderNotFoundError, OrderRejectedError, WouldTriggerError
from trader_core.model.ids import Asset, ClientOrderId, Symbol, TradeId, VenueOrderId
from trader_core.model.instrument import InstrumentRules
from trader_core.model.money import Money, Price, Quantity
from trader_core.model.numbers import ONE, ZERO
from trader_core.model.orders import (
    Balance,
    ExitBracket,
    Fill,
    Liquidity,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
)

__all__ = ["Hold", "SimBook", "SimOrder"]


@attrs.define(eq=False)
class Hold:
    """Funds locked for open orders; the two legs of an exit bracket share one."""

    asset: Asset
    amount: Decimal


@attrs.define(eq=False)
class SimOrder:
    """An order's mutable state inside a simulated venue."""

    client_order_id: ClientOrderId
    venue_order_id: VenueOrderId
    symbol: Symbol
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    created_at: datetime
    updated_at: datetime
    hold: Hold
    status: OrderStatus = OrderStatus.OPEN
    filled: Decimal = ZERO
    average_price: Decimal | None = None
    partner: SimOrder | None = None  # the other leg of an OCO bracket
    _snapshot: tuple[object, Order] | None = attrs.field(default=None, repr=False)

    @property
    def is_open(self) -> bool:
        """True while the order can still execute."""
        return self.status is OrderStatus.OPEN

    def snapshot(self) -> Order:
        """The order as the port reports it (rebuilt only when the order changed: polled every tick)."""
        key = (self.status, self.filled, self.updated_at)
        if self._snapshot is not None and self._snapshot[0] == key:
            return self._snapshot[1]
        order = Order(
            client_order_id=self.client_order_id, venue_order_id=self.venue_order_id, symbol=self.symbol,
            side=self.side, order_type=self.order_type, quantity=Quantity(self.quantity),
            filled_quantity=Quantity(self.filled), status=self.status,
            created_at=self.created_at, updated_at=self.updated_at,
            price=None if self.price is None else Price(self.price),
            stop_price=None if self.stop_price is None else Price(self.stop_price),
            average_price=None if self.average_price is None else Price(self.average_price),
        )
        self._snapshot = (key, order)
        return order


def _fill_time(fill: Fill) -> datetime:
    return fill.time


@attrs.define(eq=False)
class SimBook:
    """Balances, orders and fills of one simulated account.

    ``fee_rate`` is a fraction of the notional, charged in the quote asset; with ``fee_in`` (an asset and its
    price in every quote, as Binance's BNB fee discount) it is charged in that asset while the account holds
    enough of it. A market buy holds ``quantity * reference * (1 + buy_margin) * (1 + fee_rate)`` of quote at
    placement; at execution the hold is released and the real cost charged, and an unaffordable buy EXPIRES
    unfilled.
    """

    venue: str
    fee_rate: Decimal
    rules: Callable[[Symbol], InstrumentRules]
    fee_in: tuple[Asset, Decimal] | None = None
    _free: dict[Asset, Decimal] = attrs.field(factory=dict)
    _locked: dict[Asset, Decimal] = attrs.field(factory=dict)
    _orders: dict[tuple[Symbol, ClientOrderId], SimOrder] = attrs.field(factory=dict, repr=False)
    _open: dict[Symbol, dict[ClientOrderId, SimOrder]] = attrs.field(factory=dict, repr=False)
    _fills: dict[Symbol, list[Fill]] = attrs.field(factory=dict, repr=False)
    _order_seq: int = 0
    _trade_seq: int = 0

    # -- balances ---------------------------------------------------------------------------------

    def deposit(self, asset: Asset, amount: Decimal) -> None:
        """Add ``amount`` (may be negative, down to zero) to the free balance of ``asset``."""
        free = self._free.get(asset, ZERO) + amount
        if free < ZERO:
            raise ValueError(f"{asset} free balance would become negative ({free})")
        self._free[asset] = free

    def deposit_all(self, balances: Mapping[Asset, Decimal] | None) -> None:
        """Deposit every amount in ``balances``."""
        for asset, amount in (balances or {}).items():
            self.deposit(asset, amount)

    def balances(self) -> tuple[Balance, ...]:
        """Every asset with a non-zero free or locked amount, sorted by asset."""
        assets = sorted(set(self._free) | set(self._locked))
        result = (Balance(a, self._free.get(a, ZERO), self._locked.get(a, ZERO)) for a in assets)
        return tuple(b for b in result if b.free != ZERO or b.locked != ZERO)

    def _lock(self, asset: Asset, amount: Decimal, what: str) -> Hold:
        free = self._free.get(asset, ZERO)
        if free < amount:
            raise OrderRejectedError(f"{what}: insufficient {asset} balance: needs {amount}, free {free}")
        self._free[asset] = free - amount
        self._locked[asset] = self._locked.get(asset, ZERO) + amount
        return Hold(asset, amount)

    def _release(self, hold: Hold) -> None:
        if hold.amount:
            self._locked[hold.asset] -= hold.amount
            self._free[hold.asset] = self._free.get(hold.asset, ZERO) + hold.amount
            hold.amount = ZERO

    # -- placement --------------------------------------------------------------------------------

    def _check_new(self, symbol: Symbol, client_order_id: ClientOrderId) -> None:
        if client_order_id in self._open.get(symbol, {}):
            raise OrderRejectedError(f"duplicate client order id {client_order_id}: an open {symbol} order uses it")

    def _check_rules(
        self, what: str, rules: InstrumentRules, quantity: Quantity, notional_price: Decimal, *prices: Decimal
    ) -> None:
        """Reject on any rule ``quantity`` at ``notional_price`` breaks, or an order price off the tick."""
        reasons: list[str] = []
        for price in prices:
            if rules.round_price(price).value != price:
                reasons.append(f"price {price} not a multiple of tick {rules.tick_size}")
        reasons.extend(rules.violations(quantity, Price(notional_price)))
        if reasons:
            raise OrderRejectedError(f"{what} rejected: {'; '.join(dict.fromkeys(reasons))}")

    def place(self, request: OrderRequest, now: datetime, last: Decimal | None, buy_margin: Decimal) -> SimOrder:
        """Validate ``request`` against rules, ids and funds, lock its funds and open it.

        ``last`` is the venue's last known price (None before any): market orders are checked and
        funded at it; a post-only limit that would cross it is rejected.
        """
        what = f"{request.side.value} {request.order_type.value} {request.client_order_id}"
        self._check_new(request.symbol, request.client_order_id)
        rules = self.rules(request.symbol)
        if request.order_type is OrderType.MARKET:
            if last is None:
                raise OrderRejectedError(f"{what}: no {request.symbol} price known yet for a market order")
            reference = last
            self._check_rules(what, rules, request.quantity, reference)
        else:
            priced = request.stop_price if request.stop_price is not None else request.price
            if priced is None:  # OrderRequest guarantees one; this keeps the type checker honest
                raise OrderRejectedError(f"{what}: no price")
            reference = priced.value
            self._check_rules(what, rules, request.quantity, reference, reference)
        if request.post_only and last is not None and (reference - last) * request.side.sign >= ZERO:
            raise OrderRejectedError(f"{what}: post-only price {reference} would cross the last price {last}")
        quantity = request.quantity.value
        if request.side is Side.SELL:
            hold = self._lock(request.symbol.base, quantity, what)
        else:
            margin = buy_margin if request.order_type is OrderType.MARKET else ZERO
            hold = self._lock(request.symbol.quote, quantity * reference * (ONE + margin) * (ONE + self.fee_rate), what)
        return self._register(
            request.client_order_id, request.symbol, side=request.side, order_type=request.order_type,
            quantity=quantity, price=None if request.price is None else request.price.value,
            stop_price=None if request.stop_price is None else request.stop_price.value, now=now, hold=hold,
        )

    def place_bracket(self, bracket: ExitBracket, now: datetime, last: Decimal | None) -> tuple[SimOrder, SimOrder]:
        """Open the stop and target legs of ``bracket`` as one OCO, sharing one hold.

        Like Binance's OCO, the prices must straddle the last price (stop below and target above it for
        a SELL exit): a bracket that would trigger at once is rejected.
        """
        stop, target = bracket.stop_price.value, bracket.target_price.value
        what = f"{bracket.side.value} exit bracket {bracket.stop_client_order_id}/{bracket.target_client_order_id}"
        if bracket.stop_client_order_id == bracket.target_client_order_id:
            raise OrderRejectedError(f"{what}: the two legs need different client order ids")
        self._check_new(bracket.symbol, bracket.stop_client_order_id)
        self._check_new(bracket.symbol, bracket.target_client_order_id)
        lower = min(stop, target)  # the smaller notional is the one the minimum must hold for
        self._check_rules(what, self.rules(bracket.symbol), bracket.quantity, lower, stop, target)
        if last is not None and not (stop - last) * bracket.side.sign > ZERO > (target - last) * bracket.side.sign:
            raise WouldTriggerError(f"{what}: stop {stop} and target {target} must straddle the last price {last}: "
                                    "it would trigger immediately")
        quantity = bracket.quantity.value
        if bracket.side is Side.SELL:
            hold = self._lock(bracket.symbol.base, quantity, what)
        else:  # a buy exit pays at most around its stop, the higher leg
            hold = self._lock(bracket.symbol.quote, quantity * stop * (ONE + self.fee_rate), what)
        stop_leg = self._register(
            bracket.stop_client_order_id, bracket.symbol, side=bracket.side, order_type=OrderType.STOP_LOSS,
            quantity=quantity, price=None, stop_price=stop, now=now, hold=hold,
        )
        target_leg = self._register(
            bracket.target_client_order_id, bracket.symbol, side=bracket.side, order_type=OrderType.TAKE_PROFIT,
            quantity=quantity, price=target, stop_price=None, now=now, hold=hold,
        )
        stop_leg.partner, target_leg.partner = target_leg, stop_leg
        return stop_leg, target_leg

    def _register(
        self, cid: ClientOrderId, symbol: Symbol, *, side: Side, order_type: OrderType, quantity: Decimal,
        price: Decimal | None, stop_price: Decimal | None, now: datetime, hold: Hold,
    ) -> SimOrder:
        self._order_seq += 1
        order = SimOrder(
            client_order_id=cid, venue_order_id=VenueOrderId(str(self._order_seq)), symbol=symbol, side=side,
            order_type=order_type, quantity=quantity, price=price, stop_price=stop_price,
            created_at=now, updated_at=now, hold=hold,
        )
        self._orders[(symbol, cid)] = order  # a reused id now means this order
        self._open.setdefault(symbol, {})[cid] = order
        return order

    # -- lookup and cancel ------------------------------------------------------------------------

    def find(self, symbol: Symbol, client_order_id: ClientOrderId) -> SimOrder:
        """The latest order with this id in ``symbol``; raises ``OrderNotFoundError``."""
        order = self._orders.get((symbol, client_order_id))
        if order is None:
            raise OrderNotFoundError(f"no {symbol} order with client order id {client_order_id} at {self.venue}")
        return order

    def open_orders(self, symbol: Symbol) -> list[SimOrder]:
        """Open orders in ``symbol`` in placement order (a copy: safe to execute while iterating)."""
        orders = self._open.get(symbol)
        return list(orders.values()) if orders else []

    def cancel(self, symbol: Symbol, client_order_id: ClientOrderId, now: datetime) -> SimOrder:
        """Cancel an open order (and its OCO partner) and release its hold.

        Raises ``OrderNotFoundError`` for an unknown order or one no longer open.
        """
        order = self.find(symbol, client_order_id)
        if not order.is_open:
            raise OrderNotFoundError(f"{symbol} order {client_order_id} is {order.status.value}, not open")
        self._release(order.hold)
        self._finish(order, OrderStatus.CANCELED, now)
        return order

    def _finish(self, order: SimOrder, status: OrderStatus, time: datetime) -> None:
        for leg in (order, order.partner):
            if leg is not None and leg.is_open:
                leg.status = OrderStatus.CANCELED if leg is not order else status
                leg.updated_at = max(time, leg.created_at)
                del self._open[leg.symbol][leg.client_order_id]

    # -- execution --------------------------------------------------------------------------------

    def execute(self, order: SimOrder, price: Decimal, time: datetime, liquidity: Liquidity, *,
                available: Decimal | None = None) -> Fill | None:
        """Fill all of ``order`` at ``price`` at ``time``; its OCO partner is cancelled. ``available``: the
        quantity the book offers (a market order meeting less fills that much and EXPIRES with the rest, as a
        Binance market order that exhausts the book's liquidity within its price band does).

        Returns None (the order EXPIRED) when a buy can no longer be paid for at that price. A fill is never
        stamped before the symbol's latest fill: fills stay in time order (``fills`` and a fill cursor rely on it).
        """
        earlier = self._fills.get(order.symbol)
        if earlier and earlier[-1].time > time:
            time = earlier[-1].time
        self._release(order.hold)
        quote, base, quantity = order.symbol.quote, order.symbol.base, order.quantity
        if available is not None and available < quantity:
            quantity = max(available, ZERO)
        notional = quantity * price
        fee = notional * self.fee_rate
        charged = Money(fee, quote)
        if self.fee_in is not None and fee:
            asset, worth = self.fee_in
            in_asset = (fee / worth).quantize(Decimal("1e-8"))
            if self._free.get(asset, ZERO) >= in_asset:
                self._free[asset] -= in_asset
                fee, charged = ZERO, Money(in_asset, asset)
        if order.side is Side.BUY:
            if self._free.get(quote, ZERO) < notional + fee:
                self._finish(order, OrderStatus.EXPIRED, time)
                return None
            self._free[quote] -= notional + fee
            self._free[base] = self._free.get(base, ZERO) + quantity
        else:
            self._free[base] -= quantity  # the released hold guarantees it is there
            self._free[quote] = self._free.get(quote, ZERO) + notional - fee
        order.filled, order.average_price = quantity, price
        self._finish(order, OrderStatus.FILLED if quantity == order.quantity else OrderStatus.EXPIRED, time)
        if not quantity:
            return None
        self._trade_seq += 1
        fill = Fill(
            trade_id=TradeId(str(self._trade_seq)), venue_order_id=order.venue_order_id,
            client_order_id=order.client_order_id, symbol=order.symbol, side=order.side, price=Price(price),
            quantity=Quantity(quantity), fee=charged, time=time, liquidity=liquidity,
        )
        self._fills.setdefault(order.symbol, []).append(fill)
        return fill

    def fills(self, symbol: Symbol, since: datetime | None, limit: int) -> tuple[Fill, ...]:
        """Fills in ``symbol`` oldest first: from ``since`` on (at most ``limit``), or the latest ``limit``."""
        fills = self._fills.get(symbol, [])
        if limit <= 0:
            return ()
        if since is None:
            return tuple(fills[-limit:])
        first = bisect.bisect_left(fills, since, key=_fill_time)
        return tuple(fills[first : first + limit])
