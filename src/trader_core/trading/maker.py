"""Maker preference: entries and signal exits first rest as post-only limits at the maker price; one the
venue refuses, or that rests past its timeout, is followed by a marketable order under a new client order id."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

import attrs

from trader_core.execution import (
    OrderExecutor,
    exit_quantity,
    maker_price,
)
from trader_core.health import ExchangeHealthManager
from trader_core.model import (
    ZERO,
    ClientOrderId,
    ExchangeError,
    InstrumentRules,
    IntentStatus,
    OrderRequest,
    OrderRole,
    OrderType,
    PlanStatus,
    Price,
    Quantity,
    Side,
    Symbol,
    TrackedOrder,
)
from trader_core.plans import after_order_closed
from trader_core.ports import MarketData
from trader_core.trading.outcomes import ActionPolicy

__all__ = ["MakerOrders", "limit_order", "market_order"]


@attrs.define
class MakerOrders:
    """The maker path of the action handler, on the handler's own collaborators."""

    executor: OrderExecutor
    rules: Mapping[Symbol, InstrumentRules]
    policy: ActionPolicy
    health: ExchangeHealthManager
    market: MarketData | None

    def prefers_maker(self, symbol: Symbol) -> bool:
        """Whether entries and signal exits in ``symbol`` first rest as post-only limits."""
        return self.policy.maker is not None and self.policy.maker.for_symbol(symbol)

    async def request(self, symbol: Symbol, side: Side, quantity: Quantity,
                             ) -> Callable[[ClientOrderId], OrderRequest] | None:
        """A post-only limit at the maker price when maker preference is on for ``symbol`` and a fresh
        quote is at hand; None (a market order) otherwise."""
        if not self.prefers_maker(symbol) or self.market is None:
            return None
        try:
            quote = await self.market.fetch_quote(symbol)
        except ExchangeError:
            return None  # no quote to price the maker order from: marketable, as without the preference
        price = maker_price(side, quote, self.rules[symbol])
        if self.rules[symbol].violations(quantity, price):
            return None
        return limit_order(symbol, side, quantity, price)

    async def after(self, maker: TrackedOrder, price: Decimal | None) -> TrackedOrder:
        """A maker order the venue rejected (it would take liquidity) or that failed is followed at once by
        a market order of the same plan and role under a new client order id."""
        if maker.status not in (IntentStatus.REJECTED, IntentStatus.FAILED):
            return maker
        return await self.fallback(maker, maker.request.quantity, price)

    async def fallback(self, maker: TrackedOrder, quantity: Quantity, price: Decimal | None) -> TrackedOrder:
        request = maker.request
        return await self.executor.submit(
            market_order(request.symbol, request.side, quantity),
            role=maker.role, plan_id=maker.plan_id, exit_reason=maker.exit_reason,
            reason=f"marketable fallback of {maker.client_order_id}: {maker.reason}"[:500], reference_price=price,
        )

    async def chase(self, prices: Mapping[Symbol, Decimal]) -> tuple[TrackedOrder, ...]:
        """Cancel each resting maker order (entry or exit) older than ``maker_timeout`` and send what is left
        of it as a market order under a new client order id. Called by the loop after the fill sync.

        An order the cancel does not end (filled meanwhile, fills not booked yet, outcome unknown) is
        looked at again next tick. An entry whose rest may not go (entries blocked now, or below the venue's
        minimums) is not replaced: its plan keeps what filled, or ends when nothing did. Returns the
        fallback orders sent."""
        now = self.executor.clock.now()
        book = self.executor.book
        due = [o for o in book.orders() if o.request.post_only and o.role in (OrderRole.ENTRY, OrderRole.EXIT)
               and now - o.created_at >= self.policy.maker_timeout]
        sent: list[TrackedOrder] = []
        for order in due:
            if not self.health.may_send_orders():
                break
            (after,) = await self.executor.cancel_all((order,), keep_plans=True)  # its plan is decided below
            if after.status.is_active:
                continue
            symbol = order.request.symbol
            rest = order.request.quantity.value - after.filled_quantity.value
            mark = prices.get(symbol) or (order.request.price.value if order.request.price else None)
            quantity = self._fallback_quantity(after, rest, mark)
            if quantity is None:
                plan = None if order.plan_id is None else book.plan(order.plan_id)
                changed = None if plan is None else after_order_closed(plan, after, now)
                if changed is not None:
                    self.executor.save(plans=(changed,))
                continue
            sent.append(await self.fallback(after, quantity, prices.get(symbol)))
        return tuple(sent)

    def _fallback_quantity(self, order: TrackedOrder, rest: Decimal, mark: Decimal | None) -> Quantity | None:
        """What the marketable fallback of a timed-out maker order sends; None when nothing may go."""
        symbol = order.request.symbol
        rules = self.rules[symbol]
        if rest <= ZERO or mark is None:
            return None
        if order.role is OrderRole.ENTRY:
            if self.health.entry_refusal(symbol) is not None:
                return None
            quantity = rules.round_quantity(rest)
            return quantity if quantity and not rules.violations(quantity, Price(mark)) else None
        plan = None if order.plan_id is None else self.executor.book.plan(order.plan_id)
        if plan is None or plan.status is not PlanStatus.OPEN or not plan.quantity:
            return None
        sized = exit_quantity(min(rest, plan.quantity.value), plan.quantity, Price(mark), rules)
        return sized.quantity if sized.sendable else None


def limit_order(symbol: Symbol, side: Side, quantity: Quantity, price: Price,
                ) -> Callable[[ClientOrderId], OrderRequest]:
    def build(client_order_id: ClientOrderId) -> OrderRequest:
        return OrderRequest(client_order_id=client_order_id, symbol=symbol, side=side, order_type=OrderType.LIMIT,
                            quantity=quantity, price=price, post_only=True)

    return build


def market_order(symbol: Symbol, side: Side, quantity: Quantity) -> Callable[[ClientOrderId], OrderRequest]:
    def build(client_order_id: ClientOrderId) -> OrderRequest:
        return OrderRequest(
            client_order_id=client_order_id, symbol=symbol, side=side, order_type=OrderType.MARKET, quantity=quantity
        )

    return build
