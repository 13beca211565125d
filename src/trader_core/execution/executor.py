"""OrderExecutor: intent first, then the venue; every outcome classified, nothing retried blindly."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from decimal import Decimal

import attrs

from trader_core.execution.book import TradingBook
from trader_core.execution.client_ids import IdBlocks, attempt_of, client_order_id, next_attempt
from trader_core.execution.lookups import NotFoundCounts
from trader_core.model import (
    ClientOrderId,
    ExchangeUnavailableError,
    ExitBracket,
    ExitReason,
    IntentStatus,
    Order,
    OrderNotFoundError,
    OrderRejectedError,
    OrderRequest,
    OrderRole,
    OrderStatus,
    OutcomeUnknownError,
    Plan,
    PlanId,
    PlanStatus,
    RunId,
    TrackedOrder,
    WouldTriggerError,
)
from trader_core.model.events import (
    CancelOutcomeUnknown,
    OrderAcknowledged,
    OrderClosed,
    OrderFailed,
    OrderLost,
    OrderOutcomeUnknown,
    OrderRejected,
    OrderSubmitted,
    PlanCancelled,
)
from trader_core.portfolio import estimate_fee
from trader_core.ports import Clock, Store, Telemetry, Trading

__all__ = ["RETRYABLE_ROLES", "OrderExecutor", "intent_status"]

# Intents that are sent again (attempt + 1, a new client order id) once proven absent: protective orders
# only. An entry or an exit is a decision taken on a market that has moved since; the strategy decides again.
RETRYABLE_ROLES = frozenset({OrderRole.STOP, OrderRole.TARGET})

_UNRESOLVED = frozenset({IntentStatus.UNKNOWN, IntentStatus.PENDING_SUBMIT})  # sent, outcome not known yet
_OTHER_LEG = {OrderRole.STOP: OrderRole.TARGET, OrderRole.TARGET: OrderRole.STOP}

_VENUE_STATUS = {
    OrderStatus.OPEN: IntentStatus.OPEN,
    OrderStatus.PARTIALLY_FILLED: IntentStatus.PARTIALLY_FILLED,
    OrderStatus.FILLED: IntentStatus.FILLED,
    OrderStatus.CANCELED: IntentStatus.CANCELED,
    OrderStatus.REJECTED: IntentStatus.REJECTED,
    OrderStatus.EXPIRED: IntentStatus.CANCELED,
}


def intent_status(order: Order) -> IntentStatus:
    """The intent status matching what the venue reports."""
    return _VENUE_STATUS[order.status]


@attrs.define
class OrderExecutor:
    """Stores every order intent in a committed unit of work before asking the venue for it.

    Client order ids are deterministic: ``{prefix}-{intent number}-{attempt}``. Outcomes are
    acknowledged, rejected (definitive), failed before sending, or unknown (to be looked up by
    client order id before anything else happens to the intent).
    """

    store: Store
    trading: Trading
    book: TradingBook
    clock: Clock
    telemetry: Telemetry
    run_id: RunId
    prefix: str
    ids: IdBlocks = attrs.field(default=attrs.Factory(lambda self: IdBlocks(self.store), takes_self=True))
    fee_rate: Decimal | None = None  # the fee policy's share of notional, for ``TrackedOrder.estimated_fee``
    lookup_attempts: int = 3  # not-found answers before an intent is proven absent (or an order is lost)
    max_attempts: int = 3  # attempts of one retryable intent (its client ids end in -1, -2, -3)
    _not_found: NotFoundCounts = attrs.field(
        default=attrs.Factory(lambda self: NotFoundCounts(self.store), takes_self=True), init=False)
    # When (monotonic) this process saw each placement end with an unknown outcome: the call had returned.
    _unknown_since: dict[ClientOrderId, timedelta] = attrs.field(factory=dict, init=False)

    async def submit(
        self,
        build: Callable[[ClientOrderId], OrderRequest],
        *,
        role: OrderRole,
        plan_id: PlanId | None = None,
        new_plan: Callable[[PlanId, ClientOrderId], Plan] | None = None,
        exit_reason: ExitReason | None = None,
        reason: str = "",
        reference_price: Decimal | None = None,
        fallback_follows: bool = False,
    ) -> TrackedOrder:
        """Store the intent, then send it.

        ``new_plan`` builds a plan for an entry (from its new plan id and the entry's client order
        id); it is stored in the same unit of work as the intent. The fee is estimated from
        ``fee_rate`` at the order's price (``reference_price`` for a market order).
        ``fallback_follows``: the caller sends another entry of the same plan if this one is rejected or
        fails (a maker order's marketable fallback), so such an outcome does not cancel the plan.
        """
        now = self.clock.now()
        request = build(self._client_order_id(self.ids.take("intent")))
        plan = None
        if new_plan is not None:
            plan = new_plan(PlanId(f"P{self.ids.take('plan')}"), request.client_order_id)
            plan_id = plan.plan_id
        tracked = TrackedOrder(
            run_id=self.run_id, request=request, role=role, status=IntentStatus.PENDING_SUBMIT,
            created_at=now, updated_at=now, plan_id=plan_id, exit_reason=exit_reason, reason=reason,
            estimated_fee=estimate_fee(request, self.fee_rate, reference_price),
        )
        with self.store.unit_of_work() as uow:
            if plan is not None:
                uow.plans.add(plan)
            uow.orders.add(tracked)
            uow.commit()
        self.book.put_order(tracked)
        if plan is not None:
            self.book.put_plan(plan)
        return await self._send(tracked, keep_plan=fallback_follows)

    async def _send(self, tracked: TrackedOrder, *, keep_plan: bool = False) -> TrackedOrder:
        """Send a stored intent once and classify the outcome."""
        self._emit_submitted(tracked)
        try:
            order = await self.trading.place_order(tracked.request)
        except OrderRejectedError as exc:
            return self._conclude(tracked, IntentStatus.REJECTED, str(exc), keep_plan=keep_plan)
        except OutcomeUnknownError as exc:
            return self._conclude(tracked, IntentStatus.UNKNOWN, str(exc))
        except ExchangeUnavailableError as exc:
            return self._conclude(tracked, IntentStatus.FAILED, str(exc), keep_plan=keep_plan)
        self.book.answered(order.fills)  # booked by the sync that follows, before it asks for fills
        return self.adopt(tracked, order)

    async def submit_bracket(
        self, plan: Plan, build: Callable[[ClientOrderId, ClientOrderId], ExitBracket], *, plan_changed: bool = False
    ) -> tuple[TrackedOrder, TrackedOrder]:
        """Store both legs of a protective bracket (and ``plan`` when ``plan_changed``), then ask the
        venue to hold them. Raises ``WouldTriggerError``, once both legs are stored as rejected, when the venue
        says the market is already past a level: the caller must exit, not retry."""
        now = self.clock.now()
        bracket = build(
            self._client_order_id(self.ids.take("intent")), self._client_order_id(self.ids.take("intent"))
        )
        stop_request, target_request = bracket.legs()
        legs = tuple(
            TrackedOrder(
                run_id=self.run_id, request=request, role=role, status=IntentStatus.PENDING_SUBMIT,
                created_at=now, updated_at=now, plan_id=plan.plan_id,
                estimated_fee=estimate_fee(request, self.fee_rate),
            )
            for request, role in ((stop_request, OrderRole.STOP), (target_request, OrderRole.TARGET))
        )
        with self.store.unit_of_work() as uow:
            for leg in legs:
                uow.orders.add(leg)
            if plan_changed:
                uow.plans.update(plan)
            uow.commit()
        stop, target = legs
        if plan_changed:
            self.book.put_plan(plan)
        for leg in legs:
            self.book.put_order(leg)
            self._emit_submitted(leg)
        try:
            stop_order, target_order = await self.trading.place_exit_bracket(bracket)
        except WouldTriggerError as exc:
            self._conclude(stop, IntentStatus.REJECTED, str(exc))
            self._conclude(target, IntentStatus.REJECTED, str(exc))
            raise
        except OrderRejectedError as exc:
            status, detail = IntentStatus.REJECTED, str(exc)
        except OutcomeUnknownError as exc:
            status, detail = IntentStatus.UNKNOWN, str(exc)
        except ExchangeUnavailableError as exc:
            status, detail = IntentStatus.FAILED, str(exc)
        else:
            adopted_stop, adopted_target = self.adopt_all(((stop, stop_order), (target, target_order)))
            return adopted_stop, adopted_target
        return self._conclude(stop, status, detail), self._conclude(target, status, detail)

    async def cancel(self, tracked: TrackedOrder) -> TrackedOrder:
        """Cancel an active order at the venue.

        A venue that no longer knows the order as open may already have filled or cancelled it
        (or a lost response hid our own cancel): the order is then looked up, never assumed.
        """
        return (await self.cancel_all((tracked,)))[0]

    async def cancel_all(self, orders: Iterable[TrackedOrder], *, keep_plans: bool = False,
                         ) -> tuple[TrackedOrder, ...]:
        """Cancel several orders (one venue call each) and store the outcomes in one unit of work.

        An entry that ends with nothing filled ends its pending plan (cancelled: it never held a position), unless
        another entry of the plan is still working or ``keep_plans`` (the caller sends the plan's next entry, as
        the maker chase does); a plan left pending with no order would hold its place under the plan cap forever.
        Returns each order's state afterwards, in order (unchanged when the cancel's outcome is unknown)."""
        answered: list[tuple[TrackedOrder, Order]] = []
        settled: dict[ClientOrderId, TrackedOrder] = {}
        orders = tuple(orders)
        for tracked in orders:
            try:
                order = await self.trading.cancel_order(tracked.request.symbol, tracked.client_order_id)
            except OutcomeUnknownError as exc:
                # The cancel may or may not have happened: nothing is assumed; the next sync looks it up
                # (a cancel sent again is answered "unknown order" and then looked up).
                self.telemetry.emit(CancelOutcomeUnknown(at=self.clock.now(),
                                                         client_order_id=tracked.client_order_id.value,
                                                         reason=str(exc)[:300]))
                continue
            except ExchangeUnavailableError:
                continue  # not sent: the order is as it was
            except OrderNotFoundError:
                try:
                    order = await self.trading.fetch_order(tracked.request.symbol, tracked.client_order_id)
                except OrderNotFoundError:
                    settled[tracked.client_order_id] = await self.resolve(tracked)
                    continue
            answered.append((tracked, order))
        for adopted in self.adopt_all(answered):
            settled[adopted.client_order_id] = adopted
        if not keep_plans:
            self._end_unfilled_plans(settled.values())
        return tuple(settled.get(tracked.client_order_id, tracked) for tracked in orders)

    def _end_unfilled_plans(self, orders: Iterable[TrackedOrder]) -> None:
        """Cancel the pending plans whose entry ``orders`` ended (cancelled, expired) with nothing filled."""
        now = self.clock.now()
        ended: dict[PlanId, Plan] = {}
        for order in orders:
            if order.role is not OrderRole.ENTRY or order.plan_id is None or order.status.is_active:
                continue
            plan = self.book.plan(order.plan_id)
            if plan is None or plan.status is not PlanStatus.PENDING or order.filled_quantity or plan.entry_filled:
                continue
            if self.book.orders_of_plan(order.plan_id, OrderRole.ENTRY):
                continue  # another entry of the plan still works
            ended[plan.plan_id] = plan.evolve(status=PlanStatus.CANCELLED, closed_at=now,
                                              reason=f"entry {order.status.value}")
        if not ended:
            return
        self.save(plans=ended.values())
        for plan in ended.values():
            self.telemetry.emit(PlanCancelled(at=now, plan_id=plan.plan_id.value, symbol=str(plan.symbol),
                                              reason=plan.reason))

    async def withdraw(self, orders: Iterable[TrackedOrder]) -> bool:
        """Cancel ``orders`` to make way for what replaces them (an exit, a new bracket); True when none of them is
        left working.

        While one of them is in doubt (sent, never answered for: the venue may still carry it out) nothing is
        cancelled: the replacement could not go out beside it, an order resting at the venue (a plan's only sure
        protection) is not taken down for nothing, and a cancel sent for the one in doubt proves nothing when the
        venue does not know it yet but takes it down when it has landed. The resync's lookups settle it."""
        orders = tuple(orders)
        if any(o.in_doubt for o in orders):
            return False
        if orders:
            await self.cancel_all(orders)
        return all(self.book.order(o.client_order_id) is None for o in orders)

    async def resolve(self, tracked: TrackedOrder) -> TrackedOrder:
        """Look an order up by client order id and adopt what the venue says.

        A not-found answer is counted (in the store, so the count survives a restart): only after
        ``lookup_attempts`` of them in a row is an order that was never acknowledged (and has no booked fill)
        marked FAILED (proven absent: only then may a new attempt, with a new client order id, be made); an
        acknowledged one is marked LOST (``OrderLost``). Until then the intent keeps its state and is looked up
        again on a later sync. On a venue with an acceptance window (``Trading.acceptance_window``) a placement
        never acknowledged is proven absent only once that window has passed since it was sent, and then by one
        answer (see ``_absence_proven``). A bracket's legs go out in one all-or-nothing call, so a leg proven
        absent proves its unresolved other leg absent too.
        """
        try:
            order = await self.trading.fetch_order(tracked.request.symbol, tracked.client_order_id)
        except OrderNotFoundError:
            return self._not_found_at_venue(tracked)
        self._not_found.clear(tracked.client_order_id, durable=tracked.status in _UNRESOLVED)
        return self.adopt(tracked, order)

    def _not_found_at_venue(self, tracked: TrackedOrder) -> TrackedOrder:
        cid = tracked.client_order_id
        durable = tracked.status in _UNRESOLVED
        count = self._not_found.record(cid, durable=durable)
        detail = self._absence_proven(tracked, count)
        if detail is None:
            return tracked
        self._not_found.clear(cid, durable=durable)
        if tracked.venue_order_id is None and not tracked.filled_quantity:
            for leg in self._unresolved_other_leg(tracked):
                self._not_found.clear(leg.client_order_id, durable=True)
                self._conclude(leg, IntentStatus.FAILED, f"absent with the other leg of its bracket ({cid.value})")
            return self._conclude(tracked, IntentStatus.FAILED, detail)
        now = self.clock.now()
        lost = attrs.evolve(tracked, status=IntentStatus.LOST, updated_at=now)
        self.save(orders=(lost,))
        self.telemetry.emit(OrderLost(at=now, client_order_id=cid.value, symbol=str(tracked.request.symbol),
                                      detail=detail))
        return lost

    def _absence_proven(self, tracked: TrackedOrder, count: int) -> str | None:
        """Why ``count`` not-found answers in a row prove ``tracked`` absent from the venue (None while they do
        not).

        On a venue without an acceptance window, and for an order the venue acknowledged, ``lookup_attempts``
        answers. On a venue with one, a placement it never acknowledged may still be carried out until that
        window has passed since it was sent, however many answers came first: after it, one answer is proof.
        The time is measured on the monotonic clock from the moment this process saw the call return (a step of
        the wall clock proves nothing); a process that did not see it (a restart) measures on the wall clock
        from the intent's last stored change and asks for ``lookup_attempts`` answers too, so a wall-clock step
        proves no more than the count alone did."""
        counted = f"not found at the venue after {count} lookups"
        window = self.trading.acceptance_window
        if (window is None or tracked.status not in _UNRESOLVED or tracked.venue_order_id is not None
                or tracked.filled_quantity):
            return counted if count >= self.lookup_attempts else None
        since = self._unknown_since.get(tracked.client_order_id)
        if since is not None:
            elapsed = self.clock.monotonic() - since
        elif count >= self.lookup_attempts:
            elapsed = self.clock.now() - tracked.updated_at
        else:
            return None
        if elapsed < window:
            return None
        return (f"not found at the venue {elapsed.total_seconds():.1f} s after it was sent, past the venue's "
                "acceptance window")

    def _unresolved_other_leg(self, tracked: TrackedOrder) -> tuple[TrackedOrder, ...]:
        """The other leg of the bracket ``tracked`` went out with (same plan, the other protective role, stored
        in the same unit, same attempt), while it too is unresolved and unacknowledged."""
        other = _OTHER_LEG.get(tracked.role)
        return () if other is None or tracked.plan_id is None else tuple(
            o for o in self.book.orders_of_plan(tracked.plan_id, other)
            if o.created_at == tracked.created_at and o.venue_order_id is None and not o.filled_quantity
            and o.status in _UNRESOLVED and attempt_of(o.client_order_id)[1] == attempt_of(tracked.client_order_id)[1])

    def retryable(self, tracked: TrackedOrder) -> bool:
        """True when ``tracked`` failed (proven absent) and may be sent again as attempt + 1."""
        return (
            tracked.status is IntentStatus.FAILED
            and tracked.role in RETRYABLE_ROLES
            and attempt_of(tracked.client_order_id)[1] < self.max_attempts
        )

    async def retry(self, tracked: TrackedOrder) -> TrackedOrder | None:
        """Send a failed retryable intent again with the next attempt's client order id; None when it may
        not be (not failed, not a retryable role, or out of attempts)."""
        if not self.retryable(tracked):
            return None
        request = attrs.evolve(tracked.request, client_order_id=next_attempt(tracked.client_order_id))
        now = self.clock.now()
        again = attrs.evolve(tracked, request=request, status=IntentStatus.PENDING_SUBMIT, venue_order_id=None,
                             created_at=now, updated_at=now)
        with self.store.unit_of_work() as uow:
            uow.orders.add(again)
            uow.commit()
        self.book.put_order(again)
        return await self._send(again)

    def adopt(self, tracked: TrackedOrder, order: Order) -> TrackedOrder:
        """Record the venue's view of an order (status, venue id). Fills are booked separately."""
        return self.adopt_all(((tracked, order),))[0]

    def adopt_all(self, answers: Iterable[tuple[TrackedOrder, Order]]) -> tuple[TrackedOrder, ...]:
        """``adopt`` for several orders, stored in one unit of work."""
        now = self.clock.now()
        results: list[TrackedOrder] = []
        changed: list[tuple[TrackedOrder, TrackedOrder]] = []
        for tracked, order in answers:
            status = intent_status(order)
            # Filled quantity moves only with booked fills; an order reported FILLED before its fills
            # are booked stays PARTIALLY_FILLED/OPEN here until the fill sync catches up.
            if status is IntentStatus.FILLED and tracked.filled_quantity.value < order.quantity.value:
                status = IntentStatus.PARTIALLY_FILLED if tracked.filled_quantity else IntentStatus.OPEN
            elif not status.is_active and tracked.filled_quantity.value < order.filled_quantity.value:
                # Cancelled (or expired) after fills not booked yet: it stays in the book until they are,
                # so its fills are never taken for foreign ones.
                status = IntentStatus.PARTIALLY_FILLED if tracked.filled_quantity else IntentStatus.OPEN
            updated = tracked
            if status is not tracked.status or tracked.venue_order_id != order.venue_order_id:
                updated = attrs.evolve(tracked, status=status, venue_order_id=order.venue_order_id, updated_at=now)
                changed.append((tracked, updated))
            results.append(updated)
        if changed:
            self.save(orders=[updated for _, updated in changed])
        for tracked, updated in changed:
            if tracked.status is IntentStatus.UNKNOWN:
                self._unknown_since.pop(tracked.client_order_id, None)  # the venue answered for it
            if tracked.venue_order_id is None and updated.venue_order_id is not None:
                self.telemetry.emit(
                    OrderAcknowledged(
                        at=now, client_order_id=tracked.client_order_id.value,
                        venue_order_id=updated.venue_order_id.value, status=updated.status.value,
                    )
                )
            if not updated.status.is_active:
                self.announce_closed(updated)
        return tuple(results)

    def save(self, *, orders: Iterable[TrackedOrder] = (), plans: Iterable[Plan] = ()) -> None:
        """Store new versions of orders and plans in one unit of work, then update the book."""
        orders, plans = tuple(orders), tuple(plans)
        with self.store.unit_of_work() as uow:
            for order in orders:
                uow.orders.update(order)
            for plan in plans:
                uow.plans.update(plan)
            uow.commit()
        for order in orders:
            self.book.put_order(order)
        for plan in plans:
            self.book.put_plan(plan)

    def _conclude(self, tracked: TrackedOrder, status: IntentStatus, detail: str, *,
                  keep_plan: bool = False) -> TrackedOrder:
        now = self.clock.now()
        if status is IntentStatus.UNKNOWN:
            self._unknown_since[tracked.client_order_id] = self.clock.monotonic()
        else:
            self._unknown_since.pop(tracked.client_order_id, None)
        updated = attrs.evolve(tracked, status=status, updated_at=now)
        plans: tuple[Plan, ...] = ()
        plan = None if tracked.plan_id is None else self.book.plan(tracked.plan_id)
        other_entries = tracked.plan_id is not None and any(
            o.client_order_id != tracked.client_order_id
            for o in self.book.orders_of_plan(tracked.plan_id, OrderRole.ENTRY))
        if tracked.role is OrderRole.ENTRY and plan is not None and status in (
            IntentStatus.REJECTED, IntentStatus.FAILED
        ) and not keep_plan and not other_entries and plan.status is PlanStatus.PENDING:
            # A failed entry creates no position, so its plan ends here (the original kept it and
            # later sold what the bot never bought). Not while another entry of the plan is active or
            # about to be sent (``keep_plan``: a maker entry's marketable fallback follows).
            plans = (plan.evolve(status=PlanStatus.CANCELLED, closed_at=now, reason=detail[:200]),)
        self.save(orders=(updated,), plans=plans)
        cid = tracked.client_order_id.value
        event_type = {IntentStatus.REJECTED: OrderRejected, IntentStatus.FAILED: OrderFailed}.get(
            status, OrderOutcomeUnknown
        )
        self.telemetry.emit(event_type(at=now, client_order_id=cid, reason=detail[:500]))
        for cancelled in plans:
            self.telemetry.emit(
                PlanCancelled(at=now, plan_id=cancelled.plan_id.value, symbol=str(cancelled.symbol),
                              reason=cancelled.reason)
            )
        return updated

    def _client_order_id(self, number: int, attempt: int = 1) -> ClientOrderId:
        return client_order_id(self.prefix, number, attempt)

    def _emit_submitted(self, tracked: TrackedOrder) -> None:
        request = tracked.request
        price = request.price or request.stop_price
        self.telemetry.emit(
            OrderSubmitted(
                at=self.clock.now(), client_order_id=tracked.client_order_id.value, symbol=str(request.symbol),
                side=request.side.value, order_type=request.order_type.value, quantity=str(request.quantity),
                price=None if price is None else str(price), role=tracked.role.value,
                plan_id=None if tracked.plan_id is None else tracked.plan_id.value,
            )
        )

    def announce_closed(self, tracked: TrackedOrder) -> None:
        """Emit the event for an order that reached a final state."""
        self.telemetry.emit(
            OrderClosed(
                at=self.clock.now(), client_order_id=tracked.client_order_id.value,
                status=tracked.status.value, filled_quantity=str(tracked.filled_quantity),
            )
        )
