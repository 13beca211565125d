"""End to end: ``trader-app db ...`` and ``trader-app run --db ...`` in a subprocess, as an operator runs them.

Exit codes: 0 ok; 2 for a bad URL, an unreachable database or a refused operation (one line on stderr);
``db check`` answers 1 when the schema is not at head.
"""

from __future__ import annotations

import re
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.store.databases import fresh_postgres_schema
from trader_adapters.sql.migrate import head_revision
from trader_adapters.sql.store import create_store_engine

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")
SECRET = "s3cr3t-Pa55"
HEAD = head_revision()


def app(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([APP, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


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


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("trader-app: error: "), lines[0]
    return lines[0]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL schema whose URL carries a password (ignored by the trusting test server)."""
    with fresh_postgres_schema(password=SECRET) as url:
        yield url


# --- SQLite: the life of a database file ---------------------------------------------------------------


def test_db_upgrade_creates_a_new_file_and_current_and_check_then_report_head(tmp_path: Path) -> None:
    upgraded = app(tmp_path, "db", "upgrade", "--db", "sqlite:///bot.db")
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout == f"upgraded sqlite:///bot.db from empty to {HEAD}\n"
    assert (tmp_path / "bot.db").is_file()

    current = app(tmp_path, "db", "current", "--db", "sqlite:///bot.db")
    assert (current.returncode, current.stdout) == (0, f"{HEAD} (head)\n")
    check = app(tmp_path, "db", "check", "--db", "sqlite:///bot.db")
    assert check.returncode == 0, check.stderr

    again = app(tmp_path, "db", "upgrade", "--db", "sqlite:///bot.db")
    assert again.returncode == 0
    assert "nothing to do" in again.stdout
    assert list(tmp_path.glob("*.bak")) == [], "a database at head is not copied"


def test_the_url_comes_from_trader_db_like_for_run(tmp_path: Path) -> None:
    result = subprocess.run([APP, "db", "upgrade"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            check=False, env={"PATH": "/usr/bin:/bin", "TRADER_DB": "sqlite:///from-env.db"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "from-env.db").is_file()


def test_current_and_check_on_an_empty_file_say_it_is_behind(tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()
    current = app(tmp_path, "db", "current", "--db", "sqlite:///empty.db")
    assert current.returncode == 0
    assert current.stdout.startswith("empty (behind: head is ")
    check = app(tmp_path, "db", "check", "--db", "sqlite:///empty.db")
    assert check.returncode == 1
    assert check.stdout == ""
    assert check.stderr.count("\n") == 1
    assert "is not at head: empty (behind" in check.stderr
    assert "trader-app db upgrade" in check.stderr


def test_read_only_commands_do_not_create_a_missing_file(tmp_path: Path) -> None:
    for action in ("current", "check", "backup"):
        result = app(tmp_path, "db", action, "--db", "sqlite:///missing.db")
        assert result.returncode == 2, action
        assert one_error_line(result).endswith("no database file at missing.db")
    assert not (tmp_path / "missing.db").exists()


def test_rebuild_does_not_create_a_missing_database(tmp_path: Path) -> None:
    """A mistyped ``--db`` used to leave a migrated, empty database behind, then say the bot had no runs."""
    result = app(tmp_path, "rebuild", "--db", "sqlite:///missing.db")
    assert result.returncode == 2
    assert one_error_line(result).endswith("no database file at missing.db")
    assert not (tmp_path / "missing.db").exists()


def test_run_creates_an_empty_file_and_upgrades_a_baseline_database_silently(tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()
    first = app(tmp_path, "run", "--days", "1", "--db", "sqlite:///empty.db")
    assert first.returncode == 0, first.stderr
    assert app(tmp_path, "db", "check", "--db", "sqlite:///empty.db").returncode == 0

    assert app(tmp_path, "db", "upgrade", "--db", "sqlite:///baseline.db").returncode == 0
    second = app(tmp_path, "run", "--days", "1", "--db", "sqlite:///baseline.db")
    assert second.returncode == 0, second.stderr
    assert "upgrad" not in second.stderr.lower()
    assert list(tmp_path.glob("*.bak")) == []


def test_a_database_from_before_the_ledger_cache_shows_its_positions_and_pnl_after_db_upgrade(
        tmp_path: Path) -> None:
    import json

    from alembic import command

    from trader_adapters.sql.migrate import alembic_config

    assert app(tmp_path, "run", "--days", "2", "--db", "sqlite:///bot.db").returncode == 0
    before = json.loads(app(tmp_path, "status", "--json", "--db", "sqlite:///bot.db").stdout)
    assert before["pnl"]["total"]["fills"] > 0, "the replay traded"
    assert before["positions"], "and holds a position"
    # The same rows as a database made by the first release (revision 0001): runs, orders, fills, plans.
    engine = create_store_engine("sqlite:///" + str(tmp_path / "bot.db"))
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0001")
    finally:
        engine.dispose()

    assert app(tmp_path, "db", "upgrade", "--db", "sqlite:///bot.db").returncode == 0
    after = json.loads(app(tmp_path, "status", "--json", "--db", "sqlite:///bot.db").stdout)
    assert after["positions"] == before["positions"]
    assert after["pnl"]["total"] == before["pnl"]["total"]


def test_a_database_of_newer_code_is_reported_ahead_and_refused_by_upgrade_and_run(tmp_path: Path) -> None:
    url = "sqlite:///future.db"
    assert app(tmp_path, "db", "upgrade", "--db", url).returncode == 0
    stamp(f"sqlite:///{tmp_path / 'future.db'}", "ffff_from_the_future")

    current = app(tmp_path, "db", "current", "--db", url)
    assert current.returncode == 0
    assert current.stdout.startswith("ffff_from_the_future (ahead: unknown to this program")
    check = app(tmp_path, "db", "check", "--db", url)
    assert check.returncode == 1
    assert "ahead" in check.stderr

    for command in (["db", "upgrade"], ["run", "--days", "1"], ["trades"]):
        refused = app(tmp_path, *command, "--db", url)
        assert refused.returncode == 2, command
        line = one_error_line(refused)
        assert "schema revision 'ffff_from_the_future', which this program does not know" in line
        assert "upgrade the program" in line
    assert list(tmp_path.glob("*.bak")) == [], "a refused database is not touched, not even copied"


def test_db_backup_writes_a_timestamped_consistent_copy_next_to_the_file(tmp_path: Path) -> None:
    assert app(tmp_path, "run", "--days", "1", "--db", "sqlite:///bot.db").returncode == 0
    result = app(tmp_path, "db", "backup", "--db", "sqlite:///bot.db")
    assert result.returncode == 0, result.stderr
    written = re.fullmatch(r"backed up sqlite:///bot\.db to (bot\.db\.\d{8}T\d{6}Z\.bak)\n", result.stdout)
    assert written, result.stdout
    with sqlite3.connect(tmp_path / written.group(1)) as copy, sqlite3.connect(tmp_path / "bot.db") as source:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        query = "SELECT count(*), max(booking_seq) FROM fills"
        assert copy.execute(query).fetchone() == source.execute(query).fetchone()


def test_db_backup_to_a_chosen_file_refuses_to_overwrite_it(tmp_path: Path) -> None:
    assert app(tmp_path, "db", "upgrade", "--db", "sqlite:///bot.db").returncode == 0
    first = app(tmp_path, "db", "backup", "--db", "sqlite:///bot.db", "--out", "copy.db")
    assert (first.returncode, first.stdout) == (0, "backed up sqlite:///bot.db to copy.db\n")
    second = app(tmp_path, "db", "backup", "--db", "sqlite:///bot.db", "--out", "copy.db")
    assert second.returncode == 2
    assert "copy.db exists already" in one_error_line(second)
    for out, problem in (("bot.db-wal", "--out bot.db-wal is the database's wal file"),
                         ("bot.db-shm", "--out bot.db-shm is the database's shm file")):
        before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
        refused = app(tmp_path, "db", "backup", "--db", "sqlite:///bot.db", "--out", out)
        assert refused.returncode == 2, refused.stderr
        assert problem in one_error_line(refused)
        assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before


# --- bad URLs: one line, exit 2, no password anywhere ---------------------------------------------------

BAD_URLS = {
    "unparsable": ("::not a url::", "not a database URL"),
    "non-numeric port": (f"postgresql://trader:{SECRET}@localhost:port/db", "not a database URL"),
    "unknown dialect": (f"nosuchdb://trader:{SECRET}@localhost/db", "unsupported database 'nosuchdb'"),
    "missing driver": (f"postgresql+asyncpg://trader:{SECRET}@localhost/db", "is not installed (asyncpg)"),
    "refused connection": (f"postgresql://trader:{SECRET}@127.0.0.1:{{port}}/db", "Connection refused"),
    "password in the query": (f"postgresql://trader@127.0.0.1:{{port}}/db?password={SECRET}",
                              "Connection refused"),
    "in-memory SQLite": ("sqlite://", "an in-memory database"),
}
COMMANDS = {
    "run": ["run", "--days", "1"],
    "trades": ["trades"],
    "db upgrade": ["db", "upgrade"],
    "db current": ["db", "current"],
    "db check": ["db", "check"],
    "db backup": ["db", "backup"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("case", list(BAD_URLS))
def test_a_bad_database_url_is_one_error_line_exit_2_and_never_shows_the_password(
    tmp_path: Path, case: str, command: str
) -> None:
    url, expected = BAD_URLS[case]
    result = app(tmp_path, *COMMANDS[command], "--db", url.format(port=refused_port()))
    assert result.returncode == 2, result.stderr
    assert expected in one_error_line(result)
    assert SECRET not in result.stdout + result.stderr
    logged = "".join(path.read_text(errors="replace") for path in tmp_path.rglob("*") if path.is_file())
    assert SECRET not in logged


# --- PostgreSQL -------------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_goes_through_upgrade_check_run_and_backup_without_showing_the_password(
    tmp_path: Path, postgres_url: str
) -> None:
    shown = []
    empty = app(tmp_path, "db", "check", "--db", postgres_url)
    assert empty.returncode == 1
    assert "empty (behind" in empty.stderr
    for command in (["db", "upgrade"], ["db", "current"], ["db", "check"], ["run", "--days", "1"],
                    ["db", "backup", "--out", "trader.dump"]):
        result = app(tmp_path, *command, "--db", postgres_url)
        assert result.returncode == 0, (command, result.stderr)
        shown.append(result.stdout + result.stderr)
    assert f"{HEAD} (head)" in shown[1]
    assert "***" in shown[0]
    assert (tmp_path / "trader.dump").read_bytes().startswith(b"PGDMP")
    logged = "".join(path.read_text(errors="replace") for path in tmp_path.rglob("*.jsonl"))
    assert logged, "the run wrote telemetry"
    assert SECRET not in "".join(shown) + logged


@pytest.mark.postgres
def test_a_postgres_database_of_newer_code_stops_run_with_exit_2(tmp_path: Path, postgres_url: str) -> None:
    assert app(tmp_path, "db", "upgrade", "--db", postgres_url).returncode == 0
    stamp(postgres_url, "ffff_from_the_future")
    result = app(tmp_path, "run", "--days", "1", "--db", postgres_url)
    assert result.returncode == 2
    assert "ffff_from_the_future" in one_error_line(result)
    assert SECRET not in result.stderr


def test_a_sandbox_bot_never_resumes_the_open_plans_of_a_replay_in_the_same_database(tmp_path: Path) -> None:
    import json
    import os
    import signal
    import time

    from trader_sandbox.testing import ccxt_client, running_sandbox

    assert app(tmp_path, "run", "--days", "2", "--symbol", "BTC/USDT", "--db", "sqlite:///bot.db").returncode == 0
    replay = json.loads(app(tmp_path, "status", "--json", "--db", "sqlite:///bot.db").stdout)
    assert replay["plans"], "the replay ended holding a simulated position, protected by an open plan"
    with running_sandbox(candle_ms=1000, history=60) as sandbox:
        sandbox.start_timer(1.0)
        env = {**os.environ, "TRADER_EXCHANGE__API_KEY": sandbox.api_key, "TRADER_EXCHANGE__SECRET": sandbox.secret}
        live = [APP, "run", "--db", "sqlite:///bot.db", "--exchange", "binance", "--sandbox-url", sandbox.url,
                "--symbol", "BTC/USDT", "--timeframe", "1s", "--interval", "0.5", "--fast", "50", "--slow", "60",
                "--stake", "100"]
        # The same bot: its ledger would count the replay's fills as holdings. Refused before anything is sent.
        refused = subprocess.run(live, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                                 check=False)
        assert refused.returncode == 2, refused.stderr
        (line,) = refused.stderr.strip().splitlines()
        assert line.startswith("trader-app: error: bot default holds ")
        assert "fills of replay or paper runs in this database" in line
        assert "run it under another --bot (or --db)" in line
        assert not [r for r in sandbox.requests() if r["path"] == "/api/v3/order"], "nothing was sent"
        # Under a bot of its own in the same file, averages too slow to cross in the few seconds the bot runs: any
        # order would be the replay's plan's.
        bot = subprocess.Popen([*live, "--bot", "live1"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
        time.sleep(6)
        bot.send_signal(signal.SIGTERM)
        _, stderr = bot.communicate(timeout=60)
        assert bot.returncode == 0, stderr
        venue = ccxt_client(sandbox)
        assert venue.fetch_my_trades("BTC/USDT") == [], "the bot sold coins only the replay had bought"
        assert venue.fetch_open_orders("BTC/USDT") == []


@pytest.mark.postgres
def test_a_postgres_database_that_fills_up_mid_replay_stops_it_in_one_line_never_finished(
        tmp_path: Path, postgres_url: str) -> None:
    # A replay on PostgreSQL writes in batched transactions: the failed statement aborts the batch, whose commit
    # then fails too. A trigger stands in for the full disk.
    assert app(tmp_path, "db", "upgrade", "--db", postgres_url).returncode == 0
    engine = create_store_engine(postgres_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE FUNCTION disk_full() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION "
                                     "'could not extend file: No space left on device'; END $$ LANGUAGE plpgsql"))
            connection.execute(text("CREATE TRIGGER disk_full BEFORE INSERT ON fills FOR EACH ROW "
                                    "EXECUTE FUNCTION disk_full()"))
    finally:
        engine.dispose()
    result = app(tmp_path, "run", "--days", "1", "--db", postgres_url)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("trader-app:")]
    assert len(errors) == 1, result.stderr
    assert "the replay stopped at" in errors[0]
    assert "No space left on device" in errors[0]
    assert SECRET not in result.stderr
    status = app(tmp_path, "status", "--db", postgres_url)
    assert status.returncode == 0, status.stderr
    assert "finished" not in status.stdout.splitlines()[0]
