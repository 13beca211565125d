"""End to end on the emulator's Gemini face (no OCO there): after an entry fills, the plan's stop rests at the
venue as a Gemini ``exchange stop limit`` and stays there when the bot stops; ``trader-app status`` says the
venue holds the stop and the bot the target. The bot runs within Gemini's request rates, which the emulator holds."""

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

from trader_sandbox.testing import running_sandbox

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")


def test_a_gemini_plan_is_protected_by_a_venue_held_stop_that_outlives_the_bot(tmp_path: Path) -> None:
    at = (datetime.now(UTC) + timedelta(seconds=10)).isoformat().replace("+00:00", "Z")
    line = {"at": at, "action": "BUY", "symbol": "BTC/USDT", "notional": "600", "stop_pct": 2, "target_pct": 3}
    (tmp_path / "signals.jsonl").write_text(json.dumps(line) + "\n")
    with running_sandbox(venue="gemini", candle_ms=1000, history=120) as sandbox:
        sandbox.start_timer(1.0)
        sandbox.gemini_rates()  # Gemini's 120 public and 600 private requests a minute, held as Gemini holds them
        env = {**os.environ, "TRADER_EXCHANGE__API_KEY": sandbox.api_key,
               "TRADER_EXCHANGE__SECRET": sandbox.secret}
        bot = subprocess.Popen(
            [APP, "run", "--exchange", "gemini", "--sandbox-url", sandbox.url, "--symbol", "BTC/USDT", "--timeframe",
             "1m", "--interval", "0.5", "--signals", "signals.jsonl"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

        def venue_stops() -> list[object]:
            with sandbox.exchange.lock:
                return [o for o in sandbox.exchange.engine.open_orders("BTCUSDT") if o.type == "STOP_LOSS_LIMIT"]

        deadline = time.monotonic() + 90
        while not venue_stops():
            assert bot.poll() is None, bot.stderr.read() if bot.stderr else ""
            assert time.monotonic() < deadline, "no venue-held stop within 90 s"
            time.sleep(0.2)
        time.sleep(1.5)  # a status write after the stop went out
        bot.send_signal(signal.SIGTERM)
        _, stderr = bot.communicate(timeout=30)
        assert bot.returncode == 0, stderr

        assert len(venue_stops()) == 1  # still resting at the venue with the bot down
        sent = [r["params"] for r in sandbox.requests() if r["path"] == "/v1/order/new"]
        assert [p["type"] for p in sent] == ["exchange limit", "exchange stop limit"]
        assert sent[0]["options"] == ["immediate-or-cancel"]  # the market entry
        assert sent[1]["side"] == "sell"
        assert float(sent[1]["price"]) < float(sent[1]["stop_price"])
        refused = [r["path"] for r in sandbox.requests() if r["status"] == 429]
        assert not refused, f"the bot went past Gemini's request rates: {refused}"

    status = subprocess.run([APP, "status", "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            check=False)
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)
    assert shown["loop"]["protection"] == "venue-held stop; target held by the bot"
    (plan,) = shown["plans"]
    assert [o["role"] for o in plan["protection"]] == ["stop"]
    text = subprocess.run([APP, "status"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert "venue-held stop; target held by the bot" in text.stdout


def test_a_paper_run_on_gemini_holds_the_protection_gemini_would_hold_not_a_bracket(tmp_path: Path) -> None:
    """Paper on Gemini's prices filled a venue-held OCO target at its exact price, where a live Gemini run holds a
    stop only and the bot exits at the target itself: the paper result was one a live run could not have."""
    at = (datetime.now(UTC) + timedelta(seconds=10)).isoformat().replace("+00:00", "Z")
    line = {"at": at, "action": "BUY", "symbol": "BTC/USDT", "notional": "600", "stop_pct": 2, "target_pct": 3}
    (tmp_path / "signals.jsonl").write_text(json.dumps(line) + "\n")
    with running_sandbox(venue="gemini", candle_ms=1000, history=120) as sandbox:
        sandbox.start_timer(1.0)
        bot = subprocess.Popen(
            [APP, "run", "--exchange", "gemini", "--paper", "--sandbox-url", sandbox.url, "--symbol", "BTC/USDT",
             "--timeframe", "1m", "--interval", "0.5", "--signals", "signals.jsonl"],
            cwd=tmp_path, env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        deadline = time.monotonic() + 90
        while True:
            assert bot.poll() is None, bot.stderr.read() if bot.stderr else ""
            assert time.monotonic() < deadline, "no protected paper plan within 90 s"
            shown = subprocess.run([APP, "status", "--json"], cwd=tmp_path, capture_output=True, text=True,
                                   timeout=60, check=False)
            plans = json.loads(shown.stdout)["plans"] if shown.returncode == 0 else []
            if plans and plans[0]["protection"] and json.loads(shown.stdout)["loop"]:
                break
            time.sleep(0.5)
        bot.send_signal(signal.SIGTERM)
        _, stderr = bot.communicate(timeout=30)
        assert bot.returncode == 0, stderr
        assert not [r for r in sandbox.requests() if r["path"] == "/v1/order/new"], "paper orders stay local"
    status = json.loads(shown.stdout)
    assert status["loop"]["protection"] == "venue-held stop; target held by the bot"
    (plan,) = status["plans"]
    assert [o["role"] for o in plan["protection"]] == ["stop"], "a stop, as Gemini holds: no OCO bracket"
