"""TradingBook: the bot's in-memory view of its active orders and plans, updated only after commits."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from trader_core.model import ClientOrderId, Fill, OrderRole, Plan, PlanId, Symbol, TrackedOrder

__all__ = ["TradingBook"]


@attrs.define
class TradingBook:
    """Active orders (by client order id) and active plans (by plan id).

    It is a cache of the store, loaded at start-up and updated after each committed unit of work,
    so the loop never queries the database to learn what it already knows.
    """

    _orders: dict[ClientOrderId, TrackedOrder] = attrs.field(factory=dict, init=False)
    _plans: dict[PlanId, Plan] = attrs.field(factory=dict, init=False)
    _answered: list[Fill] = attrs.field(factory=list, init=False)  # fills in placement answers, not booked yet

    def load(self, orders: Iterable[TrackedOrder], plans: Iterable[Plan]) -> None:
        """Replace the view with stored active orders and plans."""
        self._orders = {o.client_order_id: o for o in orders if o.status.is_active}
        self._plans = {p.plan_id: p for p in plans if p.status.is_active}

    def put_order(self, order: TrackedOrder) -> None:
        """Record a committed order state (final orders leave the view)."""
        if order.status.is_active:
            self._orders[order.client_order_id] = order
        else:
            self._orders.pop(order.client_order_id, None)

    def put_plan(self, plan: Plan) -> None:
        """Record a committed plan state (closed and cancelled plans leave the view)."""
        if plan.status.is_active:
            self._plans[plan.plan_id] = plan
        else:
            self._plans.pop(plan.plan_id, None)

    def answered(self, fills: Iterable[Fill]) -> None:
        """Fills the venue returned in its answer to a placement, for the next sync to book first."""
        self._answered.extend(fills)

    def take_answered(self, symbol: Symbol) -> tuple[Fill, ...]:
        """The answered fills of ``symbol`` not taken yet (they leave the inbox)."""
        if not self._answered:
            return ()  # every sync of every symbol asks: nothing to build when nothing waits (replays, most ticks)
        taken = tuple(f for f in self._answered if f.symbol == symbol)
        self._answered = [f for f in self._answered if f.symbol != symbol]
        return taken

    def order(self, client_order_id: ClientOrderId) -> TrackedOrder | None:
        """The active order with that id, if any."""
        return self._orders.get(client_order_id)

    def plan(self, plan_id: PlanId) -> Plan | None:
        """The active plan with that id, if any."""
        return self._plans.get(plan_id)

    def orders(self, symbol: Symbol | None = None) -> tuple[TrackedOrder, ...]:
        """Active orders, oldest first; only ``symbol``'s when given."""
        return tuple(o for o in self._orders.values() if symbol is None or o.request.symbol == symbol)

    def orders_of_plan(self, plan_id: PlanId, *roles: OrderRole) -> tuple[TrackedOrder, ...]:
        """Active orders of a plan, optionally only those with one of ``roles``."""
        return tuple(
            o for o in self._orders.values() if o.plan_id == plan_id and (not roles or o.role in roles)
        )

    def plans(self, symbol: Symbol | None = None) -> tuple[Plan, ...]:
        """Active plans, oldest first; only ``symbol``'s when given."""
        return tuple(p for p in self._plans.values() if symbol is None or p.symbol == symbol)

    def symbols_with_orders(self) -> frozenset[Symbol]:
        """Symbols in which the bot has an active order."""
        return frozenset(o.request.symbol for o in self._orders.values())
