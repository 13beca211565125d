"""Run summary and round-trip report: read from the tracker, the plans and the stored fills."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal

import attrs

from trader_core.costs import LlmSpend, net_pnl
from trader_core.health import HealthSnapshot
from trader_core.model import ZERO, FillRecord, OrderRole, Plan, PlanStatus, Symbol
from trader_core.portfolio import PortfolioTracker

__all__ = ["EquityCurve", "RunSummary", "plain", "round_trips"]

_CENTS = Decimal("0.01")
_FINE = Decimal("0.00000001")


@attrs.define
class EquityCurve:
    """Peak equity and the deepest fall from it, marked once per tick."""

    peak: Decimal = ZERO
    max_drawdown_pct: Decimal = ZERO

    def mark(self, equity: Decimal) -> None:
        """Record one equity reading."""
        if equity > self.peak:
            self.peak = equity
        elif self.peak > ZERO:
            drawdown = (self.peak - equity) / self.peak * 100
            self.max_drawdown_pct = max(self.max_drawdown_pct, drawdown)


def equity(balance: Decimal, tracker: PortfolioTracker, prices: Mapping[Symbol, Decimal]) -> Decimal:
    """Starting balance plus the ledger's cash flow plus open holdings at ``prices`` (a holding with no price yet, as
    after a restart whose first fetch of it failed, at its cost: counted at 0 it read as a drawdown of its whole
    value)."""
    held = sum((h.quantity * prices[h.symbol] if prices.get(h.symbol) else h.cost for h in tracker.holdings()), ZERO)
    return balance + tracker.cash + held


def unrealized(tracker: PortfolioTracker, prices: Mapping[Symbol, Decimal]) -> Decimal:
    """Open holdings at ``prices`` less what they cost (one without a price at its cost, as ``equity`` counts it)."""
    return sum((h.quantity * prices[h.symbol] - h.cost for h in tracker.holdings() if prices.get(h.symbol)), ZERO)


@attrs.frozen(kw_only=True)
class RunSummary:
    """What a run did, in the order the CLI prints it. Decimals print as plain strings."""

    run_id: str
    candles: int
    round_trips: int
    fills: int
    realized_pnl: Decimal  # after every fee paid, an open position's entry fee included (the ledger's net)
    unrealized_pnl: Decimal  # open positions at the last prices less their cost: realized + unrealized = equity change
    fees: Decimal
    final_equity: Decimal
    max_drawdown_pct: Decimal
    win_rate: Decimal | None  # None: no round trip closed, so no rate (said "n/a", as the report says it)
    buy_and_hold_return_pct: Decimal
    open_positions: int
    stop_reason: str
    elapsed_s: Decimal
    trading_state: str = "active"
    exchange_circuit: str = "ok"
    tool_circuit: str = "ok"
    reconciliation: str = "not needed"
    # LLM spend of the run (issue 15); net_pnl = gross - fees - LLM cost (realized_pnl is gross - fees).
    llm_calls: int = 0
    llm_tokens_in: int = 0
    llm_tokens_out: int = 0
    llm_cost: Decimal = ZERO
    net_pnl: Decimal = ZERO

    def as_dict(self) -> dict[str, str | int]:
        """JSON-ready: counts as numbers, Decimals as strings, an undefined ratio as "n/a"."""
        return {
            name: value if isinstance(value, int) else "n/a" if value is None else str(value)
            for name, value in attrs.asdict(self, recurse=False).items()
        }

    def render(self) -> str:
        """Aligned ``name  value`` lines for people."""
        rows = self.as_dict()
        width = max(len(k) for k in rows)
        return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows.items())


def summarize(
    *, run_id: str, candles: int, tracker: PortfolioTracker, plans: Iterable[Plan], balance: Decimal,
    prices: Mapping[Symbol, Decimal], first_prices: Mapping[Symbol, Decimal], curve: EquityCurve,
    stop_reason: str, elapsed_s: Decimal, reconciliation: str | None = None, health: HealthSnapshot | None = None,
    llm: LlmSpend | None = None,
) -> RunSummary:
    """Build the summary of a finished run."""
    closed = [p for p in plans if p.status is PlanStatus.CLOSED]
    wins = sum(1 for p in closed if tracker.plan_result(p.plan_id).net > ZERO)
    returns = [prices[s] / first_prices[s] - 1 for s in first_prices if s in prices]
    hold_pct = sum(returns, ZERO) / len(returns) * 100 if returns else ZERO
    stats = tracker.stats
    spend = llm or LlmSpend()
    return RunSummary(
        run_id=run_id,
        candles=candles,
        round_trips=len(closed),
        fills=stats.fills,
        realized_pnl=_q(stats.net_realized, _FINE),
        unrealized_pnl=_q(unrealized(tracker, prices), _FINE),
        fees=_q(stats.fees, _FINE),
        final_equity=_q(equity(balance, tracker, prices), _CENTS),
        max_drawdown_pct=_q(curve.max_drawdown_pct, _CENTS),
        win_rate=_q(Decimal(wins) / len(closed), Decimal("0.0001")) if closed else None,
        buy_and_hold_return_pct=_q(hold_pct, _CENTS),
        open_positions=len(tracker.holdings()),
        stop_reason=stop_reason,
        elapsed_s=_q(elapsed_s, Decimal("0.001")),
        **({} if health is None else _health_fields(health)),
        **({} if reconciliation is None else {"reconciliation": reconciliation}),
        llm_calls=spend.calls, llm_tokens_in=spend.tokens_in, llm_tokens_out=spend.tokens_out,
        llm_cost=_q(spend.cost, _FINE),
        net_pnl=_q(net_pnl(stats.net_realized + stats.fees, stats.fees, spend.cost), _FINE),
    )


def _health_fields(health: HealthSnapshot) -> dict[str, str]:
    """The trading state (with its reason and expiry when not active) and each circuit's health."""
    state = health.trading_state
    if state != "active":
        until = "" if health.until is None else f" until {health.until.isoformat()}"
        state = f"{state}{until} ({health.reason})"
    return {"trading_state": state, "exchange_circuit": health.exchange_circuit, "tool_circuit": health.tool_circuit}


def _q(value: Decimal, step: Decimal) -> Decimal:
    result = value.quantize(step, rounding=ROUND_HALF_EVEN)
    return result if result else ZERO  # a zero prints as 0, not 0E-8


_ENTRY_ROLES = (OrderRole.ENTRY,)


def round_trips(plans: Iterable[Plan], fills: Iterable[FillRecord], include_open: bool) -> list[dict[str, str]]:
    """One row per plan (partial exits folded in): volume-weighted prices, fees and net realized PnL."""
    by_plan: dict[str, list[FillRecord]] = {}
    for record in fills:
        if record.plan_id is not None:
            by_plan.setdefault(record.plan_id.value, []).append(record)
    rows = []
    for plan in plans:
        if plan.status is PlanStatus.CANCELLED or (plan.status is not PlanStatus.CLOSED and not include_open):
            continue
        records = by_plan.get(plan.plan_id.value, [])
        entries = [r for r in records if r.role in _ENTRY_ROLES]
        exits = [r for r in records if r.role not in _ENTRY_ROLES]
        if not entries:
            continue
        fees = sum((r.fee_quote for r in records), ZERO)
        realized = sum((r.realized_pnl for r in records), ZERO)
        rows.append({
            "plan_id": plan.plan_id.value,
            "symbol": str(plan.symbol),
            "side": "long" if plan.side.sign > 0 else "short",
            "entry_time": entries[0].fill.time.isoformat(),
            "exit_time": exits[-1].fill.time.isoformat() if exits and plan.status is PlanStatus.CLOSED else "",
            "entry_price": _vwap(entries),
            "exit_price": _vwap(exits) if exits else "",
            "quantity": str(sum((r.fill.quantity.value for r in entries), ZERO)),
            "fees": str(_q(fees, _FINE)),
            "realized_pnl": str(_q(realized - fees, _FINE)),
            "exit_reason": plan.exit_reason.value if plan.exit_reason else "",
        })
    return rows


def _vwap(records: list[FillRecord]) -> str:
    """The volume-weighted price in plain notation without trailing zeros (100, never 1E+2)."""
    quantity = sum((r.fill.quantity.value for r in records), ZERO)
    notional = sum((r.fill.notional for r in records), ZERO)
    return plain(_q(notional / quantity, _FINE))


def plain(value: Decimal) -> str:
    """``value`` without trailing zeros, in plain notation: ``Decimal.normalize`` alone writes 100 as 1E+2."""
    return format(value.normalize(), "f")
