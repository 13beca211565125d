"""What only the SQL store promises: SQLite connection settings, and errors that never show a password."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from trader_adapters.sql.store import SqlStore, create_store_engine
from trader_core.model.errors import StoreError
from trader_core.model.ids import BotId, RunId
from trader_core.model.records import RunRecord


def test_sqlite_connections_use_wal_normal_sync_and_foreign_keys(sqlite_url: str) -> None:
    engine = create_store_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    finally:
        engine.dispose()


def test_a_store_on_an_unmigrated_database_fails_with_a_store_error(tmp_path: object) -> None:
    store = SqlStore.open(f"sqlite:///{tmp_path}/empty.db", BotId("bot-a"))
    try:
        with store.unit_of_work() as uow, pytest.raises(StoreError, match="no such table"):
            uow.runs.find(RunId("run-1"))
    finally:
        store.close()


@pytest.mark.parametrize("url", [
    "postgresql://trader:s3cret-pw@127.0.0.1:1/trader?connect_timeout=2",
    # libpq's passphrase of the client key: a StoreError logged mid-run showed it in clear
    "postgresql://trader:s3cret-pw@127.0.0.1:1/trader?connect_timeout=2&sslpassword=s3cret-pw",
])
def test_errors_never_show_the_database_password(url: str) -> None:
    # Port 1 on localhost refuses at once: the failure happens when the unit connects to the server.
    store = SqlStore.open(url, BotId("bot-a"))
    run = RunRecord(run_id=RunId("run-1"), mode="paper", started_at=datetime(2025, 1, 1, tzinfo=UTC))
    try:
        with pytest.raises(StoreError) as caught, store.unit_of_work() as uow:
            uow.runs.add(run)
    finally:
        store.close()
    assert "s3cret-pw" not in str(caught.value)
    assert "***" in str(caught.value)  # the URL is named, with its password hidden
    assert "Connection refused" in str(caught.value), "the log says why the database cannot be reached"
    assert "s3cret-pw" not in repr(store)


def test_the_sql_store_never_writes_a_float_into_a_decimal_column(sqlite_url: str) -> None:
    engine = create_store_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            types = connection.execute(text("SELECT type FROM pragma_table_info('fills') WHERE name = 'price'"))
            assert types.scalar() == "VARCHAR"
    finally:
        engine.dispose()
