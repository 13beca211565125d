"""One process at a time runs a bot: a second ``trader-app run`` on the same database and bot id exits 2 naming
the holder and sends nothing; after a clean stop, or after the holder was killed, the bot can be run again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.telemetry_log import events
from trader_sandbox.sandbox import Sandbox

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")


def _start(folder: Path, sandbox: Sandbox, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "TRADER_EXCHANGE__API_KEY": sandbox.api_key, "TRADER_EXCHANGE__SECRET": sandbox.secret}
    return subprocess.Popen(
        [APP, "run", "--exchange", "binance", "--sandbox-url", sandbox.url, "--symbol", "BTC/USDT", "--timeframe",
         "1s", "--interval", "0.5", "--fast", "2", "--slow", "3", "--stake", "600", "--accept-reconciliation",
         *extra],
        cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_started(bot: subprocess.Popen[str], folder: Path, count: int = 1) -> None:
    deadline = time.monotonic() + 60
    while len([e for e in events(folder) if e["event"] == "RunStarted"]) < count:
        assert bot.poll() is None, bot.stderr.read() if bot.stderr else ""
        assert time.monotonic() < deadline, "the bot did not start within 60 s"
        time.sleep(0.2)


def test_a_second_process_on_the_same_bot_exits_2_naming_the_holder(tmp_path: Path,
                                                                     moving_sandbox: Sandbox) -> None:
    first = _start(tmp_path, moving_sandbox)
    try:
        _wait_started(first, tmp_path)
        second = _start(tmp_path, moving_sandbox)
        _, stderr = second.communicate(timeout=60)
        assert second.returncode == 2, stderr
        assert "already running" in stderr
        assert f"pid {first.pid}" in stderr
        assert socket.gethostname() in stderr
        assert len(stderr.strip().splitlines()) == 1, stderr
        assert len([e for e in events(tmp_path) if e["event"] == "RunStarted"]) == 1, "the second never ran"
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    assert first.returncode == 0

    again = _start(tmp_path, moving_sandbox)  # a clean stop released the bot
    try:
        _wait_started(again, tmp_path, count=2)
    finally:
        again.send_signal(signal.SIGTERM)
        again.communicate(timeout=60)
    assert again.returncode == 0


def test_a_bot_whose_process_was_killed_is_taken_over_at_once(tmp_path: Path, moving_sandbox: Sandbox) -> None:
    first = _start(tmp_path, moving_sandbox)
    _wait_started(first, tmp_path)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    heir = _start(tmp_path, moving_sandbox)  # the lease is still in force, but its holder is gone
    try:
        _wait_started(heir, tmp_path, count=2)
    finally:
        heir.send_signal(signal.SIGTERM)
        _, stderr = heir.communicate(timeout=60)
    assert heir.returncode == 0, stderr


def test_two_replays_on_one_bot_cannot_overlap(tmp_path: Path) -> None:
    # A replay writes the same bot's rows: while one runs, another on the same database and bot is refused.
    slow = subprocess.Popen([APP, "run", "--days", "30", "--db", "sqlite:///shared.db"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not [e for e in events(tmp_path) if e["event"] == "RunStarted"]:
            assert slow.poll() is None, slow.stderr.read() if slow.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.1)
        other = subprocess.run([APP, "run", "--days", "1", "--db", "sqlite:///shared.db"], cwd=tmp_path,
                               capture_output=True, text=True, timeout=120, check=False)
        assert other.returncode == 2, other.stderr
        assert "already running" in other.stderr
        other_bot = subprocess.run([APP, "run", "--days", "1", "--db", "sqlite:///shared.db", "--bot", "other"],
                                   cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
        assert other_bot.returncode == 0, other_bot.stderr
    finally:
        slow.kill()
        slow.wait(timeout=10)
