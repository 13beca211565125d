"""SQL repositories of the ledger cache, the trading state and the small named values per bot."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from trader_adapters.sql.mapping import (
    day_columns,
    fee_columns,
    holding_columns,
    ledger_from_rows,
    totals_columns,
    trading_state_columns,
    trading_state_from_row,
)
from trader_adapters.sql.models import (
    ValueRow,
)
from trader_adapters.sql.repositories.base import (
    DAYS,
    FEES,
    HOLDINGS,
    TOTALS,
    TRADING_STATE,
    Repository,
    upsert,
)
from trader_core.model.errors import StoreError
from trader_core.model.health import TradingStatus
from trader_core.model.money import Money
from trader_core.model.stats import DayStats, Holding, LedgerSnapshot, LedgerTotals, StatsScope

__all__ = ["SqlLedgerRepository", "SqlTradingStateRepository", "SqlValueRepository"]


class SqlLedgerRepository(Repository):
    """The cached ledger of each scope of the bot (totals, holdings, fees per asset, days)."""

    def find(self, scope: StatsScope) -> LedgerSnapshot | None:
        """The cached ledger of ``scope``, or None."""
        where = {"bot_id": self._bot, "scope": scope.key}
        with self._uow.guard(f"find ledger {scope}"):
            totals = self._select(TOTALS, where, "id")
            if not totals:
                return None
            return ledger_from_rows(
                scope, totals[0], self._select(HOLDINGS, where, "symbol"), self._select(FEES, where, "asset"),
                self._select(DAYS, where, "day"),
            )

    def save_totals(self, scope: StatsScope, day_timezone: str, totals: LedgerTotals) -> None:
        """Create or replace the totals of ``scope``."""
        with self._uow.guard(f"save ledger totals {scope}"):
            self._save(TOTALS, ("bot_id", "scope"), scope, totals_columns(day_timezone, totals))

    def save_holding(self, scope: StatsScope, holding: Holding) -> None:
        """Create or replace the holding of ``holding.symbol`` in ``scope``."""
        with self._uow.guard(f"save ledger holding {scope} {holding.symbol}"):
            self._save(HOLDINGS, ("bot_id", "scope", "symbol"), scope, holding_columns(holding))

    def save_fee(self, scope: StatsScope, total: Money) -> None:
        """Create or replace the total fee paid in ``total.asset`` in ``scope``."""
        with self._uow.guard(f"save ledger fee {scope} {total.asset}"):
            self._save(FEES, ("bot_id", "scope", "asset"), scope, fee_columns(total))

    def save_day(self, scope: StatsScope, day: DayStats) -> None:
        """Create or replace the row of ``day.day`` in ``scope``."""
        with self._uow.guard(f"save ledger day {scope} {day.day}"):
            self._save(DAYS, ("bot_id", "scope", "day"), scope, day_columns(day))

    def replace(self, snapshot: LedgerSnapshot) -> None:
        """Replace everything cached for ``snapshot.scope``."""
        scope = snapshot.scope
        base = {"bot_id": self._bot, "scope": scope.key}
        with self._uow.guard(f"replace ledger {scope}"):
            for table in (TOTALS, HOLDINGS, FEES, DAYS):
                self._execute(delete(table).where(table.c.bot_id == self._bot, table.c.scope == scope.key))
            self._execute(insert(TOTALS), {**base, **totals_columns(snapshot.day_timezone, snapshot.totals)})
            for table, rows in (
                (HOLDINGS, [holding_columns(h) for h in snapshot.holdings]),
                (FEES, [fee_columns(f) for f in snapshot.fees_by_asset]),
                (DAYS, [day_columns(d) for d in snapshot.days]),
            ):
                if rows:
                    self._execute(insert(table), [{**base, **row} for row in rows])

    def scopes(self) -> tuple[StatsScope, ...]:
        """Every scope with a cached ledger, sorted."""
        with self._uow.guard("list ledger scopes"):
            keys = self._execute(
                select(TOTALS.c.scope).where(TOTALS.c.bot_id == self._bot).order_by(TOTALS.c.scope)
            ).scalars()
            return tuple(StatsScope.parse(key) for key in keys)

    def _select(self, table: Table, where: dict[str, Any], order: str) -> list[Any]:
        return self._rows(
            select(table).where(*(table.c[name] == value for name, value in where.items())).order_by(table.c[order])
        )

    def _save(self, table: Table, keys: tuple[str, ...], scope: StatsScope, values: dict[str, Any]) -> None:
        row = {"bot_id": self._bot, "scope": scope.key, **values}
        dialect = self._uow.dialect
        if dialect in ("sqlite", "postgresql"):
            names = tuple(name for name in values if name not in keys)
            self._execute(upsert(dialect, table.name, keys, names), row)
            return
        where = [table.c[name] == row[name] for name in keys]
        if self._execute(update(table).where(*where).values(values)).rowcount == 0:
            self._execute(insert(table), row)


class SqlTradingStateRepository(Repository):
    """The bot's trading state: one row per bot."""

    def find(self) -> TradingStatus | None:
        """The stored trading state, or None."""
        with self._uow.guard("find trading state"):
            row = self._execute(select(TRADING_STATE).where(TRADING_STATE.c.bot_id == self._bot)).first()
            return None if row is None else trading_state_from_row(row)

    def put(self, status: TradingStatus) -> None:
        """Create or replace the stored trading state."""
        values = trading_state_columns(status)
        with self._uow.guard(f"put trading state {status.state.value}"):
            dialect = self._uow.dialect
            if dialect in ("sqlite", "postgresql"):
                insert_ = sqlite.insert if dialect == "sqlite" else postgresql.insert
                statement = insert_(TRADING_STATE).values(bot_id=self._bot, **values)
                self._execute(statement.on_conflict_do_update(
                    index_elements=["bot_id"], set_={name: statement.excluded[name] for name in values}
                ))
                return
            where = TRADING_STATE.c.bot_id == self._bot
            if self._execute(update(TRADING_STATE).where(where).values(values)).rowcount == 0:
                self._execute(insert(TRADING_STATE).values(bot_id=self._bot, **values))


_VALUES = cast(Table, ValueRow.__table__)


class SqlValueRepository(Repository):
    """Small named values of the bot: one row per (bot, key)."""

    def find(self, key: str) -> str | None:
        """The value under ``key``, or None."""
        with self._uow.guard(f"find value {key!r}"):
            row = self._execute(
                select(_VALUES.c.value).where(_VALUES.c.bot_id == self._bot, _VALUES.c.key == key)
            ).first()
            return None if row is None else str(row[0])

    def put(self, key: str, value: str) -> None:
        """Create or replace the value under ``key``."""
        if not isinstance(key, str) or not 1 <= len(key) <= 100:
            raise StoreError(f"a value key must be 1-100 characters, got {key!r}")
        with self._uow.guard(f"put value {key!r}"):
            where = (_VALUES.c.bot_id == self._bot, _VALUES.c.key == key)
            if self._execute(update(_VALUES).where(*where).values(value=value)).rowcount == 0:
                self._execute(insert(_VALUES).values(bot_id=self._bot, key=key, value=value))
