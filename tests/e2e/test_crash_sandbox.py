"""Kill ``trader-app run --exchange binance`` with SIGKILL right after it sent an order to the emulator,
restart it: no client order id reaches the venue twice, and every fill of the bot's orders is booked once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.telemetry_log import events
from trader_core.model import BotId
from trader_sandbox.sandbox import Sandbox
from trader_sandbox.testing import ccxt_client

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")


def _start(folder: Path, sandbox: Sandbox, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "TRADER_EXCHANGE__API_KEY": sandbox.api_key, "TRADER_EXCHANGE__SECRET": sandbox.secret}
    return subprocess.Popen(
        [APP, "run", "--exchange", "binance", "--sandbox-url", sandbox.url, "--symbol", "BTC/USDT", "--timeframe",
         "1s", "--interval", "0.5", "--fast", "2", "--slow", "3", "--stake", "600", *extra],
        cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _orders_sent(sandbox: Sandbox) -> list[str]:
    return [r["params"]["newClientOrderId"] for r in sandbox.requests()
            if r["method"] == "POST" and r["path"] == "/api/v3/order"]


def test_a_bot_killed_after_sending_an_order_recovers_without_duplicates(tmp_path: Path,
                                                                          moving_sandbox: Sandbox) -> None:
    bot = _start(tmp_path, moving_sandbox)
    deadline = time.monotonic() + 60
    while not _orders_sent(moving_sandbox):
        assert bot.poll() is None, bot.stderr.read() if bot.stderr else ""
        assert time.monotonic() < deadline, "no order within 60 s"
        time.sleep(0.02)
    bot.send_signal(signal.SIGKILL)  # right after the request went out
    bot.wait(timeout=10)

    again = _start(tmp_path, moving_sandbox, "--accept-reconciliation")
    deadline = time.monotonic() + 60
    while not [e for e in events(tmp_path) if e["event"] == "ReconciliationReported"]:
        assert again.poll() is None, again.stderr.read() if again.stderr else ""
        assert time.monotonic() < deadline, "no reconciliation report within 60 s"
        time.sleep(0.2)
    time.sleep(4)  # a few ticks: fills of the first process's order are synced
    again.send_signal(signal.SIGTERM)
    _, stderr = again.communicate(timeout=30)
    assert again.returncode == 0, stderr

    sent = [cid for cid in _orders_sent(moving_sandbox) if cid.startswith("tc")]
    assert sent, "orders reached the venue"
    assert len(sent) == len(set(sent)), f"a client order id was sent twice: {sent}"

    from trader_app.storage import open_store

    store = open_store(f"sqlite:///{tmp_path / 'trader.db'}", BotId("default"))
    try:
        with store.unit_of_work() as uow:
            booked = [record.fill.trade_id.value for record in uow.fills.list_all()]
    finally:
        store.close()
    assert len(booked) == len(set(booked)), "a fill was booked twice"
    client = ccxt_client(moving_sandbox)
    trades = client.fetch_my_trades("BTC/USDT")
    own_orders = {str(o["id"]) for o in client.fetch_orders("BTC/USDT")
                  if str(o.get("clientOrderId") or "").startswith("tc")}
    ours = {str(t["id"]) for t in trades if str(t["order"]) in own_orders}
    assert ours, "the bot's orders filled at the venue"
    assert ours <= set(booked), "every fill of the bot's orders is booked"
