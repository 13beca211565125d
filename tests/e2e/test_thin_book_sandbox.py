"""End to end on the emulator's Binance face with a thin book: the bot's market entry fills part and expires with
the rest; the plan holds what filled and the venue holds a bracket for exactly that."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from trader_sandbox.testing import running_sandbox

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")


def test_a_market_entry_that_fills_in_part_is_protected_at_the_venue_for_what_filled(tmp_path: Path) -> None:
    at = (datetime.now(UTC) + timedelta(seconds=10)).isoformat().replace("+00:00", "Z")
    line = {"at": at, "action": "BUY", "symbol": "BTC/USDT", "notional": "600", "stop_pct": 2, "target_pct": 3}
    (tmp_path / "signals.jsonl").write_text(json.dumps(line) + "\n")
    with running_sandbox(candle_ms=1000, history=120) as sandbox:
        sandbox.configure(taker_depth="0.005")
        sandbox.start_timer(1.0)
        env = {**os.environ, "TRADER_EXCHANGE__API_KEY": sandbox.api_key, "TRADER_EXCHANGE__SECRET": sandbox.secret}
        bot = subprocess.Popen(
            [APP, "run", "--exchange", "binance", "--sandbox-url", sandbox.url, "--symbol", "BTC/USDT",
             "--timeframe", "1m", "--interval", "0.5", "--signals", "signals.jsonl"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

        def legs() -> list[Decimal]:
            with sandbox.exchange.lock:
                return [o.orig_qty for o in sandbox.exchange.engine.open_orders("BTCUSDT") if o.list_id >= 0]

        deadline = time.monotonic() + 90
        while len(legs()) < 2:
            assert bot.poll() is None, bot.stderr.read() if bot.stderr else ""
            assert time.monotonic() < deadline, "no bracket at the venue within 90 s"
            time.sleep(0.2)
        time.sleep(1.5)
        bot.send_signal(signal.SIGTERM)
        _, stderr = bot.communicate(timeout=30)
        assert bot.returncode == 0, stderr
        with sandbox.exchange.lock:
            entry = next(o for o in sandbox.exchange.engine.orders.values() if o.type == "MARKET")
            assert (entry.status, entry.executed_qty) == ("EXPIRED", Decimal("0.005")), "the book gave 0.005"
        # What filled, less the commission Binance takes in BTC (0.1 %), down to the step: not the 0.02 asked.
        assert legs() == [Decimal("0.00499")] * 2, "both legs protect what filled, not what was asked"

    shown = json.loads(subprocess.run([APP, "status", "--json"], cwd=tmp_path, capture_output=True, text=True,
                                      timeout=60, check=True).stdout)
    (plan,) = shown["plans"]
    assert Decimal("0.00499") <= Decimal(plan["quantity"]) <= Decimal("0.005")
