"""PortfolioTracker: the fill ledger, the bot's holdings, realized PnL, fees, stats and their cache.

One booking writes the fill, the caller's order/plan changes and the cached ledger rows (totals, the
symbol's holding, the fee asset's total, the day's row) in ONE unit of work; memory follows only after
the commit. At start-up the cached ledger of the scope is adopted when it covers every stored fill and
was counted in the same day time zone; otherwise it is rebuilt by replaying the stored fills.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from trader_core.model import (
    ZERO,
    Asset,
    Balance,
    ConfigError,
    Fill,
    FillRecord,
    OrderRole,
    PlanId,
    RunId,
    StoreError,
    Symbol,
    TrackedOrder,
)
from trader_core.model.events import (
    DuplicateFillIgnored,
    FeeAboveSanityBound,
    FeeRateUnavailable,
    FillRecorded,
    LedgerAnomalyDetected,
    LedgerCacheLoaded,
    LedgerRebuilt,
    OrderFeesReconciled,
)
from trader_core.model.stats import DayStats, LedgerSnapshot, LedgerTotals, StatsScope
from trader_core.portfolio.balances import BalanceLine, balance_lines
from trader_core.portfolio.fees import FeePolicy, exceeds_sanity_bound, needs_rate
from trader_core.portfolio.ledger import Booking, Holding, apply_fill
from trader_core.portfolio.ledger_state import AssetFlow, LedgerState, PlanResult
from trader_core.ports import Clock, FeeRates, Store, Telemetry, UnitOfWork

__all__ = ["LedgerPolicy", "PlanResult", "PortfolioStats", "PortfolioTracker", "day_zone"]

_REBUILD_ATTEMPTS = 3


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of acyclic records are made and dropped: its
    passes over the growing ledger cost a third of a rebuild and can free nothing (reference counting
    frees the records). Restored on exit, also on error."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def day_zone(name: str) -> tzinfo:
    """The time zone called ``name`` (IANA, e.g. ``Europe/Zurich``); ``UTC`` is the fast built-in one."""
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown day time zone {name!r}: use an IANA name such as UTC or Europe/Zurich") from exc


@attrs.frozen(kw_only=True)
class LedgerPolicy:
    """Ledger settings: the time zone per-day rows are counted in, the fee policy, the replay batch."""

    day_timezone: str = "UTC"
    fees: FeePolicy = FeePolicy()
    replay_batch: int = 10_000


@attrs.frozen
class PortfolioStats:
    """Totals over every booked fill. ``cash`` is the quote cash flow (negative after buying).
    ``duplicates`` counts fills reported again to this process (not cached)."""

    fills: int = 0
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    cash: Decimal = ZERO
    duplicates: int = 0
    fees_by_asset: tuple[tuple[Asset, Decimal], ...] = ()

    @property
    def net_realized(self) -> Decimal:
        """Realized PnL net of fees."""
        return self.realized_pnl - self.fees


@attrs.define
class PortfolioTracker:
    """Books venue fills exactly once and keeps holdings, stats and their cache in step with the store.

    A fill is keyed by (venue, symbol, trade id); a duplicate is ignored and counted. ``scope`` says which
    cached ledger the bookings update (``start`` sets it): one replay run, or the whole bot.
    """

    store: Store
    clock: Clock
    telemetry: Telemetry
    policy: LedgerPolicy = attrs.Factory(LedgerPolicy)
    rates: FeeRates | None = None
    scope: StatsScope = attrs.Factory(StatsScope)
    _zone: tzinfo = attrs.field(init=False)
    _state: LedgerState = attrs.field(init=False)
    _duplicates: int = attrs.field(default=0, init=False)
    _from_cache: bool = attrs.field(default=False, init=False)

    def __attrs_post_init__(self) -> None:
        self._zone = day_zone(self.policy.day_timezone)
        self._state = LedgerState(zone=self._zone)

    # --- start-up and rebuild ----------------------------------------------------------------------

    def start(self, scope: StatsScope) -> str:
        """Load the ledger of ``scope``: the cache when it is complete, else a rebuild from the fills.
        Returns ``cache``, ``empty`` or the reason for the rebuild."""
        self.scope = scope
        with self.store.unit_of_work() as uow:
            snapshot = uow.ledger.find(scope)
            stored = uow.fills.count(scope.run_id)
        if snapshot is None and stored == 0:
            self._adopt(LedgerState(zone=self._zone), from_cache=False)
            return "empty"
        if snapshot is None:
            reason = "no cached ledger"
        elif snapshot.day_timezone != self.policy.day_timezone:
            reason = f"days were counted in {snapshot.day_timezone}, not {self.policy.day_timezone}"
        elif snapshot.totals.fills != stored:
            reason = f"the cache covers {snapshot.totals.fills} of {stored} stored fills"
        else:
            self._adopt(LedgerState.from_snapshot(snapshot, self._zone), from_cache=True)
            self.telemetry.emit(LedgerCacheLoaded(at=self.clock.now(), scope=scope.key, fills=stored))
            return "cache"
        self.rebuild(scope, reason=reason)
        return reason

    def rebuild(self, scope: StatsScope | None = None, *, reason: str = "requested") -> int:
        """Replay every stored fill of ``scope`` (default: the tracker's), rewrite its cached ledger in
        the same unit of work, and adopt the result. Returns the number of fills replayed."""
        scope = self.scope if scope is None else scope
        for _ in range(_REBUILD_ATTEMPTS):
            state = LedgerState(zone=self._zone)
            with self.store.unit_of_work() as uow:
                with _cyclic_gc_paused():
                    state.replay(uow.fills.iter_all(scope.run_id, batch=self.policy.replay_batch))
                if uow.fills.count(scope.run_id) != state.fills:
                    continue  # another writer booked meanwhile (PostgreSQL): read again
                uow.ledger.replace(state.snapshot(scope, self.policy.day_timezone))
                uow.commit()
            self.scope = scope
            self._adopt(state, from_cache=False)
            self.telemetry.emit(LedgerRebuilt(at=self.clock.now(), scope=scope.key, fills=state.fills, reason=reason))
            return state.fills
        raise StoreError(f"rebuild of {scope}: fills kept changing during {_REBUILD_ATTEMPTS} attempts")

    def load(self, records: Iterable[FillRecord]) -> None:
        """Replace holdings and stats by a replay of ``records`` (in booking order), in memory only."""
        state = LedgerState(zone=self._zone)
        state.replay(records)
        self._adopt(state, from_cache=False)

    def _adopt(self, state: LedgerState, *, from_cache: bool) -> None:
        self._state = state
        self._from_cache = from_cache
        self._duplicates = 0

    # --- booking -----------------------------------------------------------------------------------

    async def fee_rate_for(self, fill: Fill) -> tuple[Decimal | None, str | None] | None:
        """The rate to value ``fill``'s fee at: ``(None, None)`` when its fee is in the base or quote asset
        (or zero), ``(rate, source)`` for a third asset, ``(0, why)`` (with ``FeeRateUnavailable``) when no
        market values that asset in the quote, and None (with ``FeeRateUnavailable``) when no rate can be had
        now. Call it before ``book``, never inside a unit of work.

        A fee no market values is booked at 0 in quote (its amount still counts in the fees per asset): holding
        the fill back for a rate that will never come would keep its plan pending, and the position unprotected,
        for good."""
        if not needs_rate(fill):
            return None, None
        asset = fill.fee.asset
        answer = None if self.rates is None else await self.rates.rate(asset, fill.symbol.quote)
        if answer is not None and answer[0] == ZERO:
            self.telemetry.emit(
                FeeRateUnavailable(at=self.clock.now(), trade_id=fill.trade_id.value, symbol=str(fill.symbol),
                                   fee_asset=asset.code, detail=f"{answer[1]}; the fill is booked with the fee "
                                   "valued at 0 in quote (its amount counts in the fees per asset)")
            )
            return answer
        if answer is None or answer[0] < ZERO:
            detail = "no fee-rate source configured" if self.rates is None else "no rate available now"
            self.telemetry.emit(
                FeeRateUnavailable(at=self.clock.now(), trade_id=fill.trade_id.value, symbol=str(fill.symbol),
                                   fee_asset=asset.code, detail=f"{detail}; the fill is booked on a later sync")
            )
            return None
        return answer

    def book(
        self,
        fill: Fill,
        *,
        run_id: RunId,
        venue: str,
        plan_id: PlanId | None,
        role: OrderRole,
        also: Callable[[UnitOfWork], None] | None = None,
        fee_rate: Decimal | None = None,
        fee_rate_source: str | None = None,
    ) -> FillRecord | None:
        """Book ``fill`` in one unit of work (with ``also``'s writes and the cache rows); None if it was a
        duplicate. A fee in a third asset needs ``fee_rate`` (quote per unit, fetched before this call)."""
        key = (venue, fill.symbol, fill.trade_id.value)
        state = self._state
        if key in state.seen:
            self._ignore_duplicate(fill)
            return None
        holding, booking = apply_fill(self.holding(fill.symbol), fill, fee_rate)
        third = needs_rate(fill)
        record = FillRecord(
            run_id=run_id, venue=venue, fill=fill, plan_id=plan_id, role=role,
            realized_pnl=booking.realized_pnl, fee_quote=booking.fee_quote,
            fee_rate=fee_rate if third else None, fee_rate_source=fee_rate_source if third else None,
        )
        change = state.preview(record, holding, booking)
        scope, zone_name = self.scope, self.policy.day_timezone
        with self.store.unit_of_work() as uow:
            if not uow.fills.add(record):
                state.seen.add(key)
                self._ignore_duplicate(fill)
                return None
            if also is not None:
                also(uow)
            uow.ledger.save_totals(scope, zone_name, change.totals)
            uow.ledger.save_holding(scope, change.holding)
            uow.ledger.save_fee(scope, change.fee_total)
            uow.ledger.save_day(scope, change.day)
            uow.commit()
        state.absorb(record, holding, booking)
        state.track_flows(record)
        self._emit_booked(record, booking)
        return record

    def is_booked(self, venue: str, fill: Fill) -> bool:
        """True when this fill (by venue, symbol and trade id) is already in the ledger.

        O(1) in memory for every fill booked or replayed by this process; after a start from the cache,
        a key not seen yet is looked up in the store once (an indexed read) and remembered when found.
        """
        key = (venue, fill.symbol, fill.trade_id.value)
        if key in self._state.seen:
            return True
        if not self._from_cache:
            return False
        with self.store.unit_of_work() as uow:
            found = uow.fills.contains(venue, fill.symbol, fill.trade_id.value)
        if found:
            self._state.seen.add(key)
        return found

    def order_completed(self, order: TrackedOrder) -> OrderFeesReconciled | None:
        """Compare the fee estimated at submission with the fees the order's fills cost, and emit it.

        The estimate is for the whole order; it is compared pro rata to the quantity that filled. Only
        fills booked or replayed by this process are counted (not those behind a cache start).
        """
        if not order.filled_quantity:
            return None
        actual = self._state.order_fees.get(order.client_order_id.value, ZERO)
        estimated = order.estimated_fee
        if estimated is not None:
            estimated = estimated * order.filled_quantity.value / order.request.quantity.value
        event = OrderFeesReconciled(
            at=self.clock.now(), client_order_id=order.client_order_id.value, symbol=str(order.request.symbol),
            estimated=None if estimated is None else str(estimated), actual=str(actual),
            difference=None if estimated is None else str(actual - estimated),
        )
        self.telemetry.emit(event)
        return event

    # --- views -------------------------------------------------------------------------------------

    def holding(self, symbol: Symbol) -> Holding:
        """The bot's holding in ``symbol`` (flat when it never traded it)."""
        return self._state.holdings.get(symbol) or Holding(symbol)

    def holdings(self) -> tuple[Holding, ...]:
        """Every non-flat holding."""
        return tuple(h for h in self._state.holdings.values() if h.quantity != ZERO)

    def plan_result(self, plan_id: PlanId) -> PlanResult:
        """Totals of the fills booked for ``plan_id``."""
        return self._state.plans.get(plan_id) or PlanResult()

    @property
    def cash(self) -> Decimal:
        """The quote cash flow of every booked fill (cheap: read every tick for the equity mark)."""
        return self._state.cash

    @property
    def net_realized(self) -> Decimal:
        """Realized PnL net of fees (cheap: read every tick for the loss limits)."""
        return self._state.realized_pnl - self._state.fees

    @property
    def totals(self) -> LedgerTotals:
        """The running totals of the scope (what the cache holds)."""
        return self._state.totals

    @property
    def stats(self) -> PortfolioStats:
        """Totals over every booked fill."""
        state = self._state
        return PortfolioStats(
            fills=state.fills, realized_pnl=state.realized_pnl, fees=state.fees, cash=state.cash,
            duplicates=self._duplicates, fees_by_asset=tuple(sorted(state.fees_by_asset.items())),
        )

    def days(self) -> tuple[DayStats, ...]:
        """Per-day rows in the day time zone, oldest first."""
        return tuple(self._state.day(day) for day in sorted(self._state.days))

    def day(self, day: date) -> DayStats:
        """The row of ``day``."""
        return self._state.day(day)

    def snapshot(self) -> LedgerSnapshot:
        """Everything the cache should hold for the tracker's scope, from memory."""
        return self._state.snapshot(self.scope, self.policy.day_timezone)

    def flows(self, since: datetime | None = None) -> dict[Asset, AssetFlow]:
        """What this process's bookings moved in each asset (fills and fees), for the balance report;
        with ``since`` (the balance baseline's time), only fills executed then or later: one executed before
        is already in the baseline, even when it is booked after it (a fill found on a restart)."""
        return dict(self._state.flows) if since is None else self._state.flows_since(since)

    def balance_report(
        self, *, start: Iterable[Balance] | None, now: Iterable[Balance], tolerance: Decimal,
        outside: Mapping[Asset, Decimal] | None = None,
    ) -> tuple[BalanceLine, ...]:
        """The balance sanity report of this ledger against venue balances (see ``balances``)."""
        return balance_lines(holdings=self.holdings(), flows=self._state.flows, start=start, now=now,
                             tolerance=tolerance, outside=outside)

    # --- events ------------------------------------------------------------------------------------

    def _ignore_duplicate(self, fill: Fill) -> None:
        self._duplicates += 1
        self.telemetry.emit(
            DuplicateFillIgnored(at=self.clock.now(), trade_id=fill.trade_id.value, symbol=str(fill.symbol))
        )

    def _emit_booked(self, record: FillRecord, booking: Booking) -> None:
        fill = record.fill
        now = self.clock.now()
        self.telemetry.emit(
            FillRecorded(
                at=now, trade_id=fill.trade_id.value, fill_time=fill.time,
                client_order_id=None if fill.client_order_id is None else fill.client_order_id.value,
                symbol=str(fill.symbol), side=fill.side.value, price=str(fill.price), quantity=str(fill.quantity),
                fee=str(fill.fee.amount), fee_asset=str(fill.fee.asset), realized_pnl=str(booking.realized_pnl),
                plan_id=None if record.plan_id is None else record.plan_id.value,
            )
        )
        bound = self.policy.fees.sanity_bound
        if exceeds_sanity_bound(fill, booking.fee_quote, bound):
            self.telemetry.emit(
                FeeAboveSanityBound(
                    at=now, trade_id=fill.trade_id.value, symbol=str(fill.symbol), fee_quote=str(booking.fee_quote),
                    notional=str(fill.notional), bound_pct=str(bound * 100),
                )
            )
        if booking.excess > ZERO:
            self.telemetry.emit(
                LedgerAnomalyDetected(
                    at=now, symbol=str(fill.symbol),
                    detail=f"fill {fill.trade_id} sold {booking.excess} more than the bot held; no PnL booked on it",
                )
            )
