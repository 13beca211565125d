"""LedgerState: the tracker's running state, one code path for booking and for replaying fills.

Booking one fill and replaying it during a rebuild go through ``absorb`` alone, so a rebuild gives
exactly the incremental result. ``preview`` computes what one fill would change (the cache rows to
write in its unit of work) without touching the state, so memory moves only after the commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, localcontext

import attrs

from trader_core.model import ZERO, Asset, FillRecord, Money, PlanId, Side, Symbol
from trader_core.model.stats import DayStats, LedgerSnapshot, LedgerTotals, StatsScope
from trader_core.portfolio.ledger import EXACT, Booking, Holding, apply_fill_exact

__all__ = ["AssetFlow", "FillKey", "LedgerChange", "LedgerState", "PlanResult", "stored_rate"]

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
class AssetFlow:
    """How the bot's fills moved one asset: ``fills`` (bought, sold, paid, received) and ``fees`` paid in it
    (negative)."""

    fills: Decimal = ZERO
    fees: Decimal = ZERO


@attrs.frozen(kw_only=True)
class LedgerChange:
    """The cache rows one booking writes: new totals, the symbol's holding, the fee asset's total, the day."""

    totals: LedgerTotals
    holding: Holding
    fee_total: Money
    day: DayStats


def stored_rate(record: FillRecord) -> Decimal | None:
    """The rate a stored third-asset fee was valued at (derived from ``fee_quote`` for rows written
    before rates were stored), so a rebuild never needs the venue."""
    fee = record.fill.fee
    if fee.asset in (record.fill.symbol.base, record.fill.symbol.quote) or fee.amount == ZERO:
        return None
    if record.fee_rate is not None:
        return record.fee_rate
    with localcontext(EXACT):
        return record.fee_quote / fee.amount


@attrs.define
class LedgerState:
    """Holdings, totals, fees per asset, per-day rows, per-plan and per-order results, booked keys."""

    zone: tzinfo = UTC
    holdings: dict[Symbol, Holding] = attrs.Factory(dict)
    seen: set[FillKey] = attrs.Factory(set)
    plans: dict[PlanId, PlanResult] = attrs.Factory(dict)
    order_fees: dict[str, Decimal] = attrs.Factory(dict)  # by client order id
    fees_by_asset: dict[Asset, Decimal] = attrs.Factory(dict)
    days: dict[date, list[object]] = attrs.Factory(dict)
    flows: dict[Asset, AssetFlow] = attrs.Factory(dict)
    # (fill time, asset, flow) of each booking this session, for the flows since a balance baseline
    dated_flows: list[tuple[datetime, Asset, AssetFlow]] = attrs.Factory(list)
    fills: int = 0
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    cash: Decimal = ZERO

    @property
    def totals(self) -> LedgerTotals:
        """The running totals."""
        return LedgerTotals(fills=self.fills, realized_pnl=self.realized_pnl, fees=self.fees, cash=self.cash)

    def day_of(self, time: datetime) -> date:
        """The calendar day of ``time`` in the ledger's time zone."""
        return time.date() if self.zone is UTC else time.astimezone(self.zone).date()

    def day(self, day: date) -> DayStats:
        """The row of ``day`` (empty when nothing was booked that day)."""
        row = self.days.get(day)
        if row is None:
            return DayStats(day=day)
        fills, realized, fees, cash = row
        return DayStats(day=day, fills=fills, realized_pnl=realized, fees=fees, cash=cash)  # type: ignore[arg-type]

    def replay(self, records: Iterable[FillRecord]) -> int:
        """Absorb stored fills in booking order (a rebuild); returns how many. Duplicates are skipped."""
        count = 0
        holdings, seen = self.holdings, self.seen
        with localcontext(EXACT):
            for record in records:
                fill = record.fill
                key = (record.venue, fill.symbol, fill.trade_id.value)
                if key in seen:
                    continue
                holding = holdings.get(fill.symbol) or Holding(fill.symbol)
                quote_fee = fill.fee.asset.code == fill.symbol.quote.code  # the common case needs no rate
                new, booking = apply_fill_exact(holding, fill, None if quote_fee else stored_rate(record))
                self._absorb(record, key, new, booking)
                count += 1
        return count

    def absorb(self, record: FillRecord, holding: Holding, booking: Booking) -> None:
        """Add one booked fill (after its unit of work committed)."""
        fill = record.fill
        with localcontext(EXACT):
            self._absorb(record, (record.venue, fill.symbol, fill.trade_id.value), holding, booking)

    def preview(self, record: FillRecord, holding: Holding, booking: Booking) -> LedgerChange:
        """What absorbing ``record`` would write to the cache, computed without changing the state."""
        fill = record.fill
        with localcontext(EXACT):
            totals = LedgerTotals(
                fills=self.fills + 1, realized_pnl=self.realized_pnl + booking.realized_pnl,
                fees=self.fees + booking.fee_quote, cash=self.cash + booking.cash_delta,
            )
            asset = fill.fee.asset
            fee_total = Money(self.fees_by_asset.get(asset, ZERO) + fill.fee.amount, asset)
            day = self.day(self.day_of(fill.time))
            day = DayStats(
                day=day.day, fills=day.fills + 1, realized_pnl=day.realized_pnl + booking.realized_pnl,
                fees=day.fees + booking.fee_quote, cash=day.cash + booking.cash_delta,
            )
        return LedgerChange(totals=totals, holding=holding, fee_total=fee_total, day=day)

    def _absorb(self, record: FillRecord, key: FillKey, holding: Holding, booking: Booking) -> None:
        # Called inside localcontext(EXACT): every sum is exact, so the order of operations is all that
        # could differ between a booking and a rebuild, and it does not.
        fill = record.fill
        self.seen.add(key)
        self.holdings[fill.symbol] = holding
        realized, fee_quote, cash = booking.realized_pnl, booking.fee_quote, booking.cash_delta
        if record.plan_id is not None:
            result = self.plans.get(record.plan_id)
            self.plans[record.plan_id] = (
                PlanResult(realized, fee_quote) if result is None
                else PlanResult(result.realized_pnl + realized, result.fees + fee_quote)
            )
        if fill.client_order_id is not None:
            order = fill.client_order_id.value
            self.order_fees[order] = self.order_fees.get(order, ZERO) + fee_quote
        asset = fill.fee.asset
        self.fees_by_asset[asset] = self.fees_by_asset.get(asset, ZERO) + fill.fee.amount
        self.fills += 1
        self.realized_pnl += realized
        self.fees += fee_quote
        self.cash += cash
        day = fill.time.date() if self.zone is UTC else fill.time.astimezone(self.zone).date()
        row = self.days.get(day)
        if row is None:
            self.days[day] = [1, realized, fee_quote, cash]
        else:
            row[0] += 1  # type: ignore[operator]
            row[1] += realized  # type: ignore[operator]
            row[2] += fee_quote  # type: ignore[operator]
            row[3] += cash  # type: ignore[operator]

    def track_flows(self, record: FillRecord) -> None:
        """Add what ``record`` moved in each asset (for the balance report of this session)."""
        fill = record.fill
        base, quote = fill.symbol.base, fill.symbol.quote
        sign = 1 if fill.side is Side.BUY else -1
        with localcontext(EXACT):
            self._flow(fill.time, base, fills=sign * fill.quantity.value)
            self._flow(fill.time, quote, fills=-sign * fill.notional)
            self._flow(fill.time, fill.fee.asset, fees=-fill.fee.amount)

    def _flow(self, at: datetime, asset: Asset, *, fills: Decimal = ZERO, fees: Decimal = ZERO) -> None:
        flow = self.flows.get(asset) or AssetFlow()
        self.flows[asset] = AssetFlow(flow.fills + fills, flow.fees + fees)
        self.dated_flows.append((at, asset, AssetFlow(fills, fees)))

    def flows_since(self, since: datetime) -> dict[Asset, AssetFlow]:
        """What the fills executed at or after ``since`` moved, whenever they were booked."""
        out: dict[Asset, AssetFlow] = {}
        with localcontext(EXACT):
            for at, asset, flow in self.dated_flows:
                if at >= since:
                    total = out.get(asset) or AssetFlow()
                    out[asset] = AssetFlow(total.fills + flow.fills, total.fees + flow.fees)
        return out

    def snapshot(self, scope: StatsScope, zone_name: str) -> LedgerSnapshot:
        """Everything the cache holds for ``scope``, from this state."""
        return LedgerSnapshot(
            scope=scope, day_timezone=zone_name, totals=self.totals,
            holdings=tuple(self.holdings[symbol] for symbol in sorted(self.holdings)),
            fees_by_asset=tuple(Money(self.fees_by_asset[asset], asset) for asset in sorted(self.fees_by_asset)),
            days=tuple(self.day(day) for day in sorted(self.days)),
        )

    @classmethod
    def from_snapshot(cls, snapshot: LedgerSnapshot, zone: tzinfo) -> LedgerState:
        """A state that starts from the cache (booked keys, plan and order results are not cached)."""
        totals = snapshot.totals
        return cls(
            zone=zone,
            holdings={holding.symbol: holding for holding in snapshot.holdings},
            fees_by_asset={fee.asset: fee.amount for fee in snapshot.fees_by_asset},
            days={d.day: [d.fills, d.realized_pnl, d.fees, d.cash] for d in snapshot.days},
            fills=totals.fills, realized_pnl=totals.realized_pnl, fees=totals.fees, cash=totals.cash,
        )
