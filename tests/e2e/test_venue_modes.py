"""``trader-app run --exchange binance`` against the project's emulator: sandbox and paper modes place
and fill orders, record fills, and stop cleanly on SIGTERM; real money needs ``--live`` and keys."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.telemetry_log import events
from trader_sandbox.sandbox import Sandbox

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")


def _start(folder: Path, sandbox: Sandbox, *mode: str, keys: bool = True) -> subprocess.Popen[str]:
    env = {**os.environ}
    if keys:
        env |= {"TRADER_EXCHANGE__API_KEY": sandbox.api_key, "TRADER_EXCHANGE__SECRET": sandbox.secret}
    return subprocess.Popen(
        [APP, "run", "--exchange", "binance", *mode, "--symbol", "BTC/USDT", "--timeframe", "1s", "--interval", "0.5",
         "--fast", "2", "--slow", "3", "--stake", "100"],
        cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_for(folder: Path, name: str, process: subprocess.Popen[str], seconds: float = 40) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(e["event"] == name for e in events(folder)):
            return
        if process.poll() is not None:
            pytest.fail(f"the bot exited early: {process.stderr.read() if process.stderr else ''}")
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"no {name} within {seconds} s")


def _stop(process: subprocess.Popen[str]) -> tuple[int, dict[str, str], str]:
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    summary = dict(line.split(None, 1) for line in stdout.strip().splitlines() if line.strip())
    return process.returncode, summary, stderr


def test_the_sandbox_mode_trades_through_ccxt_and_stops_on_sigterm(tmp_path: Path, moving_sandbox: Sandbox) -> None:
    bot = _start(tmp_path, moving_sandbox, "--sandbox-url", moving_sandbox.url)
    _wait_for(tmp_path, "FillRecorded", bot)
    code, summary, stderr = _stop(bot)
    assert code == 0, stderr
    assert summary["stop_reason"] == "signal SIGTERM"
    assert summary["reconciliation"].startswith("clean"), "a fresh bot agrees with the venue at start-up"
    assert int(summary["fills"]) >= 1
    posted = [r for r in moving_sandbox.requests() if r["method"] == "POST" and r["path"] == "/api/v3/order"]
    client_ids = [r["params"]["newClientOrderId"] for r in posted]
    assert client_ids, "orders reached the venue"
    # tc, the bot's 8-character tag for this database, the intent, "a", the attempt: letters and digits only.
    assert all(re.fullmatch(r"tc[a-z0-9]{8}\d+a\d+", cid) for cid in client_ids), client_ids
    assert len({cid[:10] for cid in client_ids}) == 1, "one tag per bot and database"
    assert len(client_ids) == len(set(client_ids)), "no client order id was sent twice"
    assert moving_sandbox.api_key not in (tmp_path / "logs" / "telemetry.jsonl").read_text()


def test_the_paper_mode_needs_no_keys_and_fills_on_the_paper_venue(tmp_path: Path, moving_sandbox: Sandbox) -> None:
    # A replay of the same bot in the same database first: a paper run's venue starts afresh, so its ledger is its
    # own run's (it counted the replay's fills as its holdings).
    replay = subprocess.run([APP, "run", "--days", "1", "--symbol", "BTC/USDT", "--log-dir", "replay-logs"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert replay.returncode == 0, replay.stderr
    replayed = int(dict(line.split(None, 1) for line in replay.stdout.strip().splitlines())["fills"])
    assert replayed >= 10
    bot = _start(tmp_path, moving_sandbox, "--paper", "--sandbox-url", moving_sandbox.url, keys=False)
    _wait_for(tmp_path, "FillRecorded", bot)
    code, summary, stderr = _stop(bot)
    assert code == 0, stderr
    assert 1 <= int(summary["fills"]) < replayed, "the paper run's own fills, not the replay's too"
    assert not [r for r in moving_sandbox.requests() if r["path"] == "/api/v3/order"], "paper orders stay local"


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--exchange", "binance"], {}, "choose exactly one"),
    (["--exchange", "binance", "--live"], {}, "need API keys"),
    (["--live"], {}, "needs --exchange"),
])
def test_real_money_and_venues_need_explicit_flags_and_keys(tmp_path: Path, args: list[str], env: dict[str, str],
                                                            message: str) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRADER_")}
    result = subprocess.run([APP, "run", *args], cwd=tmp_path, env=clean | env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "trader.db").exists()
