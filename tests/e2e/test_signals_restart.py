"""A signals file against the emulator, stopped cleanly and started again: the lines already handled send nothing
the second time (the soak found a past BUY re-sent on every restart), and the lines that fell due while the bot
was down are reported and skipped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.telemetry_log import events
from trader_sandbox.sandbox import Sandbox

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")


def _start(folder: Path, sandbox: Sandbox) -> subprocess.Popen[str]:
    env = {**os.environ, "TRADER_EXCHANGE__API_KEY": sandbox.api_key, "TRADER_EXCHANGE__SECRET": sandbox.secret}
    return subprocess.Popen(
        [APP, "run", "--exchange", "binance", "--sandbox-url", sandbox.url, "--symbol", "BTC/USDT", "--timeframe",
         "1s", "--interval", "0.5", "--signals", "signals.jsonl", "--accept-reconciliation"],
        cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _orders(sandbox: Sandbox) -> list[str]:
    return [r["params"]["newClientOrderId"] for r in sandbox.requests()
            if r["method"] == "POST" and r["path"] == "/api/v3/order"]


def _handled(folder: Path) -> list[dict[str, str]]:
    return [e for e in events(folder) if e["event"] == "SignalHandled"]


def test_handled_signals_never_fire_again_and_missed_ones_are_reported(tmp_path: Path,
                                                                       moving_sandbox: Sandbox) -> None:
    now = datetime.now(UTC)
    lines = [
        {"at": (now + timedelta(seconds=4)).isoformat(), "action": "BUY", "symbol": "BTC/USDT", "notional": "600"},
        {"at": (now + timedelta(seconds=9)).isoformat(), "action": "CLOSE_POSITION", "symbol": "BTC/USDT"},
        # Due well after the first run stops, however busy the machine (at +16 s a loaded CI machine once still ran
        # the first bot then), and well before the second starts.
        {"at": (now + timedelta(seconds=30)).isoformat(), "action": "BUY", "symbol": "BTC/USDT", "notional": "600",
         "reason": "due while the bot is down"},
    ]
    (tmp_path / "signals.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    first = _start(tmp_path, moving_sandbox)
    deadline = time.monotonic() + 60
    while len(_handled(tmp_path)) < 2:
        assert first.poll() is None, first.stderr.read() if first.stderr else ""
        assert time.monotonic() < deadline, "the first two signals were not handled within 60 s"
        time.sleep(0.2)
    time.sleep(1.5)  # the exit's fills
    first.send_signal(signal.SIGTERM)
    _, stderr = first.communicate(timeout=60)
    assert first.returncode == 0, stderr
    sent_before = _orders(moving_sandbox)
    assert sent_before, "the BUY reached the venue"

    assert datetime.now(UTC) < now + timedelta(seconds=30), "the first run outlived the third line's time"
    while datetime.now(UTC) < now + timedelta(seconds=31):
        time.sleep(0.2)  # the third line falls due while no bot runs
    again = _start(tmp_path, moving_sandbox)
    deadline = time.monotonic() + 60
    while len([e for e in events(tmp_path) if e["event"] == "RunStarted"]) < 2:
        assert again.poll() is None, again.stderr.read() if again.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.2)
    time.sleep(4)  # several ticks
    again.send_signal(signal.SIGTERM)
    _, stderr = again.communicate(timeout=60)
    assert again.returncode == 0, stderr
    assert _orders(moving_sandbox) == sent_before, "no signal fired twice, none missed fired late"
    assert len(_handled(tmp_path)) == 2
    assert "1 signal(s)" in stderr
    assert "--signals-catch-up" in stderr
