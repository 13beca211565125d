"""TradeActionHandler: turns each signal into order intents, or into a reasoned refusal."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

import attrs

from trader_core.domain.execution import OrderExecutor
from trader_core.domain.health import ExchangeHealthManager
from trader_core.domain.market_data import MarketView
from trader_core.domain.plan_rules import exit_side
from trader_core.model import (
    Action,
    ClientOrderId,
    ExitReason,
    InstrumentRules,
    IntentStatus,
    OrderRequest,
    OrderRole,
    OrderType,
    Plan,
    PlanId,
    PlanStatus,
    Quantity,
    Side,
    Signal,
    Symbol,
)
from trader_core.model.events import SignalHandled

__all__ = ["ActionOutcome", "ActionPolicy", "TradeActionHandler"]


@attrs.frozen(kw_only=True)
class ActionPolicy:
    """Settings of the action handler. ``stake`` is the quote notional of an entry without a size."""

    stake: Decimal
    max_plans_per_symbol: int = 1


@attrs.frozen
class ActionOutcome:
    """What became of a signal: a status from the original's vocabulary and a detail."""

    status: str
    detail: str = ""


@attrs.define
class TradeActionHandler:
    """Handles BUY, SELL, CLOSE_POSITION, CANCEL, HOLD and PAUSE_TRADING. Spot, long-only.

    Every entry is a plan (its stop and target are optional); a SELL exits the bot's own plans in the
    symbol, never more than the bot holds. The health manager decides whether an entry may go (trading
    ACTIVE, venue not suspended, the symbol's data not stale) and whether any order may (not HALTED);
    PAUSE_TRADING asks it for a pause (merged by maximum with any pause in force).
    """

    executor: OrderExecutor
    rules: Mapping[Symbol, InstrumentRules]
    policy: ActionPolicy
    health: ExchangeHealthManager

    async def handle(self, signal: Signal, view: MarketView) -> ActionOutcome:
        """Act on ``signal`` and emit a ``SignalHandled`` event with the outcome."""
        outcome = await self._dispatch(signal, view)
        self.executor.telemetry.emit(
            SignalHandled(at=view.now, action=signal.action.value, symbol=str(signal.symbol),
                          status=outcome.status, detail=outcome.detail)
        )
        return outcome

    async def _dispatch(self, signal: Signal, view: MarketView) -> ActionOutcome:
        answer = self._answer_without_orders(signal)
        if answer is not None:
            return answer
        if signal.action is Action.BUY:
            return await self._enter(signal, view)
        if signal.action in (Action.SELL, Action.CLOSE_POSITION):
            reason = ExitReason.SIGNAL if signal.action is Action.SELL else ExitReason.MANUAL
            return await self._exit_all(signal.symbol, reason, signal.reason, view.last_prices.get(signal.symbol))
        if signal.action is Action.CANCEL:
            return await self._cancel(signal)
        return ActionOutcome("unsupported", f"{signal.action.value} is not handled yet")

    def _answer_without_orders(self, signal: Signal) -> ActionOutcome | None:
        """The outcome of a signal that sends no order: an unknown symbol, HOLD, PAUSE_TRADING, or what the
        health manager forbids (any order while HALTED, an entry unless it may go now)."""
        if signal.symbol not in self.rules:
            return ActionOutcome("unknown_symbol", f"{signal.symbol} is not traded by this bot")
        if signal.action is Action.HOLD:
            return ActionOutcome("hold", signal.reason)
        if signal.action is Action.PAUSE_TRADING:
            return self._pause(signal)
        if not self.health.may_send_orders():
            return ActionOutcome("trading_halted", f"no new orders while halted: {self.health.status.reason}")
        if signal.action is Action.BUY:
            refusal = self.health.entry_refusal(signal.symbol)
            if refusal is not None:
                return ActionOutcome("entries_blocked", refusal)
        return None

    def _pause(self, signal: Signal) -> ActionOutcome:
        duration = signal.pause if signal.pause is not None else self.health.policy.signal_pause
        status = self.health.request_pause(duration, signal.reason or "PAUSE_TRADING signal", "signal")
        if status.until is None:
            return ActionOutcome("paused", f"trading {status.state.value}: {status.reason}")
        return ActionOutcome("paused", f"no new entries until {status.until.isoformat()}")

    async def _enter(self, signal: Signal, view: MarketView) -> ActionOutcome:
        book = self.executor.book
        price = view.last_prices.get(signal.symbol)
        if price is None:
            return ActionOutcome("missing_price", "no price seen yet")
        open_plans = book.plans(signal.symbol)
        if len(open_plans) >= self.policy.max_plans_per_symbol:
            return ActionOutcome("plan_cap", f"{len(open_plans)}/{self.policy.max_plans_per_symbol} plans open")
        rules = self.rules[signal.symbol]
        wanted = signal.quantity.value if signal.quantity else (signal.notional or self.policy.stake) / price
        quantity = rules.round_quantity(wanted * (signal.size_factor or 1))
        refusal = rules.violations(quantity, rules.round_price(price)) if quantity else ("quantity rounds to 0",)
        if refusal:
            return ActionOutcome("rejected_rules", "; ".join(refusal))
        now = self.executor.clock.now()

        def new_plan(plan_id: PlanId, entry_id: ClientOrderId) -> Plan:
            return Plan(
                plan_id=plan_id, run_id=self.executor.run_id, symbol=signal.symbol, side=Side.BUY,
                status=PlanStatus.PENDING, entry_client_order_id=entry_id, opened_at=now,
                stop_price=signal.stop, target_price=signal.target, stop_pct=signal.stop_pct,
                target_pct=signal.target_pct, reason=signal.reason,
            )

        tracked = await self.executor.submit(
            _market_order(signal.symbol, Side.BUY, quantity),
            role=OrderRole.ENTRY, new_plan=new_plan, reason=signal.reason, reference_price=price,
        )
        return _order_outcome(tracked.status)

    async def _exit_all(
        self, symbol: Symbol, reason: ExitReason, why: str, price: Decimal | None
    ) -> ActionOutcome:
        book = self.executor.book
        plans = [p for p in book.plans(symbol) if p.status is PlanStatus.OPEN and p.quantity]
        if not plans:
            return ActionOutcome("close_position_none", "the bot holds nothing in this symbol")
        statuses = []
        for plan in plans:
            await self.executor.cancel_all(book.orders_of_plan(plan.plan_id))
            if book.orders_of_plan(plan.plan_id, OrderRole.EXIT, OrderRole.STOP, OrderRole.TARGET):
                statuses.append("exit_pending")
                continue
            current = book.plan(plan.plan_id)
            if current is None or not current.quantity:
                continue  # a protective exit filled meanwhile
            quantity = self.rules[symbol].round_quantity(current.quantity.value)
            if not quantity:
                statuses.append("dust")
                continue
            tracked = await self.executor.submit(
                _market_order(symbol, exit_side(current), quantity),
                role=OrderRole.EXIT, plan_id=plan.plan_id, exit_reason=reason, reason=why,
                reference_price=price,
            )
            statuses.append(_order_outcome(tracked.status).status)
        return ActionOutcome("close_position_executed" if statuses else "close_position_none", ",".join(statuses))

    async def _cancel(self, signal: Signal) -> ActionOutcome:
        if signal.client_order_id is None:
            return ActionOutcome("cancel_missing_id")
        order = self.executor.book.order(signal.client_order_id)
        if order is None or order.request.symbol != signal.symbol:
            return ActionOutcome("cancel_not_ours", "only the bot's own active orders can be cancelled")
        result = await self.executor.cancel(order)
        return ActionOutcome("cancelled" if result.status is IntentStatus.CANCELED else "cancel_failed")


def _market_order(symbol: Symbol, side: Side, quantity: Quantity) -> Callable[[ClientOrderId], OrderRequest]:
    def build(client_order_id: ClientOrderId) -> OrderRequest:
        return OrderRequest(
            client_order_id=client_order_id, symbol=symbol, side=side, order_type=OrderType.MARKET, quantity=quantity
        )

    return build


def _order_outcome(status: IntentStatus) -> ActionOutcome:
    if status is IntentStatus.REJECTED:
        return ActionOutcome("order_rejected")
    if status is IntentStatus.FAILED:
        return ActionOutcome("order_failed")
    if status is IntentStatus.UNKNOWN:
        return ActionOutcome("order_unknown")
    return ActionOutcome(f"order_{status.value}")

