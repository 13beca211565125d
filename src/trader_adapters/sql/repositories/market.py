"""SQL repository of captured candles."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from trader_adapters.sql.mapping import (
    candle_columns,
    candle_reader,
)
from trader_adapters.sql.models import (
    CandleRow,
)
from trader_adapters.sql.repositories.base import (
    Repository,
)
from trader_core.model.errors import InvalidDataError, InvalidValueError, StoreError
from trader_core.model.ids import Symbol
from trader_core.model.market import Candle, Timeframe

__all__ = ["SqlCandleRepository"]


_CANDLES = cast(Table, CandleRow.__table__)
_CANDLE_KEY = ("bot_id", "symbol", "timeframe", "open_time")
_CANDLE_VALUES = ("open", "high", "low", "close", "volume")


@cache
def _upsert_candles(dialect: str) -> Any:
    """INSERT ... ON CONFLICT (bot, symbol, timeframe, open time) DO UPDATE: one statement per batch."""
    insert_ = sqlite.insert if dialect == "sqlite" else postgresql.insert
    statement = insert_(_CANDLES)
    return statement.on_conflict_do_update(index_elements=list(_CANDLE_KEY),
                                           set_={name: statement.excluded[name] for name in _CANDLE_VALUES})


class SqlCandleRepository(Repository):
    """Captured candles of the bot: one row per (bot, symbol, timeframe, open time)."""

    def upsert(self, candles: Sequence[Candle]) -> int:
        """Store ``candles`` in one batch, replacing rows with the same key."""
        if not candles:
            return 0
        with self._uow.guard(f"upsert {len(candles)} candles"):
            rows = [{"bot_id": self._bot, **candle_columns(candle)} for candle in candles]
            dialect = self._uow.dialect
            if dialect in ("sqlite", "postgresql"):
                # A batch may name one key twice: the last candle wins, as one at a time would.
                unique = list({(r["symbol"], r["timeframe"], r["open_time"]): r for r in rows}.values())
                self._uow.connection.execute(_upsert_candles(dialect), unique)
                return len(candles)
            for row in rows:
                where = [_CANDLES.c[name] == row[name] for name in _CANDLE_KEY]
                values = {name: row[name] for name in _CANDLE_VALUES}
                if self._execute(update(_CANDLES).where(*where).values(values)).rowcount == 0:
                    self._execute(insert(_CANDLES).values(row))
            return len(candles)

    def _key(self, symbol: Symbol, timeframe: Timeframe) -> tuple[Any, ...]:
        return (_CANDLES.c.bot_id == self._bot, _CANDLES.c.symbol == str(symbol),
                _CANDLES.c.timeframe == timeframe.text)

    def list_for(self, symbol: Symbol, timeframe: Timeframe, *, limit: int | None = None) -> tuple[Candle, ...]:
        """Stored candles of the key, oldest first (the newest ``limit`` when given)."""
        with self._uow.guard(f"list candles {symbol} {timeframe}"):
            c = _CANDLES.c
            query = select(c.open_time, c.open, c.high, c.low, c.close, c.volume).where(*self._key(symbol, timeframe))
            if limit is not None:
                query = query.order_by(c.open_time.desc()).limit(max(limit, 0))
            else:
                query = query.order_by(c.open_time)
            rows = self._rows(query)
            if limit is not None:
                rows.reverse()
            read = candle_reader(symbol, timeframe)
            try:
                return tuple(read(row) for row in rows)
            except (InvalidDataError, InvalidValueError) as exc:
                raise StoreError(f"a stored {symbol} {timeframe} candle is invalid: {exc}") from exc

    def count(self, symbol: Symbol, timeframe: Timeframe) -> int:
        """How many candles of the key are stored."""
        with self._uow.guard(f"count candles {symbol} {timeframe}"):
            return int(self._execute(select(func.count()).select_from(_CANDLES)
                                     .where(*self._key(symbol, timeframe))).scalar_one())

    def prune(self, symbol: Symbol, timeframe: Timeframe, *, keep: int, older_than: datetime | None = None) -> int:
        """Keep the newest ``keep`` candles of the key, none opened before ``older_than``."""
        if keep < 0:
            raise StoreError(f"prune candles failed: keep must be at least 0, got {keep}")
        with self._uow.guard(f"prune candles {symbol} {timeframe}"):
            key = self._key(symbol, timeframe)
            cutoffs = []
            if keep == 0:
                return int(self._execute(delete(_CANDLES).where(*key)).rowcount)
            # The open time of the keep-th newest row: everything older goes.
            newest_kept = self._execute(
                select(_CANDLES.c.open_time).where(*key).order_by(_CANDLES.c.open_time.desc()).offset(keep - 1).limit(1)
            ).scalar_one_or_none()
            if newest_kept is not None:
                cutoffs.append(newest_kept)
            if older_than is not None:
                cutoffs.append(older_than)
            if not cutoffs:
                return 0
            return int(self._execute(delete(_CANDLES).where(*key, _CANDLES.c.open_time < max(cutoffs))).rowcount)

    def stored_keys(self) -> tuple[tuple[Symbol, Timeframe], ...]:
        """Every key with stored candles, sorted."""
        with self._uow.guard("list candle keys"):
            rows = self._rows(select(_CANDLES.c.symbol, _CANDLES.c.timeframe).where(_CANDLES.c.bot_id == self._bot)
                              .distinct())
            return tuple(sorted((Symbol.parse(row.symbol), Timeframe(row.timeframe)) for row in rows))
