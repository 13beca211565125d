"""A database the user may read but not write: ``status`` and ``trades`` read it (read-only, nothing created),
a command that writes says the file is read-only; a missing database is said to be missing and never created."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")


def _app(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([APP, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def frozen_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder holding a bot's database, made unwritable for everyone (root included: the immutable flag)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    assert _app(folder, "run", "--days", "1", "--db", "sqlite:///t.db").returncode == 0
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not available to make the folder read-only")
    frozen = subprocess.run(["chattr", "+i", str(folder / "t.db"), str(folder)], capture_output=True, check=False)
    if frozen.returncode != 0:
        pytest.skip(f"this file system does not take the immutable flag: {frozen.stderr!r}")
    try:
        yield folder
    finally:
        subprocess.run(["chattr", "-i", str(folder / "t.db"), str(folder)], check=False)


def test_status_and_trades_read_a_read_only_database(frozen_folder: Path) -> None:
    status = _app(frozen_folder, "status", "--db", "sqlite:///t.db")
    assert status.returncode == 0, status.stderr
    assert "bot            default" in status.stdout
    trades = _app(frozen_folder, "trades", "--db", "sqlite:///t.db")
    assert trades.returncode == 0, trades.stderr
    assert trades.stdout.count("\n") > 1


def test_a_command_that_writes_says_the_database_is_read_only(frozen_folder: Path) -> None:
    result = _app(frozen_folder, "command", "halt", "--db", "sqlite:///t.db")
    assert result.returncode == 2
    assert "is read-only" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_missing_database_is_said_to_be_missing_and_not_created(tmp_path: Path) -> None:
    for command in (["status"], ["trades"], ["report"], ["command", "pause"]):
        result = _app(tmp_path, *command, "--db", "sqlite:///missing.db")
        assert result.returncode == 2, result.stderr
        assert "no database file at missing.db" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_run_on_a_database_opened_read_only_by_its_url_says_so(tmp_path: Path) -> None:
    assert _app(tmp_path, "run", "--days", "1").returncode == 0
    result = _app(tmp_path, "run", "--days", "1", "--db", "sqlite:///file:trader.db?mode=ro&uri=true")
    assert result.returncode == 2, result.stderr
    assert "is read-only" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    status = _app(tmp_path, "status", "--db", "sqlite:///file:trader.db?mode=ro&uri=true")
    assert status.returncode == 0, status.stderr


def test_a_database_url_naming_a_folder_says_so(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    for command in (["run", "--days", "1"], ["status"], ["command", "pause"], ["db", "upgrade"]):
        result = _app(tmp_path, *command, "--db", "sqlite:///adir")
        assert result.returncode == 2, result.stderr
        assert result.stderr == "trader-app: error: adir is a folder, not a database file\n"
    assert [p.name for p in tmp_path.iterdir()] == ["adir"]


@pytest.mark.parametrize("url", ["sqlite:///.", "sqlite:////"])
def test_a_database_url_naming_a_folder_without_a_name_says_so(tmp_path: Path, url: str) -> None:
    # "." and "/" have no file name: the checks of the database's -wal/-shm files beside it must not crash.
    folder = Path(url.removeprefix("sqlite:///"))
    for command in (["run", "--days", "1"], ["report"], ["db", "backup"], ["status"], ["rebuild"]):
        result = _app(tmp_path, *command, "--db", url)
        assert result.returncode == 2, result.stderr
        assert result.stderr == f"trader-app: error: {folder} is a folder, not a database file\n"
    assert list(tmp_path.iterdir()) == []


def test_an_error_reading_a_database_names_the_users_url_not_the_read_only_form(tmp_path: Path) -> None:
    (tmp_path / "bad.db").write_text("not a database\n")
    result = _app(tmp_path, "status", "--db", "sqlite:///bad.db")
    assert result.returncode == 2, result.stderr
    assert "database sqlite:///bad.db:" in result.stderr
    assert "mode=ro" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_database_that_refuses_the_bots_first_write_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    import sqlite3

    assert _app(tmp_path, "run", "--days", "1", "--db", "sqlite:///t.db").returncode == 0
    # A full disk refuses the first write of a run, the bot's lease; a trigger stands in for the disk here.
    with sqlite3.connect(tmp_path / "t.db") as connection:
        for event in ("INSERT", "UPDATE"):
            connection.execute(f"CREATE TRIGGER full_{event.lower()} BEFORE {event} ON bot_leases "
                               "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
    result = _app(tmp_path, "run", "--days", "1", "--db", "sqlite:///t.db")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "database or disk is full" in result.stderr


@pytest.mark.parametrize("tables", [("fills",), ("fills", "runs")])
def test_a_database_that_fills_up_mid_replay_stops_it_failed_in_one_line_never_finished(
        tmp_path: Path, tables: tuple[str, ...]) -> None:
    import json
    import sqlite3

    assert _app(tmp_path, "db", "upgrade", "--db", "sqlite:///t.db").returncode == 0
    # The disk fills up once the replay is under way: its first fill cannot be stored (and, in the second case, nor
    # can the run's record at the end). A trigger stands in for the disk.
    with sqlite3.connect(tmp_path / "t.db") as connection:
        for table in tables:
            event = "UPDATE" if table == "runs" else "INSERT"  # the run's record is added at the start
            connection.execute(f"CREATE TRIGGER full_{table} BEFORE {event} ON {table} "
                               "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
    result = _app(tmp_path, "run", "--days", "1", "--db", "sqlite:///t.db", "--summary-json", "s.json")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("trader-app:")]
    assert len(errors) == 1, result.stderr
    assert "the replay stopped at" in errors[0]
    assert "database or disk is full" in errors[0]
    assert "is incomplete" in errors[0]
    assert result.stderr.count("TickFailed") <= 2, "stopped at the first failed tick, not ticking on for a day"
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["stop_reason"].startswith("the replay stopped at")
    status = _app(tmp_path, "status", "--db", "sqlite:///t.db")
    assert status.returncode == 0, status.stderr
    first = status.stdout.splitlines()[0]
    assert "finished" not in first, first
    assert ("failed" if tables == ("fills",) else "running") in first, first
