"""Housekeeping between ticks: a SQLite store's write-ahead log is moved into the database file when the loop
asks (``Store.maintain``), so that SQLite's own checkpoint, run inside whichever commit fills the log, need not
land in a tick."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from tests.store.records import seed_bot
from trader_app.storage import open_store
from trader_core.model import BotId

BOT = "bot-a"


def _runs_in_the_file_alone(database: Path, copy: Path) -> int:
    """Runs stored in the database file itself, without its write-ahead log (a copy of the file alone)."""
    shutil.copyfile(database, copy)
    with sqlite3.connect(copy) as connection:
        return int(connection.execute("SELECT count(*) FROM runs").fetchone()[0])


def test_maintain_moves_committed_units_from_the_log_into_the_database_file(tmp_path: Path) -> None:
    database = tmp_path / "trader.db"
    store = open_store(f"sqlite:///{database}", BotId(BOT))
    try:
        seed_bot(store, BOT)
        assert (tmp_path / "trader.db-wal").stat().st_size > 0
        assert _runs_in_the_file_alone(database, tmp_path / "before.db") == 0, "committed, still in the log"
        store.maintain()
        assert _runs_in_the_file_alone(database, tmp_path / "after.db") == 1
        with store.unit_of_work() as uow:  # and the store goes on as before
            assert uow.runs.find_latest() is not None
    finally:
        store.close()


def test_maintain_on_a_read_only_store_does_nothing_and_raises_nothing(tmp_path: Path) -> None:
    database = tmp_path / "trader.db"
    writer = open_store(f"sqlite:///{database}", BotId(BOT))
    seed_bot(writer, BOT)
    reader = open_store(f"sqlite:///{database}", BotId(BOT), read_only=True)
    try:
        reader.maintain()
        with reader.unit_of_work() as uow:
            assert uow.runs.find_latest() is not None
    finally:
        reader.close()
        writer.close()
