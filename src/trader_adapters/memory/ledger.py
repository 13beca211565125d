"""In-memory repositories of the ledger cache, the trading state and the small named values per bot."""

from __future__ import annotations

from typing import TypeVar

from trader_adapters.memory.base import Repository, check_key, check_values, drop_scope, of_scope
from trader_core.model.health import TradingStatus
from trader_core.model.money import Money
from trader_core.model.stats import DayStats, Holding, LedgerSnapshot, LedgerTotals, StatsScope

__all__ = ["InMemoryLedgerRepository", "InMemoryTradingStateRepository", "InMemoryValueRepository"]

_T = TypeVar("_T")
_V = TypeVar("_V")
_K = TypeVar("_K")


class InMemoryLedgerRepository(Repository):
    """The cached ledger of each scope of the bot."""

    def find(self, scope: StatsScope) -> LedgerSnapshot | None:
        """The cached ledger of ``scope``, or None."""
        with self._uow.guard(f"find ledger {scope}"):
            state = self._state
            stored = state.ledger_totals.get(scope)
            if stored is None:
                return None
            zone, totals = stored
            return LedgerSnapshot(
                scope=scope, day_timezone=zone, totals=totals,
                holdings=of_scope(state.ledger_holdings, scope),
                fees_by_asset=of_scope(state.ledger_fees, scope),
                days=of_scope(state.ledger_days, scope),
            )

    def save_totals(self, scope: StatsScope, day_timezone: str, totals: LedgerTotals) -> None:
        """Create or replace the totals of ``scope``."""
        with self._uow.guard(f"save ledger totals {scope}"):
            check_values(totals, f"save ledger totals {scope}")
            self._state.ledger_totals[scope] = (day_timezone, totals)

    def save_holding(self, scope: StatsScope, holding: Holding) -> None:
        """Create or replace the holding of ``holding.symbol`` in ``scope``."""
        with self._uow.guard(f"save ledger holding {scope} {holding.symbol}"):
            check_values(holding, f"save ledger holding {scope}")
            self._state.ledger_holdings[(scope, holding.symbol)] = holding

    def save_fee(self, scope: StatsScope, total: Money) -> None:
        """Create or replace the total fee paid in ``total.asset`` in ``scope``."""
        with self._uow.guard(f"save ledger fee {scope} {total.asset}"):
            check_values(total, f"save ledger fee {scope}")
            self._state.ledger_fees[(scope, total.asset)] = total

    def save_day(self, scope: StatsScope, day: DayStats) -> None:
        """Create or replace the row of ``day.day`` in ``scope``."""
        with self._uow.guard(f"save ledger day {scope} {day.day}"):
            check_values(day, f"save ledger day {scope}")
            self._state.ledger_days[(scope, day.day)] = day

    def replace(self, snapshot: LedgerSnapshot) -> None:
        """Replace everything cached for ``snapshot.scope``."""
        scope = snapshot.scope
        with self._uow.guard(f"replace ledger {scope}"):
            check_values(snapshot, f"replace ledger {scope}")
            state = self._state
            drop_scope(state.ledger_holdings, scope)
            drop_scope(state.ledger_fees, scope)
            drop_scope(state.ledger_days, scope)
            state.ledger_totals[scope] = (snapshot.day_timezone, snapshot.totals)
            state.ledger_holdings.update({(scope, h.symbol): h for h in snapshot.holdings})
            state.ledger_fees.update({(scope, f.asset): f for f in snapshot.fees_by_asset})
            state.ledger_days.update({(scope, d.day): d for d in snapshot.days})

    def scopes(self) -> tuple[StatsScope, ...]:
        """Every scope with a cached ledger, sorted."""
        with self._uow.guard("list ledger scopes"):
            return tuple(sorted(self._state.ledger_totals, key=lambda scope: scope.key))


class InMemoryTradingStateRepository(Repository):
    """The bot's trading state (one per bot)."""

    def find(self) -> TradingStatus | None:
        """The stored trading state, or None."""
        with self._uow.guard("find trading state"):
            return self._state.trading_state

    def put(self, status: TradingStatus) -> None:
        """Create or replace the stored trading state."""
        with self._uow.guard(f"put trading state {status.state.value}"):
            check_values(status, "put trading state")
            self._state.trading_state = status


class InMemoryValueRepository(Repository):
    """Small named values of the bot."""

    def find(self, key: str) -> str | None:
        """The value under ``key``, or None."""
        with self._uow.guard(f"find value {key!r}"):
            return self._state.values.get(key)

    def put(self, key: str, value: str) -> None:
        """Create or replace the value under ``key``."""
        with self._uow.guard(f"put value {key!r}"):
            check_key(key)
            self._state.values[key] = value
