"""PlanMonitor: keeps every open plan protected, by the venue where it can hold exits, else by itself."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import attrs

from trader_core.domain.execution import OrderExecutor
from trader_core.domain.plan_rules import exit_side, protective_prices
from trader_core.model import (
    ExitBracket,
    ExitReason,
    InstrumentRules,
    OrderRequest,
    OrderRole,
    OrderType,
    Plan,
    PlanStatus,
    Price,
    Symbol,
)

__all__ = ["PlanMonitor"]

_MAX_PROTECTION_ATTEMPTS = 3


@attrs.define
class PlanMonitor:
    """Places a plan's stop and target once its entry has finished filling.

    On a venue that holds protective exits they go there as a one-cancels-other bracket, so they
    survive the bot being down; elsewhere the monitor compares each new price with them and sends
    the exit itself. It runs every tick, also while entries are paused.
    """

    executor: OrderExecutor
    rules: Mapping[Symbol, InstrumentRules]
    _attempts: dict[str, int] = attrs.field(factory=dict, init=False)

    async def protect(self, last_prices: Mapping[Symbol, Decimal]) -> None:
        """Protect every open plan that has a stop or target and no protection or exit in flight."""
        book = self.executor.book
        for current in book.plans():
            plan = current
            if plan.status is not PlanStatus.OPEN or not plan.quantity:
                continue
            if book.orders_of_plan(plan.plan_id):
                continue  # entry still working, protection resting, or an exit in flight
            rules = self.rules[plan.symbol]
            stop, target = protective_prices(plan, rules)
            if stop is None and target is None:
                continue
            changed = (stop, target) != (plan.stop_price, plan.target_price)
            if changed:
                plan = plan.evolve(stop_price=stop, target_price=target)
            if self.executor.trading.holds_protective_exits and stop is not None and target is not None:
                await self._place_bracket(plan, rules, stop, target, plan_changed=changed)
                continue
            if changed:
                self.executor.save(plans=(plan,))
            if self.executor.trading.holds_protective_exits:
                await self._place(plan, rules)
            else:
                await self._watch(plan, rules, last_prices.get(plan.symbol))

    def _may_try(self, plan: Plan) -> bool:
        attempts = self._attempts.get(plan.plan_id.value, 0)
        if attempts >= _MAX_PROTECTION_ATTEMPTS:
            return False  # refused repeatedly: an event per try was emitted; do not hammer the venue
        self._attempts[plan.plan_id.value] = attempts + 1
        return True

    async def _place_bracket(
        self, plan: Plan, rules: InstrumentRules, stop: Price, target: Price, *, plan_changed: bool
    ) -> None:
        if not self._may_try(plan):
            return
        quantity = rules.round_quantity(plan.quantity.value)
        side = exit_side(plan)
        await self.executor.submit_bracket(
            plan,
            lambda stop_id, target_id: ExitBracket(
                symbol=plan.symbol, side=side, quantity=quantity, stop_price=stop, target_price=target,
                stop_client_order_id=stop_id, target_client_order_id=target_id,
            ),
            plan_changed=plan_changed,
        )

    async def _place(self, plan: Plan, rules: InstrumentRules) -> None:
        if not self._may_try(plan):
            return
        quantity = rules.round_quantity(plan.quantity.value)
        side = exit_side(plan)
        stop, target = plan.stop_price, plan.target_price
        if stop is not None:
            await self.executor.submit(
                lambda cid: OrderRequest(client_order_id=cid, symbol=plan.symbol, side=side,
                                         order_type=OrderType.STOP_LOSS, quantity=quantity, stop_price=stop),
                role=OrderRole.STOP, plan_id=plan.plan_id,
            )
        elif target is not None:
            await self.executor.submit(
                lambda cid: OrderRequest(client_order_id=cid, symbol=plan.symbol, side=side,
                                         order_type=OrderType.TAKE_PROFIT, quantity=quantity, price=target),
                role=OrderRole.TARGET, plan_id=plan.plan_id,
            )

    async def _watch(self, plan: Plan, rules: InstrumentRules, price: Decimal | None) -> None:
        if price is None:
            return
        reason = triggered_exit(plan, price)
        if reason is None:
            return
        quantity = rules.round_quantity(plan.quantity.value)
        if not quantity:
            return
        await self.executor.submit(
            lambda cid: OrderRequest(client_order_id=cid, symbol=plan.symbol, side=exit_side(plan),
                                     order_type=OrderType.MARKET, quantity=quantity),
            reference_price=price,
            role=OrderRole.EXIT, plan_id=plan.plan_id, exit_reason=reason, reason=f"{reason.value} at {price}",
        )


def triggered_exit(plan: Plan, price: Decimal) -> ExitReason | None:
    """Which protective level ``price`` has reached, if any; the stop wins when both have. Side-symmetric."""
    sign = plan.side.sign
    if plan.stop_price is not None and (price - plan.stop_price.value) * sign <= 0:
        return ExitReason.STOP
    if plan.target_price is not None and (price - plan.target_price.value) * sign >= 0:
        return ExitReason.TARGET
    return None
