"""``SqlStore``: the ``Store`` port on SQLAlchemy 2 (SQLite file or PostgreSQL through psycopg 3).

Each unit of work is one connection and one transaction; any database error becomes a ``StoreError``.
Core statements only (no ORM session): a unit of work is a handful of statements on the loop's hot path.
A replay may batch: between ``begin_batch()`` and ``end_batch()`` every unit of work is a savepoint of one
shared transaction that ``checkpoint()`` commits (docs/decisions.md, 2026-12-03 batched replay persistence).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from decimal import InvalidOperation
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from trader_adapters.sql.repositories import (
    SqlCandleRepository,
    SqlCommandRepository,
    SqlFillRepository,
    SqlLeaseRepository,
    SqlLedgerRepository,
    SqlLlmCallRepository,
    SqlLlmTraceRepository,
    SqlOrderRepository,
    SqlPlanRepository,
    SqlRunRepository,
    SqlSequenceRepository,
    SqlTradingStateRepository,
    SqlValueRepository,
)
from trader_core.model.errors import InvalidDataError, InvalidValueError, StoreError
from trader_core.model.ids import BotId
from trader_core.ports.store import (
    CandleRepository,
    CommandRepository,
    FillRepository,
    LeaseRepository,
    LedgerRepository,
    LlmCallRepository,
    LlmTraceRepository,
    OrderRepository,
    PlanRepository,
    RunRepository,
    SequenceRepository,
    TradingStateRepository,
    ValueRepository,
)

__all__ = ["SqlStore", "SqlUnitOfWork", "create_store_engine", "describe_url"]

# Errors that mean "the database or a stored row is not usable": translated, never leaked.
_TRANSLATED = (SQLAlchemyError, InvalidValueError, InvalidDataError, InvalidOperation)


_SECRET_WORDS = ("password", "secret", "token")


def describe_url(url: URL | str) -> str:
    """The URL as it may be shown to a person: password and credential query parameters hidden."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except SQLAlchemyError:
        return "<unparsable database URL>"
    # libpq's password= and sslpassword= (the client key's passphrase), and anything named like a credential.
    hidden = {key: "***" for key in parsed.query if any(word in key.lower() for word in _SECRET_WORDS)}
    if hidden:
        parsed = parsed.update_query_dict(hidden)
    return parsed.render_as_string(hide_password=True)


def driver_detail(exc: BaseException, url: URL) -> str:
    """The driver's own first line (``Connection refused``, ``password authentication failed``...), or the
    type check's, with the URL's password hidden. SQLAlchemy's wrapper adds SQL text and parameters that
    belong in logs, not in an error for the operator."""
    inner = getattr(exc, "orig", None) or exc
    text = (str(inner).strip().splitlines() or [type(inner).__name__])[0]
    password = url.password
    if password:
        text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(str(password))}(?![A-Za-z0-9])", "***", text)
    return f"{type(inner).__name__}: {text}"


def create_store_engine(url: str, *, busy_timeout_ms: int = 5000) -> Engine:
    """An engine set up for the store.

    ``postgresql://`` means psycopg 3. SQLite connections get WAL, ``synchronous=NORMAL``, foreign keys,
    a busy timeout, and ``BEGIN IMMEDIATE`` transactions: a unit of work takes the write lock when it
    starts, so a read followed by a write can never fail half-way on a lock upgrade, and writers queue.
    """
    try:
        parsed = make_url(url)
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        connect_args: dict[str, Any] = {}
        if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = 10  # an unreachable host fails in seconds, not minutes
        engine = create_engine(parsed, pool_pre_ping=parsed.get_backend_name() != "sqlite", connect_args=connect_args)
    except (SQLAlchemyError, ImportError) as exc:
        raise StoreError(f"cannot open database {describe_url(url)}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        _prepare_sqlite(engine, busy_timeout_ms, read_only=parsed.query.get("mode") == "ro")
    return engine


def _prepare_sqlite(engine: Engine, busy_timeout_ms: int, *, read_only: bool = False) -> None:
    # A read-only connection (``?mode=ro``) must not try to change the journal or take the write lock.
    begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 module (it skips it before SELECTs); see _on_begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if not read_only:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Straight to the driver: every unit of work begins here, and SQLAlchemy's statement machinery
        # (compilation cache, events, result set) costs more than the BEGIN itself. The driver's own error (a
        # write lock held past the busy timeout) is wrapped as SQLAlchemy would: the unit of work's guard turns
        # it into a StoreError, never a raw sqlite3 error past every handler.
        try:
            connection.connection.driver_connection.execute(begin)
        except Exception as exc:
            raise OperationalError(begin, None, exc) from exc


class SqlStore:
    """The ``Store`` port on a SQL database, scoped to one bot.

    The schema must exist already: create or upgrade it with ``trader_adapters.sql.migrate``.
    """

    def __init__(self, engine: Engine, bot_id: BotId, *, owns_engine: bool = False) -> None:
        self._engine = engine
        self._bot_id = bot_id
        self._owns_engine = owns_engine
        self._closed = False
        self._batch: Connection | None = None
        self._savepoints = 0
        self._batch_lock = threading.RLock()  # a batch's connection serves one unit at a time (lease renewer)

    @classmethod
    def open(cls, url: str, bot_id: BotId) -> SqlStore:
        """A store on the database at ``url``; ``close()`` disposes of its engine."""
        return cls(create_store_engine(url), bot_id, owns_engine=True)

    @property
    def bot_id(self) -> BotId:
        """The bot every row of this store belongs to."""
        return self._bot_id

    @property
    def engine(self) -> Engine:
        """The engine the store runs on."""
        return self._engine

    @contextmanager
    def unit_of_work(self) -> Iterator[SqlUnitOfWork]:
        """A new unit of work; leaving it without ``commit()`` rolls back."""
        if self._closed:
            raise StoreError(f"store on {describe_url(self._engine.url)} is closed")
        if self._batch is not None:
            with self._batch_lock, self._savepoint_unit(self._batch) as unit:
                yield unit
            return
        try:
            connection = self._engine.connect()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot connect to {describe_url(self._engine.url)}: "
                             f"{driver_detail(exc, self._engine.url)}") from exc
        uow = SqlUnitOfWork(connection, self._bot_id, self._engine.url)
        try:
            yield uow
        except BaseException:
            uow.end(quiet=True)
            raise
        uow.end(quiet=False)

    @contextmanager
    def _savepoint_unit(self, connection: Connection) -> Iterator[SqlUnitOfWork]:
        self._savepoints += 1
        uow = _SavepointUnitOfWork(connection, self._bot_id, self._engine.url, f"u{self._savepoints}")
        try:
            yield uow
        except BaseException:
            uow.end(quiet=True)
            raise
        uow.end(quiet=False)

    @property
    def batches_block_other_writers(self) -> bool:
        """Whether a batch would keep every other process from writing to the database until it commits: SQLite
        has one writer per file, so another bot on the same file would wait (and fail) behind a replay's batch.
        PostgreSQL locks rows, so other bots write beside it."""
        return self._engine.dialect.name == "sqlite"

    def begin_batch(self) -> None:
        """From now on every unit of work is a savepoint of one shared transaction: its ``commit()`` keeps its
        writes in the batch, its rollback discards only them. Nothing is durable before ``checkpoint()`` or
        ``end_batch()``: a process killed in between loses the batch since the last checkpoint, whole. A unit of
        another thread (the lease renewer) waits for the current unit and joins the batch too: with SQLite a
        separate transaction would wait for the batch's write lock."""
        if self._batch is not None:
            return
        try:
            connection = self._engine.connect()
            connection.begin()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot connect to {describe_url(self._engine.url)}: "
                             f"{driver_detail(exc, self._engine.url)}") from exc
        self._batch = connection

    def checkpoint(self) -> None:
        """Commit the batch so far (all or nothing) and go on batching. No-op outside a batch."""
        connection = self._batch
        if connection is None:
            return
        try:
            with self._batch_lock:
                connection.commit()
                connection.begin()
        except _TRANSLATED as exc:
            self._abandon_batch()
            raise StoreError(f"batch commit on {describe_url(self._engine.url)} failed: {type(exc).__name__}") from exc

    def end_batch(self, *, commit: bool = True) -> None:
        """Commit the batch (or discard it) and go back to one transaction per unit of work."""
        connection = self._batch
        if connection is None:
            return
        if not commit:
            self._abandon_batch()
            return
        try:
            connection.commit()
        except _TRANSLATED as exc:
            raise StoreError(f"batch commit on {describe_url(self._engine.url)} failed: {type(exc).__name__}") from exc
        finally:
            self._abandon_batch()

    def _abandon_batch(self) -> None:
        connection, self._batch = self._batch, None
        if connection is not None:
            with suppress(SQLAlchemyError):
                connection.close()  # rolls back what was not committed

    def maintain(self) -> None:
        """SQLite: a passive checkpoint (the write-ahead log copied into the database file without waiting for
        readers or blocking writers), so that the automatic one, run by whichever commit brings the log to 1,000
        pages, does not land in a tick: it was the slowest part of the slowest ticks. Nothing for PostgreSQL, a
        read-only store or during a batch; a failure (the database busy) is left for the next call."""
        if self._closed or self._batch is not None or self._engine.dialect.name != "sqlite":
            return
        try:
            raw = self._engine.raw_connection()  # outside a transaction: BEGIN IMMEDIATE would hold the write lock
        except SQLAlchemyError:
            return
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]
        except sqlite3.Error:
            return
        finally:
            raw.close()

    def close(self) -> None:
        """Release connections (and the engine, when the store created it). Idempotent. An open batch is
        discarded (``end_batch()`` commits it)."""
        if self._closed:
            return
        self._closed = True
        self._abandon_batch()
        if self._owns_engine:
            self._engine.dispose()

    def __repr__(self) -> str:
        return f"SqlStore({describe_url(self._engine.url)!r}, bot_id={self._bot_id.value!r})"


class SqlUnitOfWork:
    """One connection and transaction over the bot's repositories. Unusable after a ``StoreError``."""

    def __init__(self, connection: Connection, bot_id: BotId, url: URL) -> None:
        self._connection = connection
        self.bot = bot_id.value
        self._url = url
        self._failed = False
        self._ended = False
        self.runs: RunRepository = SqlRunRepository(self)
        self.orders: OrderRepository = SqlOrderRepository(self)
        self.fills: FillRepository = SqlFillRepository(self)
        self.plans: PlanRepository = SqlPlanRepository(self)
        self.sequences: SequenceRepository = SqlSequenceRepository(self)
        self.ledger: LedgerRepository = SqlLedgerRepository(self)
        self.trading_state: TradingStateRepository = SqlTradingStateRepository(self)
        self.values: ValueRepository = SqlValueRepository(self)
        self.candles: CandleRepository = SqlCandleRepository(self)
        self.commands: CommandRepository = SqlCommandRepository(self)
        self.leases: LeaseRepository = SqlLeaseRepository(self)
        self.llm_calls: LlmCallRepository = SqlLlmCallRepository(self)
        self.llm_traces: LlmTraceRepository = SqlLlmTraceRepository(self)

    def commit(self) -> None:
        """Make every write of this unit durable, all or nothing."""
        with self.guard("commit"):
            self._connection.commit()

    def rollback(self) -> None:
        """Discard every uncommitted write."""
        if self._failed:
            return  # already rolled back when the error happened
        with self.guard("rollback"):
            self._connection.rollback()

    @property
    def connection(self) -> Connection:
        """The connection of this unit (for the repositories)."""
        return self._connection

    @property
    def dialect(self) -> str:
        """``sqlite``, ``postgresql``..."""
        return self._connection.dialect.name

    @contextmanager
    def guard(self, action: str) -> Iterator[None]:
        """Run ``action``; on any failure roll back, mark the unit unusable and raise ``StoreError``."""
        if self._ended:
            raise StoreError(f"{action}: the unit of work has ended")
        if self._failed:
            raise StoreError(f"{action}: the unit of work failed earlier and was rolled back")
        try:
            yield
        except StoreError:
            self._fail()
            raise
        except _TRANSLATED as exc:
            self._fail()
            raise StoreError(f"{action} failed on {describe_url(self._url)}: {self._detail(exc)}") from exc

    def end(self, *, quiet: bool) -> None:
        """Close the connection, rolling back what was not committed."""
        if self._ended:
            return
        self._ended = True
        try:
            self._connection.close()
        except SQLAlchemyError as exc:
            if not quiet:
                raise StoreError(f"ending a unit of work on {describe_url(self._url)} failed") from exc

    def _fail(self) -> None:
        self._failed = True
        # If the connection is gone, the database discards the transaction itself.
        with suppress(SQLAlchemyError):
            self._connection.rollback()

    def _detail(self, exc: BaseException) -> str:
        return driver_detail(exc, self._url)


class _SavepointUnitOfWork(SqlUnitOfWork):
    """A unit of work inside a batch: a savepoint of the batch's transaction on its shared connection.

    The savepoint statements go straight to the driver (as BEGIN does): through SQLAlchemy each would be
    compiled anew, and a replay opens thousands of units."""

    def __init__(self, connection: Connection, bot_id: BotId, url: URL, name: str) -> None:
        super().__init__(connection, bot_id, url)
        self._name = name
        self._open = False
        self._driver("SAVEPOINT")
        self._open = True

    def _driver(self, statement: str) -> None:
        try:
            self.connection.connection.driver_connection.execute(f"{statement} {self._name}")  # type: ignore[union-attr]
        except Exception as exc:  # the driver's own error types (sqlite3, psycopg)
            self._failed = True
            raise StoreError(f"{statement.lower()} on {describe_url(self._url)}: {type(exc).__name__}: {exc}") from exc

    def commit(self) -> None:
        """Keep this unit's writes in the batch (durable at the batch's next checkpoint)."""
        if self._ended:
            raise StoreError("commit: the unit of work has ended")
        if self._failed:
            raise StoreError("commit: the unit of work failed earlier and was rolled back")
        self._driver("RELEASE SAVEPOINT")
        self._open = False

    def rollback(self) -> None:
        """Discard this unit's writes; the batch goes on."""
        self._undo()

    def end(self, *, quiet: bool) -> None:
        """Roll back what was not committed; the shared connection stays open."""
        if self._ended:
            return
        self._ended = True
        try:
            self._undo()
        except StoreError:
            if not quiet:
                raise

    def _undo(self) -> None:
        if self._open:
            self._open = False
            self._driver("ROLLBACK TO SAVEPOINT")
            self._driver("RELEASE SAVEPOINT")

    def _fail(self) -> None:
        self._failed = True
        with suppress(StoreError):
            self._undo()
