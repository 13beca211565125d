"""TradeActionHandler: turns each signal into order intents, or into a reasoned refusal."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import attrs

from trader_core.execution import (
    OrderExecutor,
    SizingPolicy,
    exit_quantity,
    liquidity_problems,
    passes_reward_risk,
    size_entry,
    slippage_verdict,
    stacking_blocked,
)
from trader_core.health import ExchangeHealthManager
from trader_core.market_data import MarketView
from trader_core.model import (
    ONE,
    ZERO,
    Action,
    ClientOrderId,
    ExchangeError,
    ExitReason,
    InstrumentRules,
    IntentStatus,
    OrderRole,
    Plan,
    PlanId,
    PlanStatus,
    Price,
    Quantity,
    Quote,
    Side,
    Signal,
    Symbol,
    TrackedOrder,
)
from trader_core.model.events import SignalHandled
from trader_core.plans import PlanMonitor, exit_side, plan_cap, protective_prices
from trader_core.ports import MarketData
from trader_core.risk import RiskManager, loss_at_stop
from trader_core.trading.maker import MakerOrders, market_order
from trader_core.trading.outcomes import ORDER_STATUS, ActionOutcome, ActionPolicy, ActionStatus

__all__ = ["TradeActionHandler"]

# An exit held up by an order of the plan in doubt: the plan's resting protection is kept (the detail starts so);
# a whole plan's exit so held up is carried out by the plan monitor once the doubt is settled.
_KEPT = "protection_kept"
_DEFERRED = "deferred"
_ENTRY_CANCELLED = "entry_cancelled"  # a close found a plan's entry still resting unfilled and cancelled it


@attrs.define
class TradeActionHandler:
    """Handles every action. Spot, long-only.

    Every entry is a plan (its stop and target are optional); SELL, PARTIAL_CLOSE and CLOSE_POSITION
    exit the bot's own plans in the symbol, never more than the bot holds, and no entry limit ever
    blocks them. The health manager decides whether an entry may go (trading ACTIVE, venue not
    suspended, the symbol's data not stale) and whether any order may (not HALTED); PAUSE_TRADING asks
    it for a pause (merged by maximum with any pause in force). ``risk`` (the bot's entry limits and loss
    limits), ``monitor`` (re-placing protection at once after UPDATE_PLAN) and ``market`` (a fresh quote
    for the slippage and liquidity guards) are optional, so the plain order path can be driven alone.
    """

    executor: OrderExecutor
    rules: Mapping[Symbol, InstrumentRules]
    policy: ActionPolicy
    health: ExchangeHealthManager
    risk: RiskManager | None = None
    monitor: PlanMonitor | None = None
    market: MarketData | None = None
    # The maker path works on this handler's own collaborators; kept apart only to keep each module short.
    _maker: MakerOrders = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._maker = MakerOrders(self.executor, self.rules, self.policy, self.health, self.market)

    def prefers_maker(self, symbol: Symbol) -> bool:
        """Whether entries and signal exits in ``symbol`` first rest as post-only limits."""
        return self._maker.prefers_maker(symbol)

    async def chase_makers(self, prices: Mapping[Symbol, Decimal]) -> tuple[TrackedOrder, ...]:
        """Maker orders past their timeout: cancelled, the rest sent marketable (:meth:`MakerOrders.chase`)."""
        return await self._maker.chase(prices)

    async def handle(self, signal: Signal, view: MarketView) -> ActionOutcome:
        """Act on ``signal`` and emit a ``SignalHandled`` event with the outcome."""
        outcome = await self._dispatch(signal, view)
        self.executor.telemetry.emit(
            SignalHandled(at=view.now, action=signal.action.value, symbol=str(signal.symbol),
                          status=outcome.status.value, detail=outcome.detail[:500])
        )
        return outcome

    async def _dispatch(self, signal: Signal, view: MarketView) -> ActionOutcome:  # noqa: PLR0911 - one per action
        answer = self._answer_without_orders(signal)
        if answer is not None:
            return answer
        price = view.last_prices.get(signal.symbol)
        if signal.action is Action.BUY:
            return await self._enter(signal, view)
        if signal.action is Action.SELL:
            return await self._sell(signal, price)
        if signal.action is Action.CLOSE_POSITION:
            return await self._exit_all(signal.symbol, ExitReason.MANUAL, signal.reason, price, pending=True)
        if signal.action is Action.CANCEL:
            return await self._cancel(signal)
        if signal.action is Action.UPDATE_PLAN:
            return await self._update_plan(signal, price)
        if signal.action is Action.PARTIAL_CLOSE:
            return await self._partial_close(signal, price)
        return ActionOutcome(ActionStatus.UNSUPPORTED, f"{signal.action.value} is not handled")

    def _answer_without_orders(self, signal: Signal) -> ActionOutcome | None:
        """The outcome of a signal that sends no order: an unknown symbol, HOLD, PAUSE_TRADING, or what the
        health manager forbids (any order while HALTED, an entry unless it may go now)."""
        if signal.symbol not in self.rules:
            return ActionOutcome(ActionStatus.UNKNOWN_SYMBOL, f"{signal.symbol} is not traded by this bot")
        if signal.action is Action.HOLD:
            return ActionOutcome(ActionStatus.HOLD, signal.reason)
        if signal.action is Action.PAUSE_TRADING:
            return self._pause(signal)
        if not self.health.may_send_orders():
            refused = self.health.credentials_refused
            why = (f"no new orders while halted: {self.health.status.reason}" if refused is None
                   else f"no new orders: {refused}")
            return ActionOutcome(ActionStatus.TRADING_HALTED, why)
        if signal.action is Action.BUY:
            refusal = self.health.entry_refusal(signal.symbol)
            if refusal is not None:
                return ActionOutcome(ActionStatus.ENTRIES_BLOCKED, refusal)
        return None

    def _pause(self, signal: Signal) -> ActionOutcome:
        duration = signal.pause if signal.pause is not None else self.health.policy.signal_pause
        status = self.health.request_pause(duration, signal.reason or "PAUSE_TRADING signal", "signal")
        if status.until is None:
            return ActionOutcome(ActionStatus.PAUSED, f"trading {status.state.value}: {status.reason}")
        return ActionOutcome(ActionStatus.PAUSED, f"no new entries until {status.until.isoformat()}")

    # -- BUY ---------------------------------------------------------------------------------------------

    async def _enter(self, signal: Signal, view: MarketView) -> ActionOutcome:  # noqa: PLR0911, PLR0912 - one per guard
        book = self.executor.book
        symbol = signal.symbol
        price = view.last_prices.get(symbol)
        if price is None:
            return ActionOutcome(ActionStatus.MISSING_PRICE, "no price seen yet")
        cap = plan_cap(book.plans(symbol), symbol, self.policy.plan_policy)
        if not cap.allowed:
            return ActionOutcome(ActionStatus.PLAN_CAP, cap.reason)
        replaced = {p.plan_id for p in cap.replace}
        staying = [p for p in book.plans(symbol) if p.plan_id not in replaced]
        position = self._held(symbol) - sum((p.quantity.value for p in cap.replace), ZERO)
        pending_buys = sum(1 for o in book.orders(symbol) if o.role is OrderRole.ENTRY and o.plan_id not in replaced)
        if self.policy.sizing is not None and stacking_blocked(Side.BUY, position, pending_buys, len(staying)):
            return ActionOutcome(ActionStatus.STACKING_BLOCKED,
                                 f"holds {position} {symbol.base} with {len(staying)} plan(s) open")
        rules = self.rules[symbol]
        mark = rules.round_price(price)
        wanted = signal.quantity.value if signal.quantity else (signal.notional or self.policy.stake) / price
        # A factor scales an entry down (volatility, break-glass), never up: a strategy or a model that wants more
        # says so with a quantity or a notional.
        wanted *= min(signal.size_factor or ONE, ONE)
        sizing = self.policy.sizing
        if sizing is None:
            quantity = rules.round_quantity(wanted)
            problems = rules.violations(quantity, mark) if quantity else ("quantity rounds to 0",)
        else:
            sized = size_entry(wanted, mark, signal, rules, sizing)
            quantity, problems = sized.quantity, sized.problems
        if problems:
            return ActionOutcome(ActionStatus.REJECTED_RULES, "; ".join(problems))
        stop = signal.stop.value if signal.stop else (mark.value * (1 - signal.stop_pct / 100) if signal.stop_pct
                                                      else None)
        quantity, notes = self._within_headroom(symbol, quantity, mark, stop, view) if sizing is not None else (
            quantity, ())
        if sizing is not None:
            target = signal.target or (mark.value * (1 + signal.target_pct / 100) if signal.target_pct else None)
            if not passes_reward_risk(Side.BUY, price, stop, target, sizing.min_rr):
                return ActionOutcome(ActionStatus.RR_BLOCKED,
                                     f"reward/risk below {sizing.min_rr} (price {price}, stop {stop}, target {target})")
        if self.risk is not None:
            verdict = self.risk.check_entry(symbol, quantity, mark, view.last_prices, stop=stop)
            if not verdict.allowed:
                return ActionOutcome(ActionStatus.RISK_BLOCKED, "; ".join((*getattr(verdict, "reasons", ()), *notes)))
        if sizing is not None and self.market is not None:
            refusal = await self._market_guard(symbol, price, sizing)
            if refusal is not None:
                return refusal
        details = [f"{quantity} {symbol.base}", *notes]
        if signal.size_factor is not None and signal.size_factor > ONE:
            details.append(f"size_factor {signal.size_factor} taken as 1 (it scales an entry down only)")
        for old in cap.replace:
            replaced_outcome = await self._exit_plan(old, ExitReason.MANUAL, f"replaced on cap by a new {symbol} entry",
                                                     price)
            details.append(f"replaced {old.plan_id}: {replaced_outcome}")
        now = self.executor.clock.now()

        # Absolute levels go on the venue's tick, as UPDATE_PLAN's do: the venue refuses a price off it.
        stop_level = rules.round_price(signal.stop.value) if signal.stop is not None else None
        target_level = rules.round_price(signal.target.value) if signal.target is not None else None

        def new_plan(plan_id: PlanId, entry_id: ClientOrderId) -> Plan:
            return Plan(
                plan_id=plan_id, run_id=self.executor.run_id, symbol=symbol, side=Side.BUY,
                status=PlanStatus.PENDING, entry_client_order_id=entry_id, opened_at=now,
                stop_price=stop_level, target_price=target_level, stop_pct=signal.stop_pct,
                target_pct=signal.target_pct, reason=signal.reason,
            )

        maker = await self._maker.request(symbol, Side.BUY, quantity)
        tracked = await self.executor.submit(
            maker or market_order(symbol, Side.BUY, quantity),
            role=OrderRole.ENTRY, new_plan=new_plan, reason=signal.reason, reference_price=price,
            fallback_follows=maker is not None,
        )
        if maker is not None:
            tracked = await self._maker.after(tracked, price)
        if self.monitor is not None and tracked.plan_id is not None:
            self.monitor.remember_volatility(tracked.plan_id, signal.regime_flag("volatility"))
        return ActionOutcome(ORDER_STATUS[tracked.status], "; ".join(details))

    def _within_headroom(self, symbol: Symbol, quantity: Quantity, mark: Price, stop: Decimal | None,
                         view: MarketView) -> tuple[Quantity, tuple[str, ...]]:
        """``quantity`` sized down to the tighter size cap (the exposure cap's headroom, as the original clamped a
        BUY, catalog §0; the per-trade loss at ``stop``), and a note when it was; an entry that cannot be trimmed to
        a sendable size is left to the risk check to refuse."""
        if self.risk is None:
            return quantity, ()
        room = self.risk.entry_room(mark.value, stop, {**view.last_prices, symbol: mark.value})
        if room is None or quantity.value <= room[0]:
            return quantity, ()
        rules = self.rules[symbol]
        trimmed = rules.round_quantity(room[0])
        if not trimmed or rules.violations(trimmed, mark):
            return quantity, ()
        return trimmed, (f"trimmed from {quantity} to {room[1]}",)

    async def _market_guard(self, symbol: Symbol, price: Decimal, sizing: SizingPolicy) -> ActionOutcome | None:
        """The slippage guard and the liquidity verdict on a fresh quote."""
        assert self.market is not None
        try:
            quote: Quote = await self.market.fetch_quote(symbol)
        except ExchangeError as exc:
            return ActionOutcome(ActionStatus.QUOTE_UNAVAILABLE, f"no fresh quote for the slippage guard: {exc}")
        verdict = slippage_verdict(price, quote.last, quote, sizing)
        if not verdict.allowed:
            return ActionOutcome(ActionStatus.SLIPPAGE_BLOCKED,
                                 f"moved {verdict.move_pct:.4f}% > cap {verdict.cap_pct:.4f}%")
        problems = liquidity_problems(quote, sizing)
        if problems:
            return ActionOutcome(ActionStatus.LIQUIDITY_BLOCKED, "; ".join(problems))
        return None

    # -- exits -------------------------------------------------------------------------------------------

    def _held(self, symbol: Symbol) -> Decimal:
        """What the bot's own plans in ``symbol`` hold."""
        return sum((p.quantity.value for p in self.executor.book.plans(symbol) if p.status is PlanStatus.OPEN), ZERO)

    async def _exit_plan(self, plan: Plan, reason: ExitReason, why: str, price: Decimal | None,
                         wanted: Decimal | None = None) -> str:
        """Exit ``wanted`` (default: all) of one plan: its pending entry and protection are cancelled first,
        then a market exit of what it holds. Returns a short status for the detail."""
        book = self.executor.book
        if book.orders_of_plan(plan.plan_id, OrderRole.EXIT):
            # An exit of it is working, or in doubt: nothing is cancelled for another.
            return self._held_up(plan, reason, why, whole=wanted is None)
        making_way = book.orders_of_plan(plan.plan_id, OrderRole.ENTRY, OrderRole.STOP, OrderRole.TARGET)
        if not await self.executor.withdraw(making_way) or book.orders_of_plan(plan.plan_id):
            return self._held_up(plan, reason, why, whole=wanted is None)
        current = book.plan(plan.plan_id)
        if current is None or current.status is not PlanStatus.OPEN or not current.quantity:
            # Never filled (its plan ends with the cancelled entry: said so when this withdrew it), or already exited.
            return _ENTRY_CANCELLED if plan.status is PlanStatus.PENDING and making_way else "nothing_held"
        mark = price if price is not None else (current.entry_price.value if current.entry_price else None)
        if mark is None:
            return "missing_price"
        sized = exit_quantity(current.quantity.value if wanted is None else wanted, current.quantity,
                              Price(mark), self.rules[current.symbol])
        if not sized.sendable:
            return "dust: " + "; ".join(sized.problems)
        side = exit_side(current)
        # Only a signal exit may rest as a maker order; risk-driven exits (stop, age, flatten, loss limit)
        # and manual closes stay marketable.
        maker = await self._maker.request(current.symbol, side, sized.quantity) if reason is ExitReason.SIGNAL else None
        tracked = await self.executor.submit(
            maker or market_order(current.symbol, side, sized.quantity),
            role=OrderRole.EXIT, plan_id=current.plan_id, exit_reason=reason, reason=why, reference_price=price,
        )
        if maker is not None:
            tracked = await self._maker.after(tracked, price)
        return self._sent(tracked, reason, why, whole=wanted is None)

    def _sent(self, tracked: TrackedOrder, reason: ExitReason, why: str, *, whole: bool) -> str:
        """The status of an exit sent; one in doubt (its answer lost) of a whole plan is sent again by the plan
        monitor should the venue prove not to have it."""
        if tracked.in_doubt and whole and self.monitor is not None and tracked.plan_id is not None:
            self.monitor.defer_exit(tracked.plan_id, reason, why)
            return f"{_DEFERRED}: exit {tracked.client_order_id} in doubt, sent again should the venue not have it"
        return ORDER_STATUS[tracked.status].value

    def _held_up(self, plan: Plan, reason: ExitReason, why: str, *, whole: bool) -> str:
        """Why an exit of ``plan`` cannot go out yet: an order of it in doubt (its resting protection was kept; the
        exit of a whole plan is left to the plan monitor for when the doubt is settled), or one still working (a
        cancel not confirmed)."""
        in_doubt = ", ".join(o.client_order_id.value for o in self.executor.book.orders_of_plan(plan.plan_id)
                             if o.in_doubt)
        if not in_doubt:
            return "exit_pending"
        if whole and self.monitor is not None:
            self.monitor.defer_exit(plan.plan_id, reason, why)
            return f"{_DEFERRED}: {in_doubt} in doubt, protection kept; the exit goes out once the venue answers for it"
        return f"{_KEPT}: {in_doubt} in doubt, no exit until the venue answers for it"

    async def _exit_all(self, symbol: Symbol, reason: ExitReason, why: str, price: Decimal | None, *,
                        pending: bool = False) -> ActionOutcome:
        """Every plan of the bot in ``symbol`` out: the bot's position, never the account balance. ``pending``: a
        plan whose entry still rests at the venue unfilled (a maker entry) has it cancelled too, so nothing fills
        after the close (a strategy's SELL or CLOSE_POSITION, the operator's close-all, any flatten)."""
        plans = [p for p in self.executor.book.plans(symbol)
                 if (p.status is PlanStatus.OPEN and p.quantity) or (pending and p.status is PlanStatus.PENDING)]
        if not plans:
            return ActionOutcome(ActionStatus.CLOSE_POSITION_NONE, "the bot holds nothing in this symbol")
        return _closed([await self._exit_plan(plan, reason, why, price) for plan in plans])

    async def flatten_all(self, why: str, prices: Mapping[Symbol, Decimal]) -> tuple[ActionOutcome, ...]:
        """Exit every plan of the bot (``ExitReason.FLATTEN``): the operator's close-all, a loss limit under
        ``loss_policy = flatten``, the flatten exit policy. An entry still resting unfilled is cancelled with its
        plan, so nothing fills and opens a position after everything was closed."""
        symbols = dict.fromkeys(p.symbol for p in self.executor.book.plans())
        return tuple([await self._exit_all(symbol, ExitReason.FLATTEN, why, prices.get(symbol), pending=True)
                      for symbol in symbols])

    async def _sell(self, signal: Signal, price: Decimal | None) -> ActionOutcome:
        """SELL: the whole of the bot's position, or ``quantity`` of it taken from its oldest plans."""
        if signal.quantity is None:
            return await self._exit_all(signal.symbol, ExitReason.SIGNAL, signal.reason, price, pending=True)
        held = self._held(signal.symbol)
        if self.risk is not None:
            marks = {} if price is None else {signal.symbol: price}
            verdict = self.risk.check_exit(signal.symbol, signal.quantity, marks)
            if not verdict.allowed:
                return ActionOutcome(ActionStatus.CLOSE_POSITION_BLOCKED, "; ".join(getattr(verdict, "reasons", ())))
        if signal.quantity.value > held:
            return ActionOutcome(ActionStatus.CLOSE_POSITION_BLOCKED,
                                 f"sells {signal.quantity} but the bot's plans hold {held}")
        left = signal.quantity.value
        statuses = []
        for plan in self.executor.book.plans(signal.symbol):
            if left <= ZERO:
                break
            if plan.status is not PlanStatus.OPEN or not plan.quantity:
                continue
            part = min(left, plan.quantity.value)
            statuses.append(await self._exit_plan(plan, ExitReason.SIGNAL, signal.reason, price, part))
            left -= part
        if not statuses:
            return ActionOutcome(ActionStatus.CLOSE_POSITION_NONE, "the bot holds nothing in this symbol")
        return _closed(statuses)

    async def _partial_close(self, signal: Signal, price: Decimal | None) -> ActionOutcome:  # noqa: PLR0911 - one per check
        """A fraction of the plan's actual filled quantity; the plan closes only when exits fill."""
        fraction = signal.close_fraction
        if signal.plan_id is None or fraction is None:
            return ActionOutcome(ActionStatus.PARTIAL_CLOSE_INVALID, "invalid plan_id or fraction")
        plan = self.executor.book.plan(signal.plan_id)
        if plan is None or plan.symbol != signal.symbol or plan.status is not PlanStatus.OPEN:
            return ActionOutcome(ActionStatus.PARTIAL_CLOSE_MISSING_PLAN,
                                 f"no open plan {signal.plan_id} in {signal.symbol}")
        if not plan.quantity:
            return ActionOutcome(ActionStatus.PARTIAL_CLOSE_ZERO_QTY, "the plan holds nothing")
        if self.executor.book.orders_of_plan(plan.plan_id, OrderRole.EXIT):
            return ActionOutcome(ActionStatus.PARTIAL_CLOSE_PENDING, "an exit of this plan is already working")
        mark = price if price is not None else (plan.entry_price.value if plan.entry_price else None)
        if mark is None:
            return ActionOutcome(ActionStatus.MISSING_PRICE, "no price seen yet")
        rules = self.rules[plan.symbol]
        sized = exit_quantity(plan.quantity.value * fraction, plan.quantity, Price(mark), rules)
        if not sized.sendable:
            return ActionOutcome(ActionStatus.PARTIAL_CLOSE_ZERO_QTY, "; ".join(sized.problems))
        if self.risk is not None:
            verdict = self.risk.check_exit(plan.symbol, sized.quantity, {plan.symbol: mark})
            if not verdict.allowed:
                return ActionOutcome(ActionStatus.PARTIAL_CLOSE_BLOCKED, "; ".join(getattr(verdict, "reasons", ())))
        why = signal.reason or f"partial close {fraction * 100:g}% of plan {plan.plan_id}"
        status = await self._exit_plan(plan, ExitReason.SIGNAL, why, price, sized.quantity.value)
        if status.startswith("order_") and status not in ("order_rejected", "order_failed", "order_unknown"):
            return ActionOutcome(ActionStatus.PARTIAL_CLOSE_EXECUTED, f"{status}: {sized.quantity} {plan.symbol.base}")
        if status == "exit_pending":
            return ActionOutcome(ActionStatus.PARTIAL_CLOSE_PENDING, "protection could not be cancelled yet")
        if status.startswith(_KEPT):
            return ActionOutcome(ActionStatus.PARTIAL_CLOSE_BLOCKED, status)
        return ActionOutcome(ActionStatus.PARTIAL_CLOSE_ERROR, status)

    # -- CANCEL, UPDATE_PLAN -----------------------------------------------------------------------------

    async def _cancel(self, signal: Signal) -> ActionOutcome:
        if signal.client_order_id is None:
            return ActionOutcome(ActionStatus.CANCEL_MISSING_ID)
        order = self.executor.book.order(signal.client_order_id)
        if order is None or order.request.symbol != signal.symbol:
            return ActionOutcome(ActionStatus.CANCEL_NOT_OURS, "only the bot's own active orders can be cancelled")
        if order.role in (OrderRole.STOP, OrderRole.TARGET):
            # The monitor would place it again at the next tick: a cancel only opens a gap in the protection.
            return ActionOutcome(ActionStatus.CANCEL_PROTECTION,
                                 "a plan's stop or target is not cancelled by a signal: UPDATE_PLAN moves it, "
                                 "CLOSE_POSITION or PARTIAL_CLOSE exits")
        result = await self.executor.cancel(order)
        return ActionOutcome(ActionStatus.CANCELLED if result.status is IntentStatus.CANCELED
                             else ActionStatus.CANCEL_FAILED, result.status.value)

    async def _update_plan(self, signal: Signal, price: Decimal | None) -> ActionOutcome:
        """New stop/target for an open (or pending) plan of the symbol; ``size_factor`` below 1 sells that
        share of the plan's position away. Bumps the version and re-places the venue bracket."""
        if signal.plan_id is None:
            return ActionOutcome(ActionStatus.UPDATE_PLAN_MISSING_ID)
        plan = self.executor.book.plan(signal.plan_id)
        if plan is None or plan.symbol != signal.symbol:
            return ActionOutcome(ActionStatus.UPDATE_PLAN_NOT_FOUND,
                                 f"no active plan {signal.plan_id} in {signal.symbol}")
        refused = _size_factor_refusal(signal, plan)
        if refused is not None:
            return ActionOutcome(ActionStatus.UPDATE_PLAN_INVALID, refused)
        rules = self.rules[plan.symbol]
        reference = price if price is not None else (plan.entry_price.value if plan.entry_price else None)
        stop = rules.round_price(signal.stop.value) if signal.stop is not None else plan.stop_price
        target = rules.round_price(signal.target.value) if signal.target is not None else plan.target_price
        if reference is not None and (refused := self._levels_refusal(plan, stop, target, reference,
                                                                       moves_stop=signal.stop is not None)):
            return ActionOutcome(ActionStatus.UPDATE_PLAN_INVALID, refused)
        unfilled = signal.size_factor is not None and signal.size_factor < ONE and plan.status is not PlanStatus.OPEN
        details = ["size_factor not applied: the entry has not filled yet"] if unfilled else []
        changes: dict[str, object] = {}
        if signal.stop is not None:
            changes.update(stop_price=stop, stop_pct=None)
        if signal.target is not None:
            changes.update(target_price=target, target_pct=None)
        if signal.reason:
            changes["reason"] = signal.reason[:200]
        if changes:
            self.executor.save(plans=(plan.evolve(**changes),))
            details.append(f"version {plan.version + 1}")
        if signal.size_factor is not None and signal.size_factor < ONE and plan.status is PlanStatus.OPEN:
            current = self.executor.book.plan(plan.plan_id) or plan
            part = current.quantity.value * (ONE - signal.size_factor)
            details.append(f"reduced: {await self._exit_plan(current, ExitReason.SIGNAL, 'size_factor', price, part)}")
        elif changes and plan.status is PlanStatus.OPEN and self.monitor is not None:
            latest = self.executor.book.plan(plan.plan_id)
            if latest is not None:
                await self.monitor.reprotect(latest, price)
                details.append("protection re-placed")
        return ActionOutcome(ActionStatus.PLAN_UPDATED, "; ".join(details))


    def _levels_refusal(self, plan: Plan, stop: Price | None, target: Price | None, reference: Decimal, *,
                        moves_stop: bool) -> str | None:
        """Why an UPDATE_PLAN's levels are refused at the price ``reference``: a stop not below it, a target not
        above it, a stop moved beyond the per-trade loss cap. None when they may go."""
        sign = plan.side.sign
        if stop is not None and (reference - stop.value) * sign <= 0:
            return f"stop {stop} not below the price {reference}"
        if target is not None and (target.value - reference) * sign <= 0:
            return f"target {target} not above the price {reference}"
        return self._beyond_loss_cap(plan, stop.value, reference) if moves_stop and stop is not None else None

    def _beyond_loss_cap(self, plan: Plan, stop: Decimal, reference: Decimal) -> str | None:
        """Why moving ``plan``'s stop to ``stop`` is refused: it would put more at risk than the per-trade loss cap
        and more than the stop it replaces (a stop moved towards the entry always goes). None when it may go."""
        cap = None if self.risk is None else self.risk.trade_loss_cap({plan.symbol: reference})
        if cap is None:
            return None
        entry = plan.entry_price.value if plan.entry_price is not None else reference
        held = plan.quantity.value if plan.status is PlanStatus.OPEN else sum(
            (o.request.quantity.value for o in self.executor.book.orders_of_plan(plan.plan_id, OrderRole.ENTRY)), ZERO)
        fee = self.risk.policy.trade_fee_rate if self.risk is not None else ZERO
        loss = loss_at_stop(held, entry, stop, fee)
        current, _ = protective_prices(plan, self.rules[plan.symbol])
        if loss <= cap or loss <= loss_at_stop(held, entry, None if current is None else current.value, fee):
            return None
        return f"stop {stop:f} would put {loss.normalize():f} at risk, above the per-trade loss cap {cap.normalize():f}"


def _size_factor_refusal(signal: Signal, plan: Plan) -> str | None:
    """Why an UPDATE_PLAN's ``size_factor`` cannot be carried out, when that is all it asks; None otherwise."""
    if signal.size_factor is None:
        return None
    if signal.size_factor > ONE:
        return "size_factor above 1 would add to the plan: send a BUY instead"
    if plan.status is not PlanStatus.OPEN and signal.stop is None and signal.target is None:
        return (f"size_factor not applied: the entry of {plan.plan_id} has not filled yet (cancel it or wait for the "
                "fill)")
    return None


def _closed(statuses: list[str]) -> ActionOutcome:
    """A SELL's or CLOSE_POSITION's outcome from each plan's exit status: executed when an exit went out (or one
    is pending), deferred when one waits for an order in doubt, none when no plan held anything, else blocked."""
    sent = any(s.startswith("order_") and s not in ("order_rejected", "order_failed", "order_unknown")
               for s in statuses)
    if sent or "exit_pending" in statuses or _ENTRY_CANCELLED in statuses:
        status = ActionStatus.CLOSE_POSITION_EXECUTED
    elif any(s.startswith(_DEFERRED) for s in statuses):
        status = ActionStatus.CLOSE_POSITION_DEFERRED
    elif all(s == "nothing_held" for s in statuses):
        status = ActionStatus.CLOSE_POSITION_NONE
    else:
        status = ActionStatus.CLOSE_POSITION_BLOCKED
    return ActionOutcome(status, ",".join(statuses))
