"""End to end: no output flag of ``run`` or ``report`` writes over the database (a SQLite file or its -wal/-shm
file), a file the command reads, another output, or a folder: exit 2, one line, every file left as it was."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_db_cli import app, one_error_line
from tests.e2e.test_llm_cassette import _write_candles as write_candles

pytestmark = pytest.mark.slow

RUN = ("run", "--data", "small.csv", "--symbol", "BTC/USDT", "--db", "sqlite:///v.db")
REPORT = ("report", "--db", "sqlite:///v.db")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``small.csv``, ``bot.toml`` and ``v.db`` holding one replay of the candles."""
    folder = tmp_path_factory.mktemp("outputs")
    write_candles(folder / "small.csv", 300)
    (folder / "bot.toml").write_text("seed = 7\n")
    result = app(folder, *RUN)
    assert result.returncode == 0, result.stderr
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}


@pytest.mark.parametrize(("args", "problem"), [
    ((*RUN, "--summary-json", "v.db"), "--summary-json v.db is the database v.db"),
    ((*RUN, "--summary-json", "v.db-wal"), "--summary-json v.db-wal is the database's wal file"),
    ((*RUN, "--report", "v.db-shm"), "--report v.db-shm is the database's shm file"),
    ((*RUN, "--report", "v.db"), "--report v.db is the database v.db"),
    ((*RUN, "--summary-json", "small.csv"), "--summary-json small.csv is the file of --data"),
    ((*RUN, "--summary-json", "../{folder}/small.csv"), "is the file of --data"),
    ((*RUN, "--config", "bot.toml", "--summary-json", "bot.toml"), "is the file of --config"),
    ((*RUN, "--summary-json", "same.json", "--report", "same.json"), "--report same.json is the file of "
                                                                     "--summary-json"),
    ((*RUN, "--summary-json", "."), "--summary-json . is a folder"),
    ((*RUN, "--log-dir", ".", "--report", "telemetry.jsonl"), "--log-dir telemetry.jsonl is the file of --report"),
    ((*REPORT, "--out", "v.db"), "--out v.db is the database v.db"),
    ((*REPORT, "--json", "./v.db"), "--json ./v.db is the database v.db"),
    ((*REPORT, "--candles", "small.csv", "--json", "small.csv"), "--json small.csv is the file of --candles"),
    ((*REPORT, "--out", "r.html", "--json", "r.html"), "--json r.html is the file of --out"),
], ids=lambda value: " ".join(value) if isinstance(value, tuple) else None)
def test_an_output_never_replaces_the_database_or_an_input(folder: Path, args: tuple[str, ...], problem: str) -> None:
    before = _files(folder)
    result = app(folder, *(arg.replace("{folder}", folder.name) for arg in args))
    assert result.returncode == 2, result.stderr
    assert problem in one_error_line(result)
    assert _files(folder) == before, "nothing written"


@pytest.mark.parametrize(("args", "problem"), [
    ((*REPORT, "--out", "no/such/r.html"), "--out no/such/r.html: the folder no/such does not exist"),
    ((*REPORT, "--json", "small.csv/r.json"), "--json small.csv/r.json: small.csv is not a folder"),
    ((*RUN, "--summary-json", "no/s.json"), "--summary-json no/s.json: the folder no does not exist"),
    ((*RUN, "--report", "small.csv/r.html"), "--report small.csv/r.html: small.csv is not a folder"),
], ids=lambda value: " ".join(value) if isinstance(value, tuple) else None)
def test_an_output_in_a_missing_folder_or_under_a_file_is_refused_before_anything_is_printed(
        folder: Path, args: tuple[str, ...], problem: str) -> None:
    before = _files(folder)
    result = app(folder, *args)
    assert result.returncode == 2, result.stderr
    assert problem in one_error_line(result)
    assert result.stdout == ""
    assert _files(folder) == before, "nothing written"
    assert not (folder / "no").exists()


def test_a_log_dir_that_does_not_exist_yet_is_still_created_by_the_run(tmp_path: Path) -> None:
    write_candles(tmp_path / "small.csv", 300)
    result = app(tmp_path, *RUN, "--log-dir", "new/logs")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "new" / "logs" / "telemetry.jsonl").is_file()


def test_outputs_are_written_through_a_symbolic_link_to_the_file_it_names(tmp_path: Path) -> None:
    write_candles(tmp_path / "small.csv", 300)
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "old.html").write_text("old report")
    (kept / "old.html").chmod(0o640)
    names = ("summary.json", "run.html", "report.html", "report.json")
    for name in names:
        (tmp_path / name).symlink_to(kept / ("old.html" if name == "run.html" else name))
    ran = app(tmp_path, *RUN, "--summary-json", "summary.json", "--report", "run.html")
    assert ran.returncode == 0, ran.stderr
    reported = app(tmp_path, *REPORT, "--out", "report.html", "--json", "report.json")
    assert reported.returncode == 0, reported.stderr
    for name in names:
        assert (tmp_path / name).is_symlink(), f"{name} is still the link"
    assert sorted(path.name for path in kept.iterdir()) == ["old.html", "report.html", "report.json", "summary.json"]
    assert (kept / "old.html").read_text().startswith("<!DOCTYPE html>")
    assert (kept / "old.html").stat().st_mode & 0o777 == 0o640, "the file keeps its permissions"
    assert '"run_id"' in (kept / "summary.json").read_text()
    assert (kept / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert '"net_pnl"' in (kept / "report.json").read_text()


@pytest.mark.parametrize("args", [
    (*RUN, "--report", "{special}"),
    (*RUN, "--summary-json", "{special}"),
    (*RUN, "--summary-json", "link"),
    (*REPORT, "--out", "{special}"),
    (*REPORT, "--json", "link"),
], ids=" ".join)
def test_an_output_that_is_a_device_or_pipe_is_refused_before_anything_runs(
        folder: Path, args: tuple[str, ...]) -> None:
    special = folder / "pipe"
    if not special.exists():
        os.mkfifo(special)
        (folder / "link").symlink_to(special)
    before = _files(folder)
    result = app(folder, *(arg.replace("{special}", "pipe") for arg in args))
    assert result.returncode == 2, result.stderr
    assert "is not a regular file" in one_error_line(result)
    assert result.stdout == ""
    assert stat.S_ISFIFO(special.stat().st_mode), "the pipe is still a pipe"
    assert (folder / "link").is_symlink()
    assert _files(folder) == before, "nothing written"


@pytest.fixture
def frozen(tmp_path: Path) -> Iterator[Path]:
    """A folder with ``small.csv``, a replayed ``v.db`` and outputs that exist but no one may write (root included:
    the immutable flag): ``logs/telemetry.jsonl``, ``s.json`` and ``r.html``."""
    write_candles(tmp_path / "small.csv", 300)
    assert app(tmp_path, *RUN, "--log-dir", "other").returncode == 0
    (tmp_path / "logs").mkdir()
    files = [tmp_path / "logs" / "telemetry.jsonl", tmp_path / "s.json", tmp_path / "r.html"]
    for file in files:
        file.write_text("kept\n")
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not available to make a file read-only")
    made = subprocess.run(["chattr", "+i", *map(str, files)], capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"this file system does not take the immutable flag: {made.stderr!r}")
    try:
        yield tmp_path
    finally:
        subprocess.run(["chattr", "-i", *map(str, files)], check=False)


@pytest.mark.parametrize(("args", "problem"), [
    ((*RUN, "--log-dir", "logs"), "--log-dir logs/telemetry.jsonl is not writable"),
    ((*RUN, "--log-dir", "other", "--summary-json", "s.json"), "--summary-json s.json is not writable"),
    ((*RUN, "--log-dir", "other", "--report", "r.html"), "--report r.html is not writable"),
    ((*REPORT, "--out", "r.html"), "--out r.html is not writable"),
], ids=lambda value: " ".join(value) if isinstance(value, tuple) else None)
def test_an_output_that_exists_but_cannot_be_written_is_refused_before_the_run(
        frozen: Path, args: tuple[str, ...], problem: str) -> None:
    before = _files(frozen), _files(frozen / "logs"), _files(frozen / "other")
    result = app(frozen, *args)
    assert result.returncode == 2, result.stderr
    assert problem in one_error_line(result)
    assert result.stdout == ""
    assert (_files(frozen), _files(frozen / "logs"), _files(frozen / "other")) == before, "no run, nothing written"


def test_a_log_folder_the_file_system_cannot_create_is_one_line_before_the_run(folder: Path) -> None:
    """``/proc`` takes no new folder whatever the permissions say (root's are never refused): the run is refused
    in one line, exit 2, nothing written, no traceback."""
    before = _files(folder)
    result = app(folder, *RUN, "--log-dir", "/proc/trader-core-logs")
    assert result.returncode == 2, result.stderr
    assert "--log-dir /proc/trader-core-logs/telemetry.jsonl: cannot create the folder /proc/trader-core-logs" in (
        one_error_line(result))
    assert result.stdout == ""
    assert _files(folder) == before
