"""Kill ``trader-app run`` with SIGKILL right after it sent an order to the emulator, restart it: no client
order id reaches the venue twice, and every fill of the bot's orders is booked once. Run against the emulator's
Binance face (an SMA crossing on one-second candles) and its Gemini face (a scripted BUY on one-minute candles:
Gemini has none shorter), each driven by the real ccxt client of that venue."""

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

import attrs
import pytest

from tests.e2e.telemetry_log import events
from trader_core.model import BotId
from trader_sandbox.sandbox import Sandbox
from trader_sandbox.testing import running_sandbox

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")


@attrs.frozen
class Venue:
    """How one venue's run is started and where its orders show in the emulator's request log."""

    name: str
    run_args: tuple[str, ...]
    order_path: str
    client_id_key: str
    scripted: bool


VENUES = {
    "binance": Venue("binance", ("--timeframe", "1s", "--fast", "2", "--slow", "3", "--stake", "600"),
                     "/api/v3/order", "newClientOrderId", scripted=False),
    "gemini": Venue("gemini", ("--timeframe", "1m", "--signals", "signals.jsonl"), "/v1/order/new",
                    "client_order_id", scripted=True),
}


@pytest.fixture(params=sorted(VENUES))
def venue(request: pytest.FixtureRequest) -> Venue:
    """Each emulated venue in turn."""
    return VENUES[request.param]


@pytest.fixture
def moving(venue: Venue) -> Iterator[Sandbox]:
    """The emulator stepping a one-second candle each second, speaking ``venue``'s API."""
    with running_sandbox(candle_ms=1000, history=120, venue=venue.name) as sandbox:
        sandbox.start_timer(1.0)
        yield sandbox


def _start(folder: Path, sandbox: Sandbox, venue: Venue, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "TRADER_EXCHANGE__API_KEY": sandbox.api_key, "TRADER_EXCHANGE__SECRET": sandbox.secret}
    return subprocess.Popen(
        [APP, "run", "--exchange", venue.name, "--sandbox-url", sandbox.url, "--symbol", "BTC/USDT",
         "--interval", "0.5", *venue.run_args, *extra],
        cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _orders_sent(sandbox: Sandbox, venue: Venue) -> list[str]:
    return [str(r["params"].get(venue.client_id_key)) for r in sandbox.requests()
            if r["method"] == "POST" and r["path"] == venue.order_path]


def test_a_bot_killed_after_sending_an_order_recovers_without_duplicates(tmp_path: Path, venue: Venue,
                                                                          moving: Sandbox) -> None:
    if venue.scripted:  # one BUY, due a few seconds after the bot has started
        at = (datetime.now(UTC) + timedelta(seconds=10)).isoformat().replace("+00:00", "Z")
        signal_line = {"at": at, "action": "BUY", "symbol": "BTC/USDT", "notional": "600", "reason": "crash test"}
        (tmp_path / "signals.jsonl").write_text(json.dumps(signal_line) + "\n")
    bot = _start(tmp_path, moving, venue)
    deadline = time.monotonic() + 60
    while not _orders_sent(moving, venue):
        assert bot.poll() is None, bot.stderr.read() if bot.stderr else ""
        assert time.monotonic() < deadline, "no order within 60 s"
        time.sleep(0.02)
    bot.send_signal(signal.SIGKILL)  # right after the request went out
    bot.wait(timeout=10)

    def reports() -> int:
        return sum(1 for e in events(tmp_path) if e["event"] == "ReconciliationReported")

    before = reports()  # the first process reported its own start: wait for the restarted one's
    again = _start(tmp_path, moving, venue, "--accept-reconciliation")
    deadline = time.monotonic() + 60
    while reports() <= before:
        assert again.poll() is None, again.stderr.read() if again.stderr else ""
        assert time.monotonic() < deadline, "no reconciliation report within 60 s"
        time.sleep(0.2)
    time.sleep(4)  # a few ticks: fills of the first process's order are synced
    again.send_signal(signal.SIGTERM)
    _, stderr = again.communicate(timeout=30)
    assert again.returncode == 0, stderr

    sent = [cid for cid in _orders_sent(moving, venue) if cid.startswith("tc")]
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
    engine = moving.exchange.engine  # the venue's own record of orders and trades
    with moving.exchange.lock:
        own_orders = {o.order_id for o in engine.orders.values() if o.client_id.startswith("tc")}
        ours = {str(t.trade_id) for t in engine.trades if t.order_id in own_orders}
    assert ours, "the bot's orders filled at the venue"
    assert ours <= set(booked), "every fill of the bot's orders is booked"
