"""An entry the venue carries out after the bot had its answer: ``trader-app run`` against the emulator's Binance
face, whose first order placement is answered with a dropped connection at once and run four seconds later
(Binance can: a request taken before the connection broke, or held while its matching engine is behind, runs
within its recvWindow). The bot looks the order up every half second meanwhile and is told "not found" several
times; it must keep waiting, find the order, book its fill and protect it, never take it for absent (which loses
the fill: the venue's BTC then belongs to no plan and is never protected)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.telemetry_log import events
from trader_sandbox.sandbox import Sandbox
from trader_sandbox.testing import running_sandbox

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")
LATE = 4.0


@pytest.fixture
def moving() -> Iterator[Sandbox]:
    with running_sandbox(candle_ms=1000, history=60) as sandbox:
        sandbox.start_timer(1.0)
        yield sandbox


def _placements(sandbox: Sandbox) -> list[dict[str, object]]:
    return [r for r in sandbox.requests() if r["method"] == "POST" and r["path"] == "/api/v3/order"]


def test_an_entry_run_by_the_venue_after_several_not_found_answers_is_booked_and_protected(
        tmp_path: Path, moving: Sandbox) -> None:
    at = (datetime.now(UTC) + timedelta(seconds=6)).isoformat()
    buy = {"at": at, "action": "BUY", "symbol": "BTC/USDT", "quantity": "0.004", "stop_pct": 2, "target_pct": 3,
           "reason": "queued entry"}
    (tmp_path / "signals.jsonl").write_text(json.dumps(buy) + "\n")
    moving.inject("/api/v3/order", method="POST", apply_after=LATE, drop=True)
    env = {**os.environ, "TRADER_EXCHANGE__API_KEY": moving.api_key, "TRADER_EXCHANGE__SECRET": moving.secret}
    bot = subprocess.Popen(
        [APP, "run", "--exchange", "binance", "--sandbox-url", moving.url, "--symbol", "BTC/USDT", "--timeframe",
         "1s", "--interval", "0.5", "--signals", "signals.jsonl"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 30
    while not any(e["event"] == "PlanOpened" for e in events(tmp_path)):
        assert bot.poll() is None, bot.stderr.read() if bot.stderr else ""
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    time.sleep(3)  # a few ticks more: the bracket goes out
    bot.send_signal(signal.SIGTERM)
    _, stderr = bot.communicate(timeout=30)
    assert bot.returncode == 0, stderr

    (entry, *later) = _placements(moving)
    assert entry["note"] == f"answered dropped at once, run {LATE:g} s later (200)", "the venue ran it late"
    assert not later, "no second entry was sent"
    seen = events(tmp_path)
    entry_id = str(entry["params"]["newClientOrderId"])  # type: ignore[index]
    unknown_at_first = [e for e in seen if e["event"] == "OrderOutcomeUnknown" and e["client_order_id"] == entry_id]
    assert unknown_at_first, "the bot did not know the outcome at first"
    assert not [e for e in seen if e["event"] == "OrderFailed" and e["client_order_id"] == entry_id], (
        "taken for absent while the venue could still run it")
    assert not [e for e in seen if e["event"] == "ForeignFillIgnored"], "a fill of the bot's own order was ignored"
    assert [e for e in seen if e["event"] == "FillRecorded" and e["client_order_id"] == entry_id]
    assert [e for e in seen if e["event"] == "PlanOpened"], "the position has a plan"
    oco = [r for r in moving.requests() if r["path"] == "/api/v3/orderList/oco" and r["status"] == 200]
    assert oco, "and the venue held its stop and target"
