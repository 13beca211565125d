"""``trader-app data download`` against the emulator: paginated, resumable, and readable by ``run --data``."""

from __future__ import annotations

import itertools
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

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
