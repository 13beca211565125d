"""Opening, upgrading and backing up the database, in process: what an operator sees when it goes wrong.

Every failure is one ``ConfigError`` whose text (and traceback) holds no credential of the URL.
"""

from __future__ import annotations

import re
import socket
import sqlite3
import threading
import traceback
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.store.records import a_fill, seed_bot
from trader_adapters.sql.migrate import current_revision, head_revision, upgrade_to_head
from trader_adapters.sql.store import SqlStore, create_store_engine
from trader_app.backups import backup_database, backup_sqlite, find_pg_dump
from trader_app.storage import open_store, redact, schema_state
from trader_core.model import BotId, ConfigError, StoreError

SECRET = "s3cr3t-Pa55"
BOT = BotId("bot-a")


def refused_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stamp(url: str, revision: str) -> None:
    engine = create_store_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    finally:
        engine.dispose()


def assert_no_secret(error: BaseException) -> None:
    shown = "".join(traceback.format_exception(error))
    assert SECRET not in shown
    assert "s3cr3t" not in shown


BAD_URLS = {
    "unparsable": ("not a url at all", "not a database URL"),
    "non-numeric port": (f"postgresql://trader:{SECRET}@localhost:port/db", "not a database URL"),
    "unknown dialect": (f"nosuchdb://trader:{SECRET}@localhost/db", "unsupported database 'nosuchdb'"),
    "unsupported database": (f"mysql://trader:{SECRET}@localhost/db", "unsupported database 'mysql'"),
    "missing driver": (f"postgresql+asyncpg://trader:{SECRET}@localhost/db", "not installed (asyncpg)"),
    "refused connection": (f"postgresql://trader:{SECRET}@127.0.0.1:{{port}}/db", "Connection refused"),
    "password in the query": (f"postgresql://trader@127.0.0.1:{{port}}/db?password={SECRET}", "Connection refused"),
    # A typo: '@' left unencoded in the password. The parser takes the password's tail for the host name.
    "unencoded @ in the password": (f"postgresql://trader:Tr0ub4dor@{SECRET}@127.0.0.1:{{port}}/db",
                                    "postgresql://trader:***@***@127.0.0.1"),
    "in-memory SQLite": ("sqlite://", "an in-memory database"),
    "in-memory SQLite by name": ("sqlite:///:memory:", "an in-memory database"),
    "in-memory SQLite as a URI": ("sqlite:///file:x?mode=memory&uri=true", "an in-memory database"),
}


@pytest.mark.parametrize("case", list(BAD_URLS))
def test_a_bad_url_is_one_clear_config_error_without_the_password(case: str) -> None:
    url, expected = BAD_URLS[case]
    with pytest.raises(ConfigError, match=re.escape(expected)) as caught:
        open_store(url.format(port=refused_port()), BOT)
    assert_no_secret(caught.value)
    assert "\n" not in str(caught.value)


def test_redaction_hides_the_password_as_typed_and_as_decoded() -> None:
    url = "postgresql://trader:p%40ss%2Fword@db.example/trader"
    assert redact("raw p%40ss%2Fword and decoded p@ss/word", url) == "raw *** and decoded ***"


def test_a_missing_sqlite_file_is_created_at_head_and_a_baseline_one_opens_unchanged(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    store = open_store(url, BOT)
    seed_bot(store, "bot-a")
    store.close()
    assert current_revision(url) == head_revision()

    again = open_store(url, BOT)
    with again.unit_of_work() as uow:
        assert uow.plans.list_active() != ()
    again.close()
    assert list(tmp_path.glob("*.bak")) == [], "a database at head needs no backup"


def test_an_empty_sqlite_file_gets_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    open_store(f"sqlite:///{path}", BOT).close()
    assert schema_state(f"sqlite:///{path}").status == "head"


def test_a_database_written_by_newer_code_is_refused_and_left_alone(database_url: str) -> None:
    stamp(database_url, "ffff_from_the_future")
    with pytest.raises(ConfigError, match=r"ffff_from_the_future.*upgrade the program"):
        open_store(database_url, BOT)
    assert current_revision(database_url) == "ffff_from_the_future"
    assert schema_state(database_url).status == "ahead"


def test_a_sqlite_backup_holds_what_is_still_in_the_wal_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    upgrade_to_head(url)
    store = SqlStore.open(url, BOT)  # stays open: its commits sit in live.db-wal, not yet in live.db
    seed_bot(store, "bot-a")
    with store.unit_of_work() as uow:
        for number in range(50):
            uow.fills.add(a_fill("bot-a", f"t-{number}", number))
        uow.commit()
    out = backup_sqlite(tmp_path / "live.db", tmp_path / "copy.bak")
    store.close()
    with sqlite3.connect(out) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("SELECT count(*) FROM fills").fetchone() == (50,)


def test_sqlite_backups_taken_while_a_bot_writes_are_each_one_consistent_snapshot(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    upgrade_to_head(url)
    store = SqlStore.open(url, BOT)
    seed_bot(store, "bot-a")
    stop = threading.Event()

    def write() -> None:
        # Each unit adds one fill and bumps the counter: in any consistent snapshot the two agree.
        number = 0
        while not stop.is_set():
            with store.unit_of_work() as uow:
                uow.fills.add(a_fill("bot-a", f"t-{number}", number))
                uow.sequences.next("fills")
                uow.commit()
            number += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        backups = [backup_sqlite(tmp_path / "busy.db", tmp_path / f"b{i}.bak") for i in range(5)]
    finally:
        stop.set()
        writer.join()
        store.close()
    counts = []
    for backup in backups:
        with sqlite3.connect(backup) as copy:
            fills = copy.execute("SELECT count(*) FROM fills").fetchone()[0]
            counter = copy.execute("SELECT coalesce(max(value), 0) FROM sequences").fetchone()[0]
        assert fills == counter
        counts.append(fills)
    assert counts == sorted(counts)


def test_a_backup_never_overwrites_an_existing_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    upgrade_to_head(url)
    (tmp_path / "taken.bak").write_text("keep me")
    with pytest.raises(ConfigError, match="exists already"):
        backup_database(url, tmp_path / "taken.bak")
    assert (tmp_path / "taken.bak").read_text() == "keep me"


def test_pg_dump_is_found_on_the_path_or_in_the_newest_debian_folder(tmp_path: Path) -> None:
    for version in ("9.6", "13", "15"):
        folder = tmp_path / version / "bin"
        folder.mkdir(parents=True)
        (folder / "pg_dump").write_text("#!/bin/sh\n")
        (folder / "pg_dump").chmod(0o755)
    empty = tmp_path / "empty-path"
    empty.mkdir()
    assert find_pg_dump(path=str(empty), debian_root=tmp_path) == tmp_path / "15" / "bin" / "pg_dump"
    assert find_pg_dump(path=str(tmp_path / "13" / "bin"), debian_root=tmp_path) == tmp_path / "13/bin/pg_dump"
    assert find_pg_dump(path=str(empty), debian_root=empty) is None


@pytest.mark.parametrize("url", [f"postgresql://trader:{SECRET}@db.example:5433/trader",
                                 f"postgresql://trader@db.example:5433/trader?password={SECRET}&sslmode=require"])
def test_pg_dump_gets_the_password_in_its_environment_wherever_the_url_holds_it(tmp_path: Path, url: str) -> None:
    # A stand-in pg_dump (the real one is a separate program) that writes down what it was given.
    seen = tmp_path / "seen.txt"
    fake = tmp_path / "pg_dump"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do case "$a" in --file=*) : > "${a#--file=}";; esac; done\n'
                    f'printf "%s\\n" "$PGPASSWORD" "$*" > {seen}\n')
    fake.chmod(0o755)
    written = backup_database(url, tmp_path / "trader.dump", pg_dump=fake, environ={})
    assert written.exists()
    password, command_line = seen.read_text().splitlines()
    assert password == SECRET, "pg_dump must be given the password, or the backup fails to authenticate"
    assert SECRET not in command_line, "never on the command line, where ps shows it"
    assert "dbname=trader" in command_line


def test_a_pg_dump_that_cannot_run_is_a_clear_error_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://trader:{SECRET}@127.0.0.1:{refused_port()}/db"
    with pytest.raises(ConfigError, match=r"running .*missing-pg_dump failed") as caught:
        backup_database(url, tmp_path / "x.dump", pg_dump=tmp_path / "missing-pg_dump")
    assert_no_secret(caught.value)
    assert not (tmp_path / "x.dump").exists()


@pytest.mark.postgres
def test_a_postgres_backup_is_a_pg_dump_archive_and_the_password_stays_out_of_the_error(
    empty_postgres_url: str, tmp_path: Path
) -> None:
    upgrade_to_head(empty_postgres_url)
    if find_pg_dump() is None:
        pytest.skip("pg_dump is not installed")
    out = backup_database(empty_postgres_url, tmp_path / "db.dump")
    assert out.read_bytes().startswith(b"PGDMP")

    refused = f"postgresql://trader:{SECRET}@127.0.0.1:{refused_port()}/db"
    with pytest.raises(ConfigError, match=r"pg_dump of .* failed") as caught:
        backup_database(refused, tmp_path / "refused.dump")
    assert_no_secret(caught.value)
    assert not (tmp_path / "refused.dump").exists()


def test_a_write_lock_held_past_the_wait_is_a_store_error_not_a_raw_driver_error(tmp_path: Path) -> None:
    """Another connection holds SQLite's write lock longer than the store waits: the unit of work fails as a
    ``StoreError`` (a failed tick, a lease renewal tried again), never a raw ``sqlite3.OperationalError`` that
    gets past every handler and ends a live bot with a traceback."""
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    upgrade_to_head(url)
    store = SqlStore(create_store_engine(url, busy_timeout_ms=50), BotId("b"), owns_engine=True)
    holder = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with store.unit_of_work() as uow, pytest.raises(StoreError, match="locked"):
            uow.values.put("k", "v")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        store.close()
