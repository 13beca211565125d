"""ResyncService: brings the bot's view in step with the venue each tick (fills, order states)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

import attrs

from trader_core.execution import OrderExecutor, TradingBook, is_own
from trader_core.model import (
    ClientOrderId,
    ExchangeUnavailableError,
    Fill,
    InstrumentRules,
    IntentStatus,
    Order,
    OrderNotFoundError,
    OrderRole,
    OutcomeUnknownError,
    Plan,
    PlanStatus,
    Quantity,
    Symbol,
    TrackedOrder,
)
from trader_core.model.events import (
    ConcludedOrderFoundOpen,
    ForeignFillIgnored,
    LedgerAnomalyDetected,
    OrderRanAfterAll,
    PlanClosed,
    PlanOpened,
    ProtectionOutlivedItsPlan,
)
from trader_core.plans import after_fill, after_order_closed, status_from_fills
from trader_core.portfolio import PortfolioTracker
from trader_core.ports import OrderIdMemory, Telemetry, Trading, UnitOfWork

__all__ = ["ResyncService", "SyncPolicy"]

# Orders the bot concluded had not reached the venue (proven absent) or no longer exist there (lost): a fill of one
# is the venue having run it after all.
_CONCLUDED = frozenset({IntentStatus.FAILED, IntentStatus.LOST})


@attrs.frozen(kw_only=True)
class SyncPolicy:
    """Bounds of one sync: fill pages per symbol, order lookups per sync (the rate limit's share), and
    how far before the oldest active order the first fill query of a symbol reaches without a cursor."""

    page_size: int = 500
    max_pages: int = 20
    max_lookups: int = 10
    lookback: timedelta = timedelta(minutes=5)
    # With a venue that pushes executions: every symbol with orders is polled once per this many syncs
    # anyway (the safety net); in between only the symbols the venue reported, or with intents in flight.
    full_sync_every: int = 60
    # On a venue without an acceptance window (nothing bounds a late placement), a symbol in which an order was
    # concluded absent or lost has its fills and open orders fetched at every sync for this long after, orders or
    # not: the venue may still run it (its fill is then booked) or place it (it is then cancelled).
    watch_concluded: timedelta = timedelta(minutes=15)


def cursor_key(venue: str, symbol: Symbol) -> str:
    """The ``values`` key of the fill cursor of ``symbol`` at ``venue``."""
    return f"fills:{venue}:{symbol}"[:100]


@attrs.define
class ResyncService:
    """Fetches new fills and order states for symbols where the bot has active orders.

    Each new fill of the bot's own orders is booked through the PortfolioTracker in the same unit of
    work that advances its order and plan; fills of other orders are never booked.
    """

    trading: Trading
    tracker: PortfolioTracker
    executor: OrderExecutor
    telemetry: Telemetry
    rules: Mapping[Symbol, InstrumentRules]
    policy: SyncPolicy = SyncPolicy()
    durable: bool = True  # persist fill cursors (False for a replay: its venue lives one run)
    order_ids: OrderIdMemory | None = None  # the venue adapter, when it must learn which orders are the bot's
    _cursor: dict[Symbol, datetime] = attrs.field(factory=dict, init=False)
    _loaded: set[Symbol] = attrs.field(factory=set, init=False)
    _foreign: set[str] = attrs.field(factory=set, init=False)
    _lookups: int = attrs.field(default=0, init=False)
    booked: int = attrs.field(default=0, init=False)
    _pushed: bool = attrs.field(default=False, init=False)  # the venue reports executions (ExecutionReports)
    _reported: set[Symbol] = attrs.field(factory=set, init=False)
    _syncs: int = attrs.field(default=0, init=False)
    _watched: dict[Symbol, datetime] = attrs.field(factory=dict, init=False)  # symbol -> watched until
    # Open orders with the bot's prefix found not to be concluded ones (never looked up again), and concluded ones
    # already reported open.
    _not_concluded: set[ClientOrderId] = attrs.field(factory=set, init=False)
    _found_open: set[ClientOrderId] = attrs.field(factory=set, init=False)
    # Concluded orders found open whose cancel the venue has not answered yet (client order id -> symbol).
    _still_open: dict[ClientOrderId, Symbol] = attrs.field(factory=dict, init=False)

    def recall(self, orders: Iterable[TrackedOrder]) -> None:
        """At start-up: hand the venue adapter the bot's stored orders (those the venue has an id for), so that it
        recognises their fills without looking each order up (see ``OrderIdMemory``)."""
        if self.order_ids is not None:
            self.order_ids.remember_orders(o for o in orders if o.venue_order_id is not None)

    def on_execution(self, symbol: Symbol) -> None:
        """The venue's push: an order of ``symbol`` changed there; the next sync visits it."""
        self._pushed = True
        self._reported.add(symbol)

    @property
    def book(self) -> TradingBook:
        """The executor's view of active orders and plans."""
        return self.executor.book

    async def sync(self, symbols: Iterable[Symbol] = (), *, max_lookups: int | None = None) -> None:
        """Book new fills, then settle orders that are no longer open at the venue.

        Covers the symbols with active orders (and ``symbols``); at most ``max_lookups`` (default: the
        policy's) single-order lookups are made; orders not looked up this time are next time.
        """
        self._lookups = self.policy.max_lookups if max_lookups is None else max_lookups
        for symbol in sorted(self._due(frozenset(symbols))):
            await self._sync_symbol(symbol)

    def _due(self, asked: frozenset[Symbol]) -> frozenset[Symbol]:
        """The symbols this sync visits: all with orders, unless the venue pushes its executions; then
        those it reported, those asked for and those with an intent in flight, and all at the cadence; and always
        those watched since an order in them was concluded absent or lost."""
        with_orders = self.book.symbols_with_orders()
        if self._watched:
            now = self.executor.clock.now()
            self._watched = {symbol: until for symbol, until in self._watched.items() if until > now}
            asked |= frozenset(self._watched)
        self._syncs += 1
        if not self._pushed or self._syncs % self.policy.full_sync_every == 1:
            self._reported.clear()
            return with_orders | asked
        in_flight = {symbol for symbol in with_orders if any(
            o.status in (IntentStatus.PENDING_SUBMIT, IntentStatus.UNKNOWN) for o in self.book.orders(symbol))}
        due = frozenset(self._reported) | asked | in_flight
        self._reported.clear()
        return due

    async def _sync_symbol(self, symbol: Symbol) -> None:
        for fill in self.book.take_answered(symbol):
            await self._book(fill)  # not bookable yet (no fee rate): the fill query brings it back
        await self._sync_fills(symbol)
        active = self.book.orders(symbol)
        if not active and symbol not in self._watched:
            return  # (a watched symbol's open orders are listed too: an order concluded absent may rest there)
        open_orders = {order.client_order_id: order for order in await self.trading.fetch_open_orders(symbol)}
        # Open at the venue: adopt what it says (an unknown outcome found open is resolved here, free).
        self.executor.adopt_all(
            (tracked, open_orders[tracked.client_order_id])
            for tracked in active if tracked.client_order_id in open_orders
        )
        await self._cancel_outlived(symbol, frozenset(open_orders))
        await self.cancel_concluded(symbol, open_orders)
        # Not open at the venue: looked up by client order id, intents in flight (pending, unknown) first.
        missing = [t for t in self.book.orders(symbol) if t.client_order_id not in open_orders]
        missing.sort(key=lambda t: t.status not in (IntentStatus.PENDING_SUBMIT, IntentStatus.UNKNOWN))
        for listed in missing:
            tracked = self.book.order(listed.client_order_id)
            if tracked is None:
                continue  # concluded meanwhile (the other leg of a bracket proven absent)
            if self._lookups <= 0:
                return  # the budget of this sync is spent: the rest are looked up next time
            self._lookups -= 1
            await self._settle(tracked)

    async def _cancel_outlived(self, symbol: Symbol, open_at_venue: frozenset[ClientOrderId]) -> None:
        """Cancel the stops and targets resting at the venue whose plan has ended. No normal course leaves one (an
        OCO's other leg goes with the fill, an exit cancels them first); one that does would sell what is no longer
        the bot's: a bracket placed beside an exit in doubt that had in fact gone through, in an account holding
        more of the asset than the bot's."""
        outlived = [t for t in self.book.orders(symbol)
                    if t.client_order_id in open_at_venue and t.role in (OrderRole.STOP, OrderRole.TARGET)
                    and t.plan_id is not None and self.book.plan(t.plan_id) is None]
        for tracked in outlived:
            assert tracked.plan_id is not None
            self.telemetry.emit(ProtectionOutlivedItsPlan(
                at=self.executor.clock.now(), client_order_id=tracked.client_order_id.value,
                plan_id=tracked.plan_id.value, symbol=str(symbol)))
        if outlived:
            await self.executor.cancel_all(outlived)

    @property
    def concluded_still_open(self) -> frozenset[ClientOrderId]:
        """Orders the bot had concluded absent or lost, found open at the venue, whose cancel is not answered yet."""
        return frozenset(self._still_open)

    async def cancel_concluded(self, symbol: Symbol,
                               open_at_venue: Mapping[ClientOrderId, Order]) -> tuple[ClientOrderId, ...]:
        """Cancel the bot's orders resting at the venue (``open_at_venue``: those of ``symbol``) that it had
        concluded absent or lost: the venue placed them late (a venue without an acceptance window). The bot gave
        each up (an entry's plan was cancelled, a stop or target replaced); left there, one would buy for no plan,
        or sell beside its successor, out of the owner's own coins. A cancel the venue does not answer is tried
        again at the next sync (the symbol is watched meanwhile). Returns the concluded orders found."""
        for cid, at in list(self._still_open.items()):
            if at == symbol and cid not in open_at_venue:
                del self._still_open[cid]  # gone from the book: the unanswered cancel went through, or it ran
        found = self._concluded_open(open_at_venue)
        for tracked in found:
            cid = tracked.client_order_id
            if cid not in self._found_open:
                self._found_open.add(cid)
                plan_id = None if tracked.plan_id is None else tracked.plan_id.value
                self.telemetry.emit(ConcludedOrderFoundOpen(
                    at=self.executor.clock.now(), client_order_id=cid.value, symbol=str(symbol),
                    status_was=tracked.status.value, plan_id=plan_id))
            try:
                answer = await self._cancel_or_look_up(symbol, cid)
            except (OutcomeUnknownError, ExchangeUnavailableError, OrderNotFoundError):
                self._still_open[cid] = symbol
                self._watched[symbol] = self.executor.clock.now() + self.policy.watch_concluded
                continue
            self._still_open.pop(cid, None)
            if answer.filled_quantity:
                continue  # too late: it ran; its fills are booked as those of an order run after all (its plan too)
            self.executor.adopt_all(((tracked, answer),))
        return tuple(tracked.client_order_id for tracked in found)

    async def _cancel_or_look_up(self, symbol: Symbol, cid: ClientOrderId) -> Order:
        """Cancel ``cid``; when the venue no longer has it open (an OCO's other leg goes with the first), what it
        says of it. (Not ``OrderExecutor.cancel_all``: on a second not-found it would count the concluded order's
        lookups again and conclude it a second time.)"""
        try:
            return await self.trading.cancel_order(symbol, cid)
        except OrderNotFoundError:
            return await self.trading.fetch_order(symbol, cid)

    def _concluded_open(self, open_at_venue: Mapping[ClientOrderId, Order]) -> list[TrackedOrder]:
        """The stored orders, concluded absent or lost, among the open ones the bot's book does not hold (each
        other id with the bot's prefix is looked up once: an order never stored is the reconciler's to report)."""
        prefix = self.executor.prefix
        unknown = [cid for cid in open_at_venue if self.book.order(cid) is None and cid not in self._not_concluded
                   and is_own(prefix, cid)]
        if not unknown:
            return []
        with self.executor.store.unit_of_work() as uow:
            stored = [(cid, uow.orders.find(cid)) for cid in unknown]
        concluded = [tracked for _, tracked in stored if tracked is not None and tracked.status in _CONCLUDED]
        self._not_concluded.update(cid for cid, tracked in stored
                                   if tracked is None or tracked.status not in _CONCLUDED)
        return concluded

    async def _sync_fills(self, symbol: Symbol) -> None:
        """Every new fill of ``symbol`` since the cursor, page by page, de-duplicated by trade id."""
        since = self._since(symbol)
        for _ in range(self.policy.max_pages):
            fills = await self.trading.fetch_fills(symbol, since=since, limit=self.policy.page_size)
            for fill in fills:
                if not await self._book(fill):
                    # Not bookable yet (no rate for its fee): it and every later fill wait for the next tick,
                    # in order; the inclusive cursor brings them back.
                    self._advance(symbol, fill.time)
                    return
            if not fills:
                return
            self._advance(symbol, fills[-1].time)
            if len(fills) < self.policy.page_size or fills[-1].time == since:
                return  # exhausted (or a full page in one instant: the next sync goes on from it)
            since = fills[-1].time

    def _since(self, symbol: Symbol) -> datetime | None:
        if symbol not in self._loaded:
            self._loaded.add(symbol)
            if self.durable:
                with self.executor.store.unit_of_work() as uow:
                    stored = uow.values.find(cursor_key(self.trading.venue, symbol))
                if stored is not None:
                    self._cursor[symbol] = datetime.fromisoformat(stored)
        cursor = self._cursor.get(symbol)
        if cursor is not None:
            return cursor
        # No cursor yet: from a little before the oldest active order (venue and bot clocks differ).
        times = [o.created_at for o in self.book.orders(symbol)]
        return min(times) - self.policy.lookback if times else None

    def _advance(self, symbol: Symbol, time: datetime) -> None:
        """Move the (inclusive) cursor to ``time``, persisted once every fill before it is booked."""
        if self._cursor.get(symbol) == time:
            return
        self._cursor[symbol] = time
        if self.durable:
            with self.executor.store.unit_of_work() as uow:
                uow.values.put(cursor_key(self.trading.venue, symbol), time.isoformat())
                uow.commit()

    async def _settle(self, tracked: TrackedOrder) -> None:
        updated = await self.executor.resolve(tracked)
        if updated.status in _CONCLUDED and self.trading.acceptance_window is None:
            self._watched[updated.request.symbol] = self.executor.clock.now() + self.policy.watch_concluded
        if updated.status.is_active or updated.plan_id is None:
            return
        plan = self.book.plan(updated.plan_id)
        others = any(o.client_order_id != updated.client_order_id
                     for o in self.book.orders_of_plan(updated.plan_id, OrderRole.ENTRY))
        changed = None if plan is None else after_order_closed(plan, updated, self.executor.clock.now(),
                                                               entry_pending=others)
        if changed is not None:
            self.executor.save(plans=(changed,))
        if not updated.status.is_active and updated.status is not IntentStatus.FILLED:
            self.tracker.order_completed(updated)  # ended with part filled: compare its fees too

    async def _book(self, fill: Fill) -> bool:
        """Book one fill of the bot's orders; False when it cannot be booked yet (retry next tick)."""
        venue = self.trading.venue
        if self.tracker.is_booked(venue, fill):
            return True  # the cursor is inclusive: the last page's newest fills come back once more
        tracked = None if fill.client_order_id is None else self.book.order(fill.client_order_id)
        concluded: Plan | None = None
        if tracked is None and fill.client_order_id is not None and fill.trade_id.value not in self._foreign:
            tracked, concluded = self._concluded(fill.client_order_id)  # (a fill already found foreign: no query)
        if tracked is None:
            self._ignore_foreign(fill)
            return True
        filled = Quantity(tracked.filled_quantity.value + fill.quantity.value)
        if filled.value > tracked.request.quantity.value:
            self.telemetry.emit(
                LedgerAnomalyDetected(
                    at=fill.time, symbol=str(fill.symbol),
                    detail=f"overfill: fill {fill.trade_id} takes {tracked.client_order_id} past its quantity",
                )
            )
            return True
        # A third-asset fee is valued now, before the booking's unit of work opens.
        valued = await self.tracker.fee_rate_for(fill)
        if valued is None:
            return False
        order = attrs.evolve(tracked, filled_quantity=filled, status=status_from_fills(tracked, filled))
        plan = concluded or (None if tracked.plan_id is None else self.book.plan(tracked.plan_id))
        new_plan = None if plan is None else after_fill(plan, tracked, fill, self.rules.get(fill.symbol))

        def write(uow: UnitOfWork) -> None:
            uow.orders.update(order)
            if new_plan is not None:
                uow.plans.update(new_plan)

        record = self.tracker.book(
            fill, run_id=tracked.run_id, venue=venue, plan_id=tracked.plan_id, role=tracked.role, also=write,
            fee_rate=valued[0], fee_rate_source=valued[1],
        )
        if record is None:
            return True
        self.booked += 1
        if tracked.status in _CONCLUDED:
            self.telemetry.emit(OrderRanAfterAll(
                at=fill.time, client_order_id=tracked.client_order_id.value, symbol=str(fill.symbol),
                trade_id=fill.trade_id.value, status_was=tracked.status.value,
                plan_id=None if tracked.plan_id is None else tracked.plan_id.value))
        self.book.put_order(order)
        if order.status is IntentStatus.FILLED:
            self.tracker.order_completed(order)
        if new_plan is not None and plan is not None:
            self._announce_plan(plan, new_plan, fill)
            if order.status is IntentStatus.FILLED:
                self.executor.announce_closed(order)
        return True

    def _concluded(self, client_order_id: ClientOrderId) -> tuple[TrackedOrder | None, Plan | None]:
        """An order of the bot's that it had concluded absent or lost (no longer in the book), and its plan as it
        would stand had the order not been concluded: an entry's plan pending again (it never held anything), any
        other plan as stored. (None, None) for an order that is not the bot's or ended otherwise."""
        with self.executor.store.unit_of_work() as uow:
            tracked = uow.orders.find(client_order_id)
            if tracked is None or tracked.status not in _CONCLUDED:
                return None, None
            plan = None if tracked.plan_id is None else uow.plans.find(tracked.plan_id)
        if plan is not None and tracked.role is OrderRole.ENTRY and plan.status is PlanStatus.CANCELLED:
            plan = attrs.evolve(plan, status=PlanStatus.PENDING, closed_at=None, reason="entry ran after all")
        return tracked, plan

    def _announce_plan(self, plan: Plan, new_plan: Plan, fill: Fill) -> None:
        self.book.put_plan(new_plan)
        if plan.status is PlanStatus.PENDING and new_plan.status is PlanStatus.OPEN:
            self.telemetry.emit(
                PlanOpened(
                    at=fill.time, plan_id=new_plan.plan_id.value, symbol=str(new_plan.symbol),
                    quantity=str(new_plan.quantity), entry_price=str(new_plan.entry_price),
                    stop_price=_text(new_plan.stop_price), target_price=_text(new_plan.target_price),
                )
            )
        if new_plan.status is PlanStatus.CLOSED and new_plan.exit_reason is not None:
            self.telemetry.emit(
                PlanClosed(at=fill.time, plan_id=new_plan.plan_id.value, symbol=str(new_plan.symbol),
                           exit_reason=new_plan.exit_reason.value)
            )

    def _ignore_foreign(self, fill: Fill) -> None:
        if fill.trade_id.value in self._foreign:
            return
        self._foreign.add(fill.trade_id.value)
        self.telemetry.emit(ForeignFillIgnored(at=fill.time, trade_id=fill.trade_id.value, symbol=str(fill.symbol)))


def _text(value: object | None) -> str | None:
    return None if value is None else str(value)
