"""Rows of the cached ledger and the trading state."""

from __future__ import annotations

from datetime import date
from typing import Any

from trader_core.model.errors import InvalidValueError
from trader_core.model.health import TradingState, TradingStatus
from trader_core.model.ids import Asset, Symbol
from trader_core.model.money import Money
from trader_core.model.stats import DayStats, Holding, LedgerSnapshot, LedgerTotals, StatsScope

__all__ = [
    "day_columns",
    "fee_columns",
    "holding_columns",
    "ledger_from_rows",
    "totals_columns",
    "trading_state_columns",
    "trading_state_from_row",
]


def totals_columns(day_timezone: str, totals: LedgerTotals) -> dict[str, Any]:
    """Column values of a scope's totals (without ``bot_id`` and ``scope``)."""
    return {"day_timezone": day_timezone, "fills": totals.fills, "realized_pnl": totals.realized_pnl,
            "fees": totals.fees, "cash": totals.cash}


def holding_columns(holding: Holding) -> dict[str, Any]:
    """Column values of one cached holding (without ``bot_id`` and ``scope``)."""
    return {"symbol": str(holding.symbol), "quantity": holding.quantity, "cost": holding.cost}


def fee_columns(total: Money) -> dict[str, Any]:
    """Column values of one asset's fee total (without ``bot_id`` and ``scope``)."""
    return {"asset": total.asset.code, "amount": total.amount}


def day_columns(day: DayStats) -> dict[str, Any]:
    """Column values of one day row (without ``bot_id`` and ``scope``); the day as ISO text."""
    return {"day": day.day.isoformat(), "fills": day.fills, "realized_pnl": day.realized_pnl, "fees": day.fees,
            "cash": day.cash}


def ledger_from_rows(
    scope: StatsScope, totals: Any, holdings: list[Any], fees: list[Any], days: list[Any]
) -> LedgerSnapshot:
    """The cached ledger the rows of one scope hold."""
    return LedgerSnapshot(
        scope=scope,
        day_timezone=totals.day_timezone,
        totals=LedgerTotals(fills=totals.fills, realized_pnl=totals.realized_pnl, fees=totals.fees, cash=totals.cash),
        holdings=tuple(Holding(Symbol.parse(r.symbol), r.quantity, r.cost) for r in holdings),
        fees_by_asset=tuple(Money(r.amount, Asset(r.asset)) for r in fees),
        days=tuple(
            DayStats(day=date.fromisoformat(r.day), fills=r.fills, realized_pnl=r.realized_pnl, fees=r.fees,
                     cash=r.cash)
            for r in days
        ),
    )


_TRADING_STATES = {state.value: state for state in TradingState}


def trading_state_columns(status: TradingStatus) -> dict[str, Any]:
    """Column values of the bot's trading state (without ``bot_id``)."""
    return {"state": status.state.value, "reason": status.reason, "source": status.source, "since": status.since,
            "until": status.until}


def trading_state_from_row(row: Any) -> TradingStatus:
    """The trading state a row holds."""
    state = _TRADING_STATES.get(row.state)
    if state is None:
        raise InvalidValueError(f"stored trading state {row.state!r} is not one of {sorted(_TRADING_STATES)}")
    return TradingStatus(state=state, reason=row.reason, source=row.source, since=row.since,
                         until=row.until)
