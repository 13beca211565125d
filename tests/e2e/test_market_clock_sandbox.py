"""``trader-app sandbox --data FILE --speed 60`` + ``trader-app run --exchange binance --sandbox-url URL``:
the CSV (from 2020) is rebased onto the emulator's market clock, which runs 60x real time; the bot follows
that clock, sees fresh closed candles, and trades the data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.e2e.telemetry_log import events
from tests.e2e.wave import wave_csv

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")


def _sandbox(folder: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    data = wave_csv(folder / "btc.csv", candles=900, start_ms=1_600_000_000_000)
    process = subprocess.Popen([APP, "sandbox", "--data", str(data), "--speed", "60"],
                               cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    info: dict[str, str] = {}
    while "speed" not in info:
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else "the sandbox exited"
        key, _, value = line.strip().partition("=")
        info[key] = value
    return process, info


def test_a_bot_trades_csv_data_at_sixty_times_real_time(tmp_path: Path) -> None:
    sandbox, info = _sandbox(tmp_path)
    try:
        env = {**os.environ, "TRADER_EXCHANGE__API_KEY": info["api_key"], "TRADER_EXCHANGE__SECRET": info["secret"]}
        bot = subprocess.Popen(
            [APP, "run", "--exchange", "binance", "--sandbox-url", info["url"], "--symbol", "BTC/USDT",
             "--timeframe", "1m", "--interval", "0.5", "--fast", "2", "--slow", "3", "--stake", "100"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        deadline = time.monotonic() + 60
        while not any(e["event"] == "FillRecorded" for e in events(tmp_path)):
            assert bot.poll() is None, bot.stderr.read() if bot.stderr else ""
            assert time.monotonic() < deadline, "no fill within 60 s"
            time.sleep(0.2)
        time.sleep(3)
        bot.send_signal(signal.SIGTERM)
        stdout, stderr = bot.communicate(timeout=30)
        assert bot.returncode == 0, stderr
    finally:
        sandbox.send_signal(signal.SIGTERM)
        sandbox.communicate(timeout=10)
    summary = dict(line.split(None, 1) for line in stdout.strip().splitlines() if line.strip())
    assert int(summary["fills"]) >= 1
    log = events(tmp_path)
    assert not [e for e in log if e["event"] == "MarketDataStale"], "every closed candle was fresh"
    assert not [e for e in log if e["event"] in ("MarketDataRejected", "OrderFailed")], stderr
    run_started = next(e for e in log if e["event"] == "RunStarted")["at"]
    finished = next(e for e in log if e["event"] == "RunFinished")["at"]
    market_seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(run_started)).total_seconds()
    assert market_seconds > 3 * 60 * 0.9, "the bot's clock followed the 60x market clock (3 s after the fill)"


def test_status_and_commands_go_by_the_operators_clock_while_the_bot_follows_a_faster_market(
        tmp_path: Path) -> None:
    sandbox, info = _sandbox(tmp_path)
    db = f"sqlite:///{tmp_path / 'live.db'}"
    env = {**os.environ, "TRADER_EXCHANGE__API_KEY": info["api_key"], "TRADER_EXCHANGE__SECRET": info["secret"]}
    try:
        bot = subprocess.Popen(
            [APP, "run", "--exchange", "binance", "--sandbox-url", info["url"], "--symbol", "BTC/USDT",
             "--interval", "1", "--db", db],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        deadline = time.monotonic() + 60
        loop = None
        while loop is None:
            assert bot.poll() is None, bot.stderr.read() if bot.stderr else ""
            assert time.monotonic() < deadline, "no loop status within 60 s"
            time.sleep(0.5)
            status = subprocess.run([APP, "status", "--db", db, "--json"], cwd=tmp_path, capture_output=True,
                                    text=True, timeout=60, check=False)
            loop = json.loads(status.stdout)["loop"] if status.returncode == 0 else None  # no database yet
        assert 0 <= float(loop["age_s"]) < 15, loop
        command = subprocess.run([APP, "command", "stop", "--db", db, "--wait", "--timeout", "30"], cwd=tmp_path,
                                 env=env, capture_output=True, text=True, timeout=90, check=False)
        assert command.returncode == 0, command.stdout + command.stderr
        assert "executed: stopping" in command.stdout
        stdout, stderr = bot.communicate(timeout=60)
        assert bot.returncode == 0, stderr
    finally:
        if bot.poll() is None:
            bot.kill()
        sandbox.send_signal(signal.SIGTERM)
        sandbox.communicate(timeout=10)
    summary = dict(line.split(None, 1) for line in stdout.strip().splitlines() if line.strip())
    assert summary["stop_reason"] == "manual stop"


@pytest.mark.parametrize("speed", ["0", "-5", "inf", "nan"])
def test_a_speed_that_is_not_a_positive_number_is_refused_in_one_line(tmp_path: Path, speed: str) -> None:
    result = subprocess.run([APP, "sandbox", "--speed", speed], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "--speed must be a positive number" in result.stderr


# The emulator's two commands: the project's CLI and the emulator's own program (an independent program: it
# checks a candle file with trader_formats.candle_csv, as the bot does).
PROGRAMS = {"trader-app sandbox": [APP, "sandbox"],
            "python -m trader_sandbox": [sys.executable, "-m", "trader_sandbox"]}


@pytest.mark.parametrize("program", list(PROGRAMS))
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--step-volume", "-1"], "--step-volume must be a positive number"),
        (["--step-interval", "-1"], "--step-interval must be 0 (off) or a positive number"),
        (["--data-symbol", "garbage"], "--data-symbol 'garbage' is not one of the listed symbols"),
        (["--data", "negative.csv"], "negative.csv line 2: open -1 is not positive"),
        (["--data", "nan.csv"], "nan.csv line 3: close 'NaN' is not a finite number"),
        (["--data", "huge.csv"], "huge.csv line 2: open 1e400 is out of range"),
        (["--data", "missing.csv"], "missing.csv: cannot read candles: [Errno 2] No such file or directory"),
        (["--data", "header.csv"], "header.csv line 1: bad header 'time,o,h,l,c,v', expected timestamp_ms,open,"),
        (["--data", "text.csv"], "text.csv line 3: close 'abc' is not a number"),
        (["--data", "unordered.csv"], "unordered.csv line 4: timestamp_ms 1600000000000 is before the previous"),
    ],
)
def test_bad_sandbox_options_and_data_are_refused_in_one_line(tmp_path: Path, program: str, args: list[str],
                                                              message: str) -> None:
    header = "timestamp_ms,open,high,low,close,volume\n"
    first, ok = "1600000000000,1,2,0.5,1,10\n", "1600000060000,1,2,0.5,1,10\n"
    (tmp_path / "negative.csv").write_text(header + "1600000000000,-1,1,1,1,10\n" + ok)
    (tmp_path / "nan.csv").write_text(header + "1600000000000,1,1,1,1,10\n1600000060000,1,1,1,NaN,10\n")
    (tmp_path / "huge.csv").write_text(header + "1600000000000,1e400,1e400,1e400,1e400,10\n" + ok)
    (tmp_path / "header.csv").write_text("time,o,h,l,c,v\n" + first + ok)
    (tmp_path / "text.csv").write_text(header + first + "1600000060000,1,2,0.5,abc,10\n")
    (tmp_path / "unordered.csv").write_text(header + first + ok + first)
    result = subprocess.run([*PROGRAMS[program], *args], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 2, result.stdout
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith(f"{'trader-app' if program.startswith('trader-app') else program}: error: ")
    assert message in result.stderr
    assert "url=" not in result.stdout, "nothing was served"
