"""``trader-app data download`` against the emulator: paginated, resumable, and readable by ``run --data``."""

from __future__ import annotations

import itertools
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.test_db_cli import one_error_line, refused_port
from trader_sandbox.testing import running_sandbox

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")


def _app(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([APP, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_download_pages_through_history_resumes_and_feeds_a_replay(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with running_sandbox(history=2600) as sandbox:
        common = ["data", "download", "--exchange", "binance", "--sandbox-url", sandbox.url,
                  "--symbol", "BTC/USDT", "--timeframe", "1m", "--out", "btc.csv"]
        first = _app(tmp_path, *common, "--since", (now - timedelta(minutes=2500)).isoformat(),
                     "--until", (now - timedelta(minutes=1000)).isoformat())
        assert first.returncode == 0, first.stderr
        assert first.stdout.startswith("1500 new candles")  # more than one page of 1000
        second = _app(tmp_path, *common, "--since", (now - timedelta(minutes=2500)).isoformat(),
                      "--until", (now - timedelta(minutes=500)).isoformat())
        assert second.returncode == 0, second.stderr
        assert second.stdout.startswith("500 new candles"), "the rerun continued where the file ended"
        klines = [r for r in sandbox.requests() if r["path"] == "/api/v3/klines"]
    lines = (tmp_path / "btc.csv").read_text().splitlines()
    assert lines[0] == "timestamp_ms,open,high,low,close,volume"
    stamps = [int(line.split(",")[0]) for line in lines[1:]]
    assert len(stamps) == 2000
    assert stamps == sorted(set(stamps)), "no gaps in order, no duplicates"
    assert all(b - a == 60_000 for a, b in itertools.pairwise(stamps))
    assert len(klines) >= 3
    replay = _app(tmp_path, "run", "--data", "btc.csv", "--symbol", "BTC/USDT")
    assert replay.returncode == 0, replay.stderr
    assert "candles                  2000" in replay.stdout


def test_a_file_that_is_not_a_candle_csv_is_never_appended_to(tmp_path: Path) -> None:
    (tmp_path / "notes.csv").write_text("hello\n")
    result = _app(tmp_path, "data", "download", "--exchange", "binance", "--sandbox-url", "http://127.0.0.1:9",
                  "--symbol", "BTC/USDT", "--timeframe", "1m", "--since", "2025-01-01", "--out", "notes.csv")
    assert result.returncode == 2
    assert "refusing to append" in result.stderr
    assert (tmp_path / "notes.csv").read_text() == "hello\n"


def test_a_file_of_another_symbol_is_never_continued(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with running_sandbox(history=600) as sandbox:
        def download(symbol: str) -> subprocess.CompletedProcess[str]:
            return _app(tmp_path, "data", "download", "--exchange", "binance", "--sandbox-url", sandbox.url,
                        "--symbol", symbol, "--timeframe", "1m", "--out", "d.csv",
                        "--since", (now - timedelta(minutes=500)).isoformat())

        assert download("BTC/USDT").returncode == 0
        btc = (tmp_path / "d.csv").read_text()
        other = download("ETH/USDT")
        assert other.returncode == 2, other.stderr
        assert "d.csv holds other candles than ETH/USDT 1m on binance at " in one_error_line(other)
        assert "nothing appended" in other.stderr
        assert (tmp_path / "d.csv").read_text() == btc
        assert download("BTC/USDT").returncode == 0, "the same symbol is still continued"


@pytest.mark.parametrize(("out", "problem"), [
    ("folder", "--out folder is a folder"),
    ("base.db", "base.db exists but is not a candle CSV"),
    ("nan.csv", "nan.csv line 3: open 'NaN' is not a finite number; refusing to append"),
])
def test_an_out_that_is_no_candle_csv_is_one_line_and_left_alone(tmp_path: Path, out: str, problem: str) -> None:
    (tmp_path / "folder").mkdir()
    with sqlite3.connect(tmp_path / "base.db") as connection:
        connection.execute("CREATE TABLE t (x)")
    (tmp_path / "nan.csv").write_text("timestamp_ms,open,high,low,close,volume\n"
                                      "1747699200000,100,101,99,100,1\n1747699260000,NaN,101,99,100,1\n")
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir() if path.is_file()}
    result = _app(tmp_path, "data", "download", "--exchange", "binance", "--sandbox-url", "http://127.0.0.1:9",
                  "--symbol", "BTC/USDT", "--timeframe", "1m", "--since", "2025-05-20", "--out", out)
    assert result.returncode == 2, result.stderr
    assert problem in one_error_line(result)
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir() if path.is_file()} == before


def test_a_venue_that_cannot_be_reached_is_one_line_and_leaves_no_file(tmp_path: Path) -> None:
    (tmp_path / "kept.csv").write_text("timestamp_ms,open,high,low,close,volume\n1747699200000,100,101,99,100,1\n")
    url = f"http://127.0.0.1:{refused_port()}"
    for out in ("new.csv", "kept.csv"):
        result = _app(tmp_path, "data", "download", "--exchange", "binance", "--sandbox-url", url,
                      "--symbol", "BTC/USDT", "--timeframe", "1m", "--since", "2025-05-20", "--out", out)
        assert result.returncode == 2, result.stderr
        line = one_error_line(result)
        assert line.startswith("trader-app: error: downloading from binance failed: "), line
        assert line.endswith(f"nothing written to {out}"), line
    assert sorted(path.name for path in tmp_path.iterdir()) == ["kept.csv"], "no header-only file"
    assert (tmp_path / "kept.csv").read_text().count("\n") == 2


@pytest.mark.parametrize("until", ["2025-05-19", "2025-05-20T00:00:00Z"])
def test_an_until_not_after_since_is_refused(tmp_path: Path, until: str) -> None:
    result = _app(tmp_path, "data", "download", "--exchange", "binance", "--sandbox-url", "http://127.0.0.1:9",
                  "--symbol", "BTC/USDT", "--timeframe", "1m", "--since", "2025-05-20", "--until", until,
                  "--out", "d.csv")
    assert result.returncode == 2, result.stderr
    assert f"--until {until} is not after --since 2025-05-20" in one_error_line(result)
    assert list(tmp_path.iterdir()) == []


def test_a_since_in_the_future_is_refused_not_reported_as_nothing_new(tmp_path: Path) -> None:
    """A year typed wrong (2036 for 2026) gave "0 new candles written to d.csv", exit 0, and no file."""
    since = (datetime.now(UTC) + timedelta(days=400)).strftime("%Y-%m-%d")
    result = _app(tmp_path, "data", "download", "--exchange", "binance", "--sandbox-url", "http://127.0.0.1:9",
                  "--symbol", "BTC/USDT", "--timeframe", "1m", "--since", since, "--out", "d.csv")
    assert result.returncode == 2, result.stderr
    assert f"--since {since}T00:00:00+00:00 is in the future" in one_error_line(result)
    assert list(tmp_path.iterdir()) == []
