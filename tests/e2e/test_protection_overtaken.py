"""Issue 20 item 3 against the emulator: the entry fills, then the price falls below the plan's stop before
its protection goes out (the soak saw this after a crash or an outage). The bot must exit at market with reason
``stop``, not send a bracket the venue refuses and then leave the position unprotected and silent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.telemetry_log import events
from trader_sandbox.sandbox import Sandbox

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")
OCO = "/api/v3/orderList/oco"


def _start(folder: Path, sandbox: Sandbox) -> subprocess.Popen[str]:
    env = {**os.environ, "TRADER_EXCHANGE__API_KEY": sandbox.api_key, "TRADER_EXCHANGE__SECRET": sandbox.secret}
    return subprocess.Popen(
        [APP, "run", "--exchange", "binance", "--sandbox-url", sandbox.url, "--symbol", "BTC/USDT", "--timeframe",
         "1s", "--interval", "0.5", "--signals", "signals.jsonl", "--accept-reconciliation"],
        cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _orders(sandbox: Sandbox) -> list[dict[str, str]]:
    return [r["params"] for r in sandbox.requests() if r["method"] == "POST" and r["path"] == "/api/v3/order"]


def _wait(what: str, done: Callable[[], bool], bot: subprocess.Popen[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert bot.poll() is None, bot.stderr.read() if bot.stderr else ""
        assert time.monotonic() < deadline, f"{what} not within {seconds} s"
        time.sleep(0.05)


def _stop_once_exited(folder: Path, bot: subprocess.Popen[str]) -> None:
    """Wait for the plan's exit, then stop the bot with SIGTERM: it ends cleanly."""
    _wait("the plan's exit", lambda: any(e["event"] == "PlanClosed" for e in events(folder)), bot, seconds=30)
    bot.send_signal(signal.SIGTERM)
    _, stderr = bot.communicate(timeout=60)
    assert bot.returncode == 0, stderr


def test_a_stop_passed_before_the_bracket_goes_out_is_exited_at_market(tmp_path: Path,
                                                                        moving_sandbox: Sandbox) -> None:
    buy = {"at": (datetime.now(UTC) + timedelta(seconds=12)).isoformat(), "action": "BUY", "symbol": "BTC/USDT",
           "notional": "600", "stop_pct": 2, "target_pct": 3, "reason": "entry"}
    (tmp_path / "signals.jsonl").write_text(json.dumps(buy) + "\n")
    # Should the bracket already be on its way when the price falls, it reaches the venue after the fall: the
    # venue then refuses it (-2010 "Stop price would trigger immediately."), the other path to the same exit.
    moving_sandbox.inject(path=OCO, method="POST", delay=2.0, times=1)
    bot = _start(tmp_path, moving_sandbox)
    _wait("the BUY", lambda: any(o["side"] == "BUY" for o in _orders(moving_sandbox)), bot)
    moving_sandbox.stop_timer()  # the price stays where the test puts it
    entry = Decimal(moving_sandbox.prices()["BTCUSDT"])
    moving_sandbox.set_price("BTCUSDT", (entry * Decimal("0.96")).quantize(Decimal("0.01")))  # 2 % below the stop

    _stop_once_exited(tmp_path, bot)

    sells = [o for o in _orders(moving_sandbox) if o["side"] == "SELL"]
    assert [o["type"] for o in sells] == ["MARKET"], "one market exit, nothing left resting"
    (closing,) = [e for e in events(tmp_path) if e["event"] == "PlanClosed"]
    assert closing["exit_reason"] == "stop"
    failed = [e for e in events(tmp_path) if e["event"] == "ProtectionFailed"]
    assert failed, "the missed protection was reported"
    assert {e["action"] for e in failed} == {"exit"}
    assert not [o for o in moving_sandbox.orders() if o.get("status") == "NEW"], "no order left working"


def test_a_stop_limit_the_price_gaps_through_is_replaced_by_a_market_exit(tmp_path: Path,
                                                                        moving_sandbox: Sandbox) -> None:
    # BTCUSDT lists no market stop: the bracket's stop is a STOP_LOSS_LIMIT 0.5 % under its trigger. A price that
    # jumps 4 % under the entry triggers it and leaves it resting as a sell limit above the market, unfilled.
    buy = {"at": (datetime.now(UTC) + timedelta(seconds=12)).isoformat(), "action": "BUY", "symbol": "BTC/USDT",
           "notional": "600", "stop_pct": 2, "target_pct": 3, "reason": "entry"}
    (tmp_path / "signals.jsonl").write_text(json.dumps(buy) + "\n")
    bot = _start(tmp_path, moving_sandbox)

    def protected() -> bool:
        return len([o for o in moving_sandbox.orders() if o.get("status") == "NEW"
                    and o.get("type") in ("STOP_LOSS_LIMIT", "LIMIT_MAKER")]) == 2

    _wait("the bracket", protected, bot)
    moving_sandbox.stop_timer()
    entry = Decimal(moving_sandbox.prices()["BTCUSDT"])
    moving_sandbox.set_price("BTCUSDT", (entry * Decimal("0.96")).quantize(Decimal("0.01")), gap=True)
    stranded = [o for o in moving_sandbox.orders() if o.get("type") == "STOP_LOSS_LIMIT"]
    assert [o["status"] for o in stranded] == ["NEW"], "the venue leaves the triggered stop-limit unfilled"
    # Time goes on with nobody trading: the bot reads closed candles, and the one the gap landed in may have been
    # read already, so the next ones carry the price on.
    moving_sandbox.step(2, quiet=True)

    _stop_once_exited(tmp_path, bot)

    assert [o["type"] for o in _orders(moving_sandbox) if o["side"] == "SELL"] == ["MARKET"]
    (closing,) = [e for e in events(tmp_path) if e["event"] == "PlanClosed"]
    assert closing["exit_reason"] == "stop"
    (failed,) = [e for e in events(tmp_path) if e["event"] == "ProtectionFailed"]
    assert "gapped through the stop" in failed["reason"]
    assert not [o for o in moving_sandbox.orders() if o.get("status") == "NEW"], "no order left working"
