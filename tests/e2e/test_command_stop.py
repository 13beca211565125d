"""``trader-app command stop --wait`` against a bot trading the project's emulator: the loop picks the
command up while it sleeps, stops with "manual stop", cleans up and exits 0 with a complete summary."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.telemetry_log import events
from trader_sandbox.sandbox import Sandbox

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")


def test_a_stop_command_ends_a_venue_run_cleanly(tmp_path: Path, moving_sandbox: Sandbox) -> None:
    env = {**os.environ, "TRADER_EXCHANGE__API_KEY": moving_sandbox.api_key,
           "TRADER_EXCHANGE__SECRET": moving_sandbox.secret}
    db = f"sqlite:///{tmp_path / 'trader.db'}"
    # A long interval: the stop must come through the queue polled while sleeping, not the next tick.
    bot = subprocess.Popen(
        [APP, "run", "--exchange", "binance", "--sandbox-url", moving_sandbox.url, "--symbol", "BTC/USDT",
         "--timeframe", "1s", "--interval", "60", "--fast", "2", "--slow", "3", "--stake", "100", "--db", db],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not any(e["event"] == "RunStarted" for e in events(tmp_path)):
            if bot.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the bot did not start: {bot.stderr.read() if bot.stderr else ''}")
            time.sleep(0.2)
        time.sleep(1.0)  # the first tick is done or under way; the loop then sleeps for a minute
        started = time.monotonic()
        command = subprocess.run([APP, "command", "stop", "--db", db, "--wait", "--timeout", "45"], cwd=tmp_path,
                                 env=env, capture_output=True, text=True, timeout=90, check=False)
        assert command.returncode == 0, command.stdout + command.stderr
        assert "executed: stopping (exit policy: cancel)" in command.stdout
        assert time.monotonic() - started < 30, "the sleeping loop picked the command up promptly"
        stdout, stderr = bot.communicate(timeout=60)
    finally:
        if bot.poll() is None:
            bot.kill()
    assert bot.returncode == 0, stderr
    summary = dict(line.split(None, 1) for line in stdout.strip().splitlines() if line.strip())
    assert summary["stop_reason"] == "manual stop"
    for key in ("run_id", "fills", "trading_state", "reconciliation"):
        assert key in summary, f"summary line {key} missing: {stdout}"
    finished = [e for e in events(tmp_path) if e["event"] == "RunFinished"]
    assert [e["reason"] for e in finished] == ["manual stop"]
    handled = [e for e in events(tmp_path) if e["event"] == "CommandHandled"]
    assert [(e["command"], e["status"]) for e in handled] == [("stop", "executed")]
