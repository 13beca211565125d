"""Keys revoked while a bot trades the emulator: the venue answers -2015 to every signed request. The bot says so
once, stops after that tick without touching what rests at the venue (its position's stop and target stay), and
exits 2 with one error line that never carries the key."""

from __future__ import annotations

import json
import os
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
# Every signed endpoint the bot uses; public ones (candles, book, ticker, exchange info, time) still answer.
SIGNED = ("/api/v3/account", "/api/v3/openOrders", "/api/v3/myTrades", "/api/v3/order*", "/api/v3/orderList*",
          "/api/v3/openOrderList", "/api/v3/allOrders", "/api/v3/allOrderList")


def _resting(sandbox: Sandbox) -> list[str]:
    return sorted(o["clientOrderId"] for o in sandbox.orders() if o["status"] == "NEW")


def test_keys_revoked_mid_run_stop_the_bot_once_and_leave_its_protection_at_the_venue(
        tmp_path: Path, moving_sandbox: Sandbox) -> None:
    buy = {"at": (datetime.now(UTC) + timedelta(seconds=3)).isoformat(), "action": "BUY", "symbol": "BTC/USDT",
           "notional": "600", "stop_pct": 2, "target_pct": 3}
    (tmp_path / "signals.jsonl").write_text(json.dumps(buy) + "\n")
    env = {**os.environ, "TRADER_EXCHANGE__API_KEY": moving_sandbox.api_key,
           "TRADER_EXCHANGE__SECRET": moving_sandbox.secret}
    bot = subprocess.Popen(
        [APP, "run", "--exchange", "binance", "--sandbox-url", moving_sandbox.url, "--symbol", "BTC/USDT",
         "--timeframe", "1s", "--interval", "0.5", "--signals", "signals.jsonl",
         "--signals-catch-up", "--exit-policy", "flatten"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(_resting(moving_sandbox)) < 2:  # the entry filled; its stop and target rest at the venue
            assert bot.poll() is None, bot.stderr.read() if bot.stderr else ""
            assert time.monotonic() < deadline, "the position was not protected within 60 s"
            time.sleep(0.2)
        protection = _resting(moving_sandbox)
        revoked_at = moving_sandbox.request_count()
        for path in SIGNED:
            moving_sandbox.inject(path, status=401, code=-2015, msg="Invalid API-key, IP, or permissions for action.",
                                  times=None)
        stdout, stderr = bot.communicate(timeout=30)
    finally:
        if bot.poll() is None:
            bot.kill()
    assert bot.returncode == 2, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("trader-app: error:")]
    assert len(errors) == 1, stderr
    assert errors[0].startswith("trader-app: error: binance-emulator refused the API key while running")
    assert "-2015" in errors[0]
    assert "left its orders at the venue" in errors[0]
    for secret in (moving_sandbox.api_key, moving_sandbox.secret):
        assert secret not in stdout + stderr
        assert secret not in (tmp_path / "logs" / "telemetry.jsonl").read_text()
    log = events(tmp_path)
    assert [e["event"] for e in log if e["event"] == "VenueAuthenticationFailed"] == ["VenueAuthenticationFailed"]
    (finished,) = [e for e in log if e["event"] == "RunFinished"]
    assert finished["reason"].startswith("venue refused the credentials")
    summary = dict(line.split(None, 1) for line in stdout.strip().splitlines() if line.strip())
    assert summary["stop_reason"].startswith("venue refused the credentials")
    assert _resting(moving_sandbox) == protection, "the stop and target still rest at the venue"
    after = moving_sandbox.requests()[revoked_at:]
    assert not [r for r in after if r["method"] in ("POST", "DELETE")], "nothing placed or cancelled after it"
