"""PortfolioTracker: the fill ledger, the bot's holdings, realized PnL, fees and stats."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

import attrs

from trader_core.domain.ledger import Booking, Holding, apply_fill
from trader_core.model import ZERO, Asset, Fill, FillRecord, OrderRole, PlanId, RunId, Symbol
from trader_core.model.events import DuplicateFillIgnored, FillRecorded, LedgerAnomalyDetected
from trader_core.ports import Clock, Store, Telemetry, UnitOfWork

__all__ = ["PlanResult", "PortfolioStats", "PortfolioTracker"]

FillKey = tuple[str, Symbol, str]


@attrs.frozen
class PlanResult:
    """Running totals of one plan's fills."""

    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        """Realized PnL net of fees."""
        return self.realized_pnl - self.fees


@attrs.frozen
class PortfolioStats:
    """Totals over every booked fill. ``cash`` is the quote cash flow (negative after buying)."""

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
    """Books venue fills exactly once and keeps holdings and stats in step with the store.

    A fill is keyed by (venue, symbol, trade id); a duplicate is ignored and counted. Memory changes
    only after the unit of work holding the booking commits, so a failed commit leaves no trace.
    """

    store: Store
    clock: Clock
    telemetry: Telemetry
    _holdings: dict[Symbol, Holding] = attrs.field(factory=dict, init=False)
    _seen: set[FillKey] = attrs.field(factory=set, init=False)
    _plans: dict[PlanId, PlanResult] = attrs.field(factory=dict, init=False)
    _fees_by_asset: dict[Asset, Decimal] = attrs.field(factory=dict, init=False)
    _stats: PortfolioStats = attrs.field(factory=PortfolioStats, init=False)

    def load(self, records: Iterable[FillRecord]) -> None:
        """Rebuild holdings and stats from stored fills, in booking order (start-up and rebuild)."""
        self._holdings.clear()
        self._seen.clear()
        self._plans.clear()
        self._fees_by_asset.clear()
        self._stats = PortfolioStats()
        for record in records:
            holding, booking = apply_fill(self.holding(record.fill.symbol), record.fill, _stored_rate(record))
            self._absorb(record, holding, booking)

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
    ) -> FillRecord | None:
        """Book ``fill`` in one unit of work (with ``also``'s writes); None if it was a duplicate."""
        key = (venue, fill.symbol, fill.trade_id.value)
        if key in self._seen:
            self._ignore_duplicate(fill)
            return None
        holding, booking = apply_fill(self.holding(fill.symbol), fill, fee_rate)
        record = FillRecord(
            run_id=run_id, venue=venue, fill=fill, plan_id=plan_id, role=role,
            realized_pnl=booking.realized_pnl, fee_quote=booking.fee_quote,
        )
        with self.store.unit_of_work() as uow:
            if not uow.fills.add(record):
                self._seen.add(key)
                self._ignore_duplicate(fill)
                return None
            if also is not None:
                also(uow)
            uow.commit()
        self._absorb(record, holding, booking)
        self._emit_booked(record, booking)
        return record

    def is_booked(self, venue: str, fill: Fill) -> bool:
        """True when this fill (by venue, symbol and trade id) is already in the ledger. O(1)."""
        return (venue, fill.symbol, fill.trade_id.value) in self._seen

    def holding(self, symbol: Symbol) -> Holding:
        """The bot's holding in ``symbol`` (flat when it never traded it)."""
        return self._holdings.get(symbol) or Holding(symbol)

    def holdings(self) -> tuple[Holding, ...]:
        """Every non-flat holding."""
        return tuple(h for h in self._holdings.values() if h.quantity != ZERO)

    def plan_result(self, plan_id: PlanId) -> PlanResult:
        """Totals of the fills booked for ``plan_id``."""
        return self._plans.get(plan_id) or PlanResult()

    @property
    def cash(self) -> Decimal:
        """The quote cash flow of every booked fill (cheap: read every tick for the equity mark)."""
        return self._stats.cash

    @property
    def stats(self) -> PortfolioStats:
        """Totals over every booked fill."""
        return attrs.evolve(self._stats, fees_by_asset=tuple(sorted(self._fees_by_asset.items())))

    def _absorb(self, record: FillRecord, holding: Holding, booking: Booking) -> None:
        fill = record.fill
        self._seen.add((record.venue, fill.symbol, fill.trade_id.value))
        self._holdings[fill.symbol] = holding
        if record.plan_id is not None:
            result = self.plan_result(record.plan_id)
            self._plans[record.plan_id] = PlanResult(
                result.realized_pnl + booking.realized_pnl, result.fees + booking.fee_quote
            )
        self._fees_by_asset[fill.fee.asset] = self._fees_by_asset.get(fill.fee.asset, ZERO) + fill.fee.amount
        stats = self._stats
        self._stats = attrs.evolve(
            stats,
            fills=stats.fills + 1,
            realized_pnl=stats.realized_pnl + booking.realized_pnl,
            fees=stats.fees + booking.fee_quote,
            cash=stats.cash + booking.cash_delta,
        )

    def _ignore_duplicate(self, fill: Fill) -> None:
        self._stats = attrs.evolve(self._stats, duplicates=self._stats.duplicates + 1)
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
        if booking.excess > ZERO:
            self.telemetry.emit(
                LedgerAnomalyDetected(
                    at=now, symbol=str(fill.symbol),
                    detail=f"fill {fill.trade_id} sold {booking.excess} more than the bot held; no PnL booked on it",
                )
            )


def _stored_rate(record: FillRecord) -> Decimal | None:
    # A third-asset fee was valued at booking time; the stored quote value carries that rate, so a
    # rebuild never needs the venue again.
    fee = record.fill.fee
    if fee.asset in (record.fill.symbol.base, record.fill.symbol.quote) or fee.amount == ZERO:
        return None
    return record.fee_quote / fee.amount
