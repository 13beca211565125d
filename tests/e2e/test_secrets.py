"""Secrets never reach a sink: a sandbox-mode bot runs with its API key and secret in the environment, then
every output is scanned for them (stdout, stderr with every event, the telemetry files, the database file,
the metrics endpoint, ``trader-app status``). A database password in ``--db`` is scanned for the same way
in what a failing run and ``status`` print, and in the settings the run would store."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.telemetry_log import events
from trader_app.settings import load_settings
from trader_sandbox.sandbox import Sandbox

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")
DB_PASSWORD = "pg-Pa55word-9f3c1e"  # the secret the test hunts for


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _everything_written(folder: Path) -> bytes:
    """Every file the bot wrote under ``folder`` (logs, rotated logs, the database and its journal)."""
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


def _assert_absent(secrets: list[str], **outputs: str | bytes) -> None:
    for name, text in outputs.items():
        data = text.encode() if isinstance(text, str) else text
        for secret in secrets:
            assert secret.encode() not in data, f"a secret reached {name}"


def test_api_keys_and_database_passwords_never_reach_any_sink(tmp_path: Path, moving_sandbox: Sandbox) -> None:
    secrets = [moving_sandbox.api_key, moving_sandbox.secret, DB_PASSWORD]
    env = {**os.environ, "TRADER_EXCHANGE__API_KEY": moving_sandbox.api_key,
           "TRADER_EXCHANGE__SECRET": moving_sandbox.secret}
    port = _free_port()
    bot = subprocess.Popen(
        [APP, "run", "--exchange", "binance", "--sandbox-url", moving_sandbox.url, "--symbol", "BTC/USDT",
         "--timeframe", "1s", "--interval", "0.5", "--fast", "2", "--slow", "3", "--stake", "100", "--verbose",
         "--metrics-port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 40
    while not any(e["event"] == "FillRecorded" for e in events(tmp_path)):
        if bot.poll() is not None or time.monotonic() > deadline:
            bot.kill()
            pytest.fail(f"no fill: {bot.communicate()[1]}")
        time.sleep(0.2)
    time.sleep(1.5)  # a loop status and a few more ticks
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        metrics = response.read().decode()
    bot.send_signal(signal.SIGTERM)
    stdout, stderr = bot.communicate(timeout=30)
    assert bot.returncode == 0, stderr
    assert "trader_fills_total" in metrics
    assert any(line.startswith("trader_ticks_total ") for line in metrics.splitlines())

    status = subprocess.run([APP, "status", "--json"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60, check=True)
    shown = json.loads(status.stdout)
    assert shown["loop"] is not None, "the sandbox loop stored its status"
    assert shown["pnl"]["total"]["fills"] >= 1
    table = subprocess.run([APP, "status"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
                           check=True)

    # A database password: in the URL given to a run that cannot reach the database, and to status.
    url = f"postgresql+psycopg://trader:{DB_PASSWORD}@127.0.0.1:1/trader"
    failed_run = subprocess.run([APP, "run", "--exchange", "binance", "--sandbox-url", moving_sandbox.url,
                                 "--db", url], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
                                check=False)
    failed_status = subprocess.run([APP, "status", "--db", url], cwd=tmp_path, env=env, capture_output=True,
                                   text=True, timeout=60, check=False)
    assert failed_run.returncode != 0
    assert failed_status.returncode != 0
    assert "***" in failed_run.stderr + failed_status.stderr, "the URL is shown, redacted"
    settings = load_settings({"db": url, "exchange": "binance", "sandbox_url": moving_sandbox.url},
                             {"TRADER_EXCHANGE__API_KEY": moving_sandbox.api_key,
                              "TRADER_EXCHANGE__SECRET": moving_sandbox.secret})

    _assert_absent(
        secrets, stdout=stdout, stderr=stderr, metrics=metrics, status=status.stdout + status.stderr,
        status_table=table.stdout, files=_everything_written(tmp_path),
        failed_run=failed_run.stdout + failed_run.stderr, failed_status=failed_status.stdout + failed_status.stderr,
        stored_settings=json.dumps(settings.public()), settings_repr=repr(settings),
    )
    assert stderr.count("\n") > 5, "with --verbose every event went to stderr and was scanned"
