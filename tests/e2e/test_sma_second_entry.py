"""Issue 20 item 4 against the emulator: Binance takes a buy's fee in the base asset, so the exit leaves dust
(e.g. 0.00000549 BTC). The built-in SMA must still enter again after its first round trip: dust is not a
position (the soak saw 106 SELLs answered ``close_position_none`` and no BUY for 12 minutes)."""

from __future__ import annotations

import os
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


def _buys(sandbox: Sandbox) -> list[dict[str, str]]:
    return [r["params"] for r in sandbox.requests()
            if r["method"] == "POST" and r["path"] == "/api/v3/order" and r["params"]["side"] == "BUY"
            and r["status"] == 200]


def test_the_sma_enters_again_after_a_round_trip_that_left_base_asset_dust(tmp_path: Path,
                                                                             moving_sandbox: Sandbox) -> None:
    env = {**os.environ, "TRADER_EXCHANGE__API_KEY": moving_sandbox.api_key,
           "TRADER_EXCHANGE__SECRET": moving_sandbox.secret}
    bot = subprocess.Popen(
        [APP, "run", "--exchange", "binance", "--sandbox-url", moving_sandbox.url, "--symbol", "BTC/USDT",
         "--timeframe", "1s", "--interval", "0.5", "--fast", "2", "--slow", "3", "--stake", "600",
         "--accept-reconciliation"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 120
    while len(_buys(moving_sandbox)) < 2:
        assert bot.poll() is None, bot.stderr.read() if bot.stderr else ""
        assert time.monotonic() < deadline, "no second entry within 120 s: " + ", ".join(
            f"{e['event']} {e.get('status', '')}" for e in events(tmp_path) if e["event"] in ("SignalHandled",
                                                                                              "PlanClosed"))
        time.sleep(0.2)
    bot.send_signal(signal.SIGTERM)
    _, stderr = bot.communicate(timeout=60)
    assert bot.returncode == 0, stderr

    closed = [e for e in events(tmp_path) if e["event"] == "PlanClosed"]
    assert closed, "the second entry came after the first plan was closed"
    buy_fees = {e["fee_asset"] for e in events(tmp_path) if e["event"] == "FillRecorded" and e["side"].lower() == "buy"}
    assert buy_fees == {"BTC"}, "Binance-style: the buy fee is taken in BTC, which leaves dust after the exit"
