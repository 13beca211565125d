"""PlanMonitor: keeps every open plan protected, by the venue where it can hold exits, else by itself."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from decimal import Decimal

import attrs

from trader_core.execution import OrderExecutor, exit_quantity
from trader_core.health import ExchangeHealthManager
from trader_core.model import (
    ZERO,
    ExchangeError,
    ExitBracket,
    ExitReason,
    InstrumentRules,
    IntentStatus,
    OrderRequest,
    OrderRole,
    OrderType,
    Plan,
    PlanId,
    PlanStatus,
    Price,
    Side,
    Symbol,
    TrackedOrder,
    WouldTriggerError,
)
from trader_core.model.events import ProtectionBesideDoubt, ProtectionFailed
from trader_core.plans.policy import (
    PlanPolicy,
    age_exceeded,
    day_end_due,
    local_day,
    loss_capped_stop,
    overnight_widening,
    trail_to_breakeven,
)
from trader_core.plans.rules import exit_side, protective_prices

__all__ = ["PlanMonitor"]

_MAX_PROTECTION_ATTEMPTS = 3
# While an unprotected plan's exit waits to be tried again, entries are held back this long (renewed at each try).
_RETRY_PAUSE = timedelta(minutes=1)
# The ``values`` key holding a plan's last overnight widening day (ISO date), after this prefix its plan id.
_WIDENED_KEY = "plans.widened_on:"
# The ``values`` key holding a plan's deferred exit ("<reason>\n<why>", empty once carried out or ended).
_DEFERRED_KEY = "plans.deferred_exit:"
# The ``values`` key holding the volatility flag of a plan's entry signal (it scales the plan's trail).
_VOLATILITY_KEY = "plans.volatility:"
_EXIT_REASONS = frozenset(r.value for r in ExitReason)


_OFF = PlanPolicy(trail_to_breakeven=None, max_age=None, overnight_widen=False)


@attrs.define
class PlanMonitor:
    """Keeps every open plan protected and applies the plan rules (``plan_policy.py``) each tick.

    Protection: once a plan's entry has finished filling, its stop and target go to the venue as a
    one-cancels-other bracket (they survive the bot being down); on a venue that cannot hold them the
    monitor compares each new price with them and sends the exit itself. Rules, in order: maximum age
    and the day-end flatten exit the plan (``ExitReason.AGE`` / ``FLATTEN``, a market exit through the
    executor after the bracket is cancelled); trail to breakeven and overnight widening move the levels,
    and any change of stop or target re-places the bracket (cancel, then place). A bracket whose
    quantity no longer matches the plan's (an entry fill booked after it was placed) is re-placed too.
    It runs every tick, also while entries are paused, the data is stale or trading is REDUCING.

    The volatility flag that scales the trail is the entry signal's ``regime``, kept by plan id
    (``remember_volatility``) in memory and in the store, so a restarted process trails the plan alike.
    The day of a plan's last overnight widening is kept in memory and in the store's ``values`` (a restart the same
    day does not widen it again).
    """

    executor: OrderExecutor
    rules: Mapping[Symbol, InstrumentRules]
    policy: PlanPolicy = _OFF
    health: ExchangeHealthManager | None = None  # halted when an unprotected plan cannot even be exited
    # What one plan may lose at its stop, at given prices (the risk manager's per-trade cap; None: no cap). A widening
    # stops there.
    loss_cap: Callable[[Mapping[Symbol, Decimal]], Decimal | None] | None = None
    loss_fee_rate: Decimal = ZERO  # the fee per side the loss cap counts (``RiskPolicy.trade_fee_rate``)
    _marks: Mapping[Symbol, Decimal] = attrs.field(factory=dict, init=False)
    _attempts: dict[str, int] = attrs.field(factory=dict, init=False)
    _volatility: dict[str, str] = attrs.field(factory=dict, init=False)
    _widened_on: dict[str, date] = attrs.field(factory=dict, init=False)
    _widening_loaded: set[str] = attrs.field(factory=set, init=False)
    _deferred_exits: dict[PlanId, tuple[ExitReason, str]] = attrs.field(factory=dict, init=False)
    _remembered_loaded: bool = attrs.field(default=False, init=False)
    # Plans whose last price was past their stop at the previous tick while the venue's stop rested unfilled.
    _past_stop: set[PlanId] = attrs.field(factory=set, init=False)

    def _last_widening(self, plan_id: PlanId) -> date | None:
        """The local day of the plan's last overnight widening: from memory, else once from the store (a process
        restarted the same day must not widen the plan a second time)."""
        key = plan_id.value
        if key not in self._widened_on and key not in self._widening_loaded:
            self._widening_loaded.add(key)
            with self.executor.store.unit_of_work() as uow:
                stored = uow.values.find(_WIDENED_KEY + key)
            if stored is not None:
                self._widened_on[key] = date.fromisoformat(stored)
        return self._widened_on.get(key)

    def _remember_widening(self, plan_id: PlanId, day: date) -> None:
        self._widened_on[plan_id.value] = day
        with self.executor.store.unit_of_work() as uow:
            uow.values.put(_WIDENED_KEY + plan_id.value, day.isoformat())
            uow.commit()

    def remember_volatility(self, plan_id: PlanId, flag: str | None) -> None:
        """The entry signal's volatility flag for ``plan_id`` (scales its breakeven trail)."""
        if flag:
            self._volatility[plan_id.value] = flag
            with self.executor.store.unit_of_work() as uow:
                uow.values.put(_VOLATILITY_KEY + plan_id.value, flag)
                uow.commit()

    def defer_exit(self, plan_id: PlanId, reason: ExitReason, why: str) -> None:
        """Exit ``plan_id`` once none of its orders is in doubt and none is working (an exit asked for while one was
        in doubt). Forgotten when the plan ends first. Kept in the store too: a restarted process carries it out."""
        self._deferred_exits[plan_id] = (reason, why)
        self._store_deferred(plan_id, f"{reason.value}\n{why}")

    def _store_deferred(self, plan_id: PlanId, value: str) -> None:
        with self.executor.store.unit_of_work() as uow:
            uow.values.put(_DEFERRED_KEY + plan_id.value, value)
            uow.commit()

    def _load_remembered(self) -> None:
        """At this process's first tick, what an earlier process remembered of the plans it left: their deferred
        exits and their entry's volatility flag (plans opened later are this process's own)."""
        self._remembered_loaded = True
        plans = [p.plan_id for p in self.executor.book.plans()]
        if not plans:
            return
        with self.executor.store.unit_of_work() as uow:
            stored = {plan_id: (uow.values.find(_DEFERRED_KEY + plan_id.value),
                                uow.values.find(_VOLATILITY_KEY + plan_id.value)) for plan_id in plans}
        for plan_id, (deferred, volatility) in stored.items():
            reason, _, why = (deferred or "").partition("\n")
            if reason in _EXIT_REASONS and plan_id not in self._deferred_exits:
                self._deferred_exits[plan_id] = (ExitReason(reason), why)
            if volatility:
                self._volatility.setdefault(plan_id.value, volatility)

    def _settle_deferred(self) -> None:
        """The deferred exits as they stand: an earlier process's loaded once (with what else it remembered of its
        plans), those of plans that ended forgotten."""
        if not self._remembered_loaded:
            self._load_remembered()
        for ended in [p for p in self._deferred_exits if self.executor.book.plan(p) is None]:
            del self._deferred_exits[ended]
            self._store_deferred(ended, "")

    async def protect(self, last_prices: Mapping[Symbol, Decimal], *, again: bool = False) -> None:
        """Carry out the exits deferred until now, apply the plan rules to every open plan, then protect those with no
        protection in flight. ``again``: a second pass in the same tick (after the tick's orders), which does not
        count as a tick of its own for the rule of a stop the price has gapped through (two ticks in a row)."""
        book = self.executor.book
        self._marks = last_prices
        self._settle_deferred()
        if self._past_stop:
            self._past_stop = {p for p in self._past_stop if book.plan(p) is not None}
        for plan in book.plans():
            if plan.status is not PlanStatus.OPEN or not plan.quantity:
                continue
            orders = book.orders_of_plan(plan.plan_id)
            legs = tuple(o for o in orders if o.role in (OrderRole.STOP, OrderRole.TARGET))
            price = last_prices.get(plan.symbol)
            working = tuple(o for o in orders if o.role in (OrderRole.ENTRY, OrderRole.EXIT))
            if plan.plan_id in self._deferred_exits and not working and not any(o.in_doubt for o in orders):
                reason, why = self._deferred_exits.pop(plan.plan_id)
                sent = await self.exit_plan(plan, reason, price, why)
                if sent is not None and sent.in_doubt:
                    self._deferred_exits[plan.plan_id] = (reason, why)
                else:
                    self._store_deferred(plan.plan_id, "")
                continue
            if working:
                # An entry still working, or an exit in flight; an exit in doubt (with nothing resting) may be
                # protected beside, as a bracket in doubt is.
                if all(o.role is OrderRole.EXIT for o in working) and all(o.in_doubt for o in orders):
                    await self._protect_beside_doubt(plan, orders, price)
                continue
            if legs and all(leg.in_doubt for leg in legs) and await self._protect_beside_doubt(plan, legs, price):
                continue
            if legs and price is not None and self._target_reached_beside_a_venue_stop(plan, price):
                await self.exit_plan(plan, ExitReason.TARGET, price,
                                     f"target reached at {price} (held by the bot beside the venue's stop)")
                continue
            if not again and self._stop_left_behind(plan, legs, price):
                await self._exit_unprotected(plan, ExitReason.STOP, price,
                                             f"the price gapped through the stop {plan.stop_price}: last {price} at "
                                             "two ticks in a row and the venue's stop has not filled")
                continue
            await self._evaluate(plan, legs, price)

    async def _evaluate(self, plan: Plan, legs: tuple[TrackedOrder, ...], price: Decimal | None) -> None:
        rules = self.rules[plan.symbol]
        now = self.executor.clock.now()
        reason = ExitReason.AGE if age_exceeded(plan, now, self.policy) else (
            ExitReason.FLATTEN if day_end_due(plan, now, self.policy) else None)
        if reason is not None:
            await self.exit_plan(plan, reason, price, f"{reason.value}: plan opened {plan.opened_at.isoformat()}")
            return
        stop, target = protective_prices(plan, rules)
        if stop is None and target is None:
            return
        levels = plan.evolve(stop_price=stop, target_price=target) if (stop, target) != (
            plan.stop_price, plan.target_price) else plan
        moved = False
        if price is not None:
            trailed = trail_to_breakeven(levels, price, self.policy, self._volatility.get(plan.plan_id.value))
            if trailed is not None:
                stop, moved = rules.round_price(trailed.value), True
        widened = self._widen(levels, stop, target, rules)
        moved = moved or widened != (stop, target)
        stop, target = widened
        changed = (stop, target) != (plan.stop_price, plan.target_price)
        updated = plan.evolve(stop_price=stop, target_price=target) if changed else plan
        if legs and not (moved or self._resize_due(updated, legs, rules)):
            return  # protection resting as it should
        if legs:
            self._attempts.pop(plan.plan_id.value, None)
            if not await self._cancel_legs(plan):
                return
            current = self.executor.book.plan(plan.plan_id)
            if current is None or current.version != plan.version or not current.quantity:
                return  # a leg filled meanwhile: the plan moved on
        elif price is not None and (passed := triggered_exit(updated, price)) is not None:
            # Unprotected and already past its stop (or target): after a crash, a pause or an outage the venue
            # would refuse the bracket anyway. Exiting now is what the stop (or target) was for.
            await self._exit_unprotected(plan, passed, price, f"{passed.value} passed before protection was placed "
                                                              f"(last price {price})")
            return
        await self._protect(updated, rules, stop, target, changed=changed, price=price)

    async def _protect(self, plan: Plan, rules: InstrumentRules, stop: Price | None, target: Price | None, *,
                       changed: bool, price: Decimal | None, exit_if_passed: bool = True) -> None:
        """Place the plan's protection as the venue can hold it. When the venue says the market is already past a
        level, the plan is exited (unless not ``exit_if_passed``: then nothing more is done this tick). A placement
        whose answer was lost is followed at once by one beside it when the balance lock lets only one of the two
        rest (``_protect_beside_doubt``): the plan is protected in this tick, not the next (unless
        ``exit_if_passed`` is off: that is the call beside a doubt already)."""
        if self.executor.trading.holds_protective_exits and stop is not None and target is not None:
            try:
                await self._place_bracket(plan, rules, stop, target, plan_changed=changed)
            except WouldTriggerError as exc:
                if not exit_if_passed:
                    return
                passed = (triggered_exit(plan.evolve(stop_price=stop, target_price=target), price)
                          if price is not None else None) or ExitReason.STOP
                await self._exit_unprotected(plan, passed, price, f"the venue refused protection: {exc}"[:300])
                return
        else:
            if changed:
                self.executor.save(plans=(plan,))
            trading = self.executor.trading
            if not (trading.holds_protective_exits or (trading.holds_protective_stops and stop is not None)):
                await self._watch(plan, rules, price)
                return
            await self._place(plan, rules)  # without OCO: the stop rests at the venue, the bot holds the target
        if exit_if_passed:
            legs = self.executor.book.orders_of_plan(plan.plan_id, OrderRole.STOP, OrderRole.TARGET)
            current = self.executor.book.plan(plan.plan_id)
            if legs and current is not None and all(leg.in_doubt for leg in legs):
                await self._protect_beside_doubt(current, legs, price)

    async def _protect_beside_doubt(self, plan: Plan, legs: tuple[TrackedOrder, ...], price: Decimal | None) -> bool:
        """Protect ``plan`` now although its only protection (``legs``: a bracket, or the exit that replaced it) is a
        placement in doubt, when the venue's balance lock lets at most one of the two take the asset; True when
        protection went out.

        Until a placement in doubt is answered for or proven absent (on Binance, 25 s after it was sent) the venue
        may still accept it. A spot venue holds the quantity of a resting sell order and a market sell needs it
        free, so when the account holds less of the asset than the two quantities together, whichever reaches the
        book first takes it and the venue refuses the other (a late exit so refused is proven absent in its time,
        and the plan stays open under its new bracket, as after any failed exit). With more of the asset in the
        account (a holding that is not the bot's), both could go through and the second would sell what is not the
        bot's: the monitor waits for the venue's word, as it does when the price is already past a level (an exit
        beside a bracket that landed would sell twice), for a short plan (its lock is in the quote asset), once
        this process's attempts for the plan are spent, and when less than the plan is free (the order in doubt has
        most likely taken it: a replacement would only be refused)."""
        trading = self.executor.trading
        if (plan.side is not Side.BUY or price is None
                or not (trading.holds_protective_exits or trading.holds_protective_stops)
                or self._attempts.get(plan.plan_id.value, 0) >= _MAX_PROTECTION_ATTEMPTS):
            return False
        rules = self.rules[plan.symbol]
        stop, target = protective_prices(plan, rules)
        changed = (stop, target) != (plan.stop_price, plan.target_price)
        updated = plan.evolve(stop_price=stop, target_price=target) if changed else plan
        quantity = rules.round_quantity(plan.quantity.value)
        if stop is None or not quantity.value or triggered_exit(updated, price) is not None:
            return False
        try:
            balances = await trading.fetch_balances()
        except ExchangeError:
            return False
        base = [b for b in balances if b.asset == plan.symbol.base]
        held = sum((b.total for b in base), Decimal(0))
        in_doubt = min(legs, key=lambda leg: leg.request.quantity.value)
        if held >= quantity.value + in_doubt.request.quantity.value:
            return False
        if sum((b.free for b in base), Decimal(0)) < quantity.value:
            return False  # the venue would refuse it: something holds the asset, most likely the order in doubt
        self.executor.telemetry.emit(ProtectionBesideDoubt(
            at=self.executor.clock.now(), plan_id=plan.plan_id.value, symbol=str(plan.symbol),
            in_doubt=in_doubt.client_order_id.value, held=str(held)))
        # Should the market reach a level meanwhile, no exit: the venue's word on the placement in doubt decides.
        await self._protect(updated, rules, stop, target, changed=changed, price=price, exit_if_passed=False)
        return True

    def _widen(self, plan: Plan, stop: Price | None, target: Price | None, rules: InstrumentRules,
               ) -> tuple[Price | None, Price | None]:
        """The plan's stop and target after today's overnight widening, if one is due (remembered: once a day); a
        widened stop goes no further than the per-trade loss cap allows."""
        now = self.executor.clock.now()
        if not self.policy.overnight_widen or self._widened_on.get(plan.plan_id.value) == (
                today := local_day(now, self.policy)) or local_day(plan.opened_at, self.policy) >= today:
            return stop, target  # checked here first: widening applies once per local day; the loop asks every tick
        widened_on = self._last_widening(plan.plan_id)
        if widened_on == today:
            return stop, target
        widening = overnight_widening(attrs.evolve(plan, stop_price=stop), now, self.policy, widened_on)
        if widening is None:
            return stop, target
        self._remember_widening(plan.plan_id, widening.day)
        if widening.stop is not None:
            stop = self._within_loss_cap(plan, rules.round_price(widening.stop.value), stop, rules)
        return stop, rules.round_price(widening.target.value) if widening.target is not None else target

    def _within_loss_cap(self, plan: Plan, proposed: Price, previous: Price | None, rules: InstrumentRules) -> Price:
        """``proposed`` (a widened stop of ``plan``) held to the per-trade loss cap (``loss_capped_stop``)."""
        cap = None if self.loss_cap is None else self.loss_cap(self._marks)
        held = loss_capped_stop(plan, proposed.value, None if previous is None else previous.value, cap,
                                rules.tick_size, fee_rate=self.loss_fee_rate)
        return proposed if held == proposed.value else Price(held)

    def _stop_left_behind(self, plan: Plan, legs: tuple[TrackedOrder, ...], price: Decimal | None) -> bool:
        """Whether the plan's stop rests at the venue unfilled although the last price has been past it at this tick
        and the previous one. Where a symbol has no market stop the venue holds a stop-limit (Binance's BTCUSDT,
        Gemini): a price that gaps through its limit triggers it and leaves it resting as a limit order the market
        has left behind, so the position is unprotected while the loss grows. A stop that is filling is booked by
        the tick's sync before this is asked; the exit cancels the legs first, and a leg found filled then ends
        the plan without an exit."""
        stop = plan.stop_price
        resting = [leg for leg in legs if leg.role is OrderRole.STOP and not leg.in_doubt
                   and leg.status in (IntentStatus.OPEN, IntentStatus.PARTIALLY_FILLED)]
        if stop is None or price is None or not resting or (price - stop.value) * plan.side.sign >= 0:
            self._past_stop.discard(plan.plan_id)
            return False
        if plan.plan_id not in self._past_stop:
            self._past_stop.add(plan.plan_id)
            return False
        self._past_stop.discard(plan.plan_id)
        return True

    def _target_reached_beside_a_venue_stop(self, plan: Plan, price: Decimal) -> bool:
        """Whether ``plan`` rests on a venue-held stop alone (no OCO) and the price has reached its target."""
        trading = self.executor.trading
        if trading.holds_protective_exits or not trading.holds_protective_stops or plan.target_price is None:
            return False
        return triggered_exit(plan.evolve(stop_price=None), price) is ExitReason.TARGET

    def _resize_due(self, plan: Plan, legs: tuple[TrackedOrder, ...], rules: InstrumentRules) -> bool:
        """The bracket no longer covers what the plan holds (and no leg has started filling)."""
        wanted = rules.round_quantity(plan.quantity.value)
        return bool(wanted) and all(not leg.filled_quantity and leg.request.quantity != wanted for leg in legs)

    async def _cancel_legs(self, plan: Plan) -> bool:
        """Cancel the plan's protective legs to make way for new ones or an exit (``OrderExecutor.withdraw``: a
        leg resting at the venue stays while one in doubt does); True when none is left working."""
        return await self.executor.withdraw(
            self.executor.book.orders_of_plan(plan.plan_id, OrderRole.STOP, OrderRole.TARGET))

    async def reprotect(self, plan: Plan, last_price: Decimal | None = None) -> None:
        """Re-place ``plan``'s protection now (its levels or size changed): cancel, then place."""
        self._attempts.pop(plan.plan_id.value, None)
        if not await self._cancel_legs(plan):
            return
        current = self.executor.book.plan(plan.plan_id)
        if current is None or current.status is not PlanStatus.OPEN or not current.quantity:
            return
        if self.executor.book.orders_of_plan(plan.plan_id, OrderRole.ENTRY, OrderRole.EXIT):
            return  # the next tick protects it once the entry or exit is done
        rules = self.rules[current.symbol]
        stop, target = protective_prices(current, rules)
        if stop is None and target is None:
            return
        changed = (stop, target) != (current.stop_price, current.target_price)
        updated = current.evolve(stop_price=stop, target_price=target) if changed else current
        await self._protect(updated, rules, stop, target, changed=changed, price=last_price)

    async def exit_plan(self, plan: Plan, reason: ExitReason, price: Decimal | None, why: str) -> TrackedOrder | None:
        """Exit the whole plan through the order path: cancel its protection, then a market exit of what
        it holds (dust policy of ``exit_quantity``). None when nothing was sent."""
        key = f"{plan.plan_id.value}:exit"
        attempts = self._attempts.get(key, 0)
        if attempts >= _MAX_PROTECTION_ATTEMPTS:
            return None
        if not await self._cancel_legs(plan):
            return None
        current = self.executor.book.plan(plan.plan_id)
        if current is None or not current.quantity:
            return None
        rules = self.rules[current.symbol]
        mark = price if price is not None else (current.entry_price.value if current.entry_price else None)
        if mark is None:
            return None
        sized = exit_quantity(current.quantity.value, current.quantity, Price(mark), rules)
        if not sized.sendable:
            return None
        self._attempts[key] = attempts + 1
        quantity = sized.quantity
        sent = await self.executor.submit(
            lambda cid: OrderRequest(client_order_id=cid, symbol=current.symbol, side=exit_side(current),
                                     order_type=OrderType.MARKET, quantity=quantity),
            role=OrderRole.EXIT, plan_id=current.plan_id, exit_reason=reason, reason=why, reference_price=price,
        )
        self._give_back_if_unsent(key, sent)
        return sent

    async def _may_try(self, plan: Plan) -> bool:
        """Whether to ask the venue for protection once more. After the attempts are spent (each refusal was an
        event), the plan is not left silent and unprotected: it is exited."""
        attempts = self._attempts.get(plan.plan_id.value, 0)
        if attempts >= _MAX_PROTECTION_ATTEMPTS:
            await self._exit_unprotected(plan, ExitReason.UNPROTECTED, None,
                                         f"protection refused {attempts} times")
            return False
        self._attempts[plan.plan_id.value] = attempts + 1
        return True

    async def _exit_unprotected(self, plan: Plan, reason: ExitReason, price: Decimal | None, why: str) -> None:
        """Exit a plan the venue does not protect; when the exit is refused (or its attempts are spent), halt trading,
        saying why; when nothing could be sent this tick, say so and try again later. A plan holding less than the
        venue's minimums (dust) can be neither protected nor sold: it is reported only."""
        mark = price if price is not None else (plan.entry_price.value if plan.entry_price else None)
        if mark is not None and not exit_quantity(plan.quantity.value, plan.quantity, Price(mark),
                                                  self.rules[plan.symbol]).sendable:
            self.executor.telemetry.emit(ProtectionFailed(
                at=self.executor.clock.now(), plan_id=plan.plan_id.value, symbol=str(plan.symbol),
                reason=f"{why}; what it holds is below the venue's minimums", action="none"))
            return
        sent = await self.exit_plan(plan, reason, price, why)
        unsent = sent is None or sent.status is IntentStatus.FAILED
        if unsent and self._attempts.get(f"{plan.plan_id.value}:exit", 0) < _MAX_PROTECTION_ATTEMPTS:
            # Nothing could go this tick (its legs not withdrawn: a cancel met a rate limit or is in doubt, the
            # venue's calls suspended; the exit never reached the venue: unavailable, rate limited, a read it needed
            # failed; or the plan ended meanwhile): asked again at a later tick, said, not halted. A halt lasts until
            # an operator resumes and a halted bot sends nothing, its bare position included; here the stop had
            # often just filled, its fill not yet booked.
            self.executor.telemetry.emit(ProtectionFailed(at=self.executor.clock.now(), plan_id=plan.plan_id.value,
                                                          symbol=str(plan.symbol), reason=why, action="retry"))
            if self.health is not None:  # no new risk meanwhile: entries held back a minute, renewed while it lasts
                self.health.request_pause(_RETRY_PAUSE, f"plan {plan.plan_id.value} in {plan.symbol} is unprotected, "
                                                        f"its exit is tried again: {why}"[:500], "plan_monitor")
            return
        exited = sent is not None and sent.status not in (IntentStatus.REJECTED, IntentStatus.FAILED)
        action = "exit" if exited else "halt"
        self.executor.telemetry.emit(ProtectionFailed(at=self.executor.clock.now(), plan_id=plan.plan_id.value,
                                                      symbol=str(plan.symbol), reason=why, action=action))
        if not exited and self.health is not None:
            self.health.halt(f"plan {plan.plan_id.value} in {plan.symbol} is unprotected and could not be exited: "
                             f"{why}"[:500], "plan_monitor")

    async def _place_bracket(
        self, plan: Plan, rules: InstrumentRules, stop: Price, target: Price, *, plan_changed: bool
    ) -> None:
        if not await self._may_try(plan):
            return
        quantity = rules.round_quantity(plan.quantity.value)
        side = exit_side(plan)
        stop_leg, _ = await self.executor.submit_bracket(
            plan,
            lambda stop_id, target_id: ExitBracket(
                symbol=plan.symbol, side=side, quantity=quantity, stop_price=stop, target_price=target,
                stop_client_order_id=stop_id, target_client_order_id=target_id,
            ),
            plan_changed=plan_changed,
        )
        self._give_back_if_unsent(plan.plan_id.value, stop_leg)

    async def _place(self, plan: Plan, rules: InstrumentRules) -> None:
        if not await self._may_try(plan):
            return
        quantity = rules.round_quantity(plan.quantity.value)
        side = exit_side(plan)
        stop, target = plan.stop_price, plan.target_price
        if stop is not None:
            role, build = OrderRole.STOP, lambda cid: OrderRequest(
                client_order_id=cid, symbol=plan.symbol, side=side, order_type=OrderType.STOP_LOSS, quantity=quantity,
                stop_price=stop)
        elif target is not None:
            role, build = OrderRole.TARGET, lambda cid: OrderRequest(
                client_order_id=cid, symbol=plan.symbol, side=side, order_type=OrderType.TAKE_PROFIT, quantity=quantity,
                price=target)
        else:
            return
        placed = await self.executor.submit(build, role=role, plan_id=plan.plan_id)
        self._give_back_if_unsent(plan.plan_id.value, placed)

    def _give_back_if_unsent(self, key: str, placed: TrackedOrder) -> None:
        """Give back the attempt counted under ``key`` (a plan's protection, or its exit) when ``placed`` never
        reached the venue (unavailable, rate limited, a read it needed failed): the attempts count what the venue
        refused, not its outages."""
        if placed.status is IntentStatus.FAILED:
            self._attempts[key] = max(self._attempts.get(key, 1) - 1, 0)

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
