"""End to end: a signals file drives BUY, UPDATE_PLAN, PARTIAL_CLOSE and CLOSE_POSITION through ``trader-app run``."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from trader_adapters.sql.store import SqlStore
from trader_core.model import BotId, ExitReason, OrderRole, PlanStatus

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")
SIGNALS = [
    {"at": "2025-01-01T00:40:00Z", "action": "BUY", "symbol": "BTC/USDT", "notional": "2000", "stop_pct": 2,
     "target_pct": 3, "regime": {"volatility": "high"}, "reason": "scripted entry"},
    {"at": "2025-01-01T00:45:00Z", "action": "UPDATE_PLAN", "symbol": "BTC/USDT", "plan_id": "P1", "stop": 55000,
     "target": 70000, "reason": "wider"},
    {"at": "2025-01-01T00:50:00Z", "action": "PARTIAL_CLOSE", "symbol": "BTC/USDT", "plan_id": "P1", "fraction": 0.5},
    {"at": "2025-01-01T00:55:00Z", "action": "CLOSE_POSITION", "symbol": "BTC/USDT", "reason": "done"},
]


def _app(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([APP, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def _events(folder: Path) -> list[dict[str, object]]:
    lines = (folder / "logs" / "telemetry.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_a_signals_file_drives_every_plan_action_through_the_cli(tmp_path: Path) -> None:
    (tmp_path / "signals.jsonl").write_text("\n".join(json.dumps(s) for s in SIGNALS) + "\n")
    result = _app(tmp_path, "run", "--symbol", "BTC/USDT", "--days", "1", "--signals", "signals.jsonl")
    assert result.returncode == 0, result.stderr
    handled = [(e["action"], e["status"]) for e in _events(tmp_path) if e["event"] == "SignalHandled"]
    assert handled == [("BUY", "order_open"), ("UPDATE_PLAN", "plan_updated"),
                       ("PARTIAL_CLOSE", "partial_close_executed"), ("CLOSE_POSITION", "close_position_executed")]

    store = SqlStore.open(f"sqlite:///{tmp_path / 'trader.db'}", BotId("default"))
    with store.unit_of_work() as uow:
        run = uow.runs.find_latest()
        assert run is not None
        (plan,) = uow.plans.list_for_run(run.run_id)
        orders = uow.orders.list_for_run(run.run_id)
        fills = uow.fills.list_for_run(run.run_id)
    store.close()
    assert plan.status is PlanStatus.CLOSED
    assert plan.exit_reason is ExitReason.MANUAL
    assert plan.stop_price is not None
    assert plan.target_price is not None
    assert (plan.stop_price.value, plan.target_price.value) == (Decimal(55000), Decimal(70000)), "the update stuck"
    entry = next(o for o in orders if o.role is OrderRole.ENTRY)
    exits = [o for o in orders if o.role is OrderRole.EXIT]
    # High volatility sizes the 2000 notional down to 60 %; the partial close sold half of what was filled.
    assert entry.request.quantity.value * Decimal(60000) < Decimal(1300)
    assert [o.request.quantity.value for o in exits] == [entry.request.quantity.value / 2] * 2
    brackets = [o for o in orders if o.role is OrderRole.STOP]
    assert [o.request.stop_price.value for o in brackets if o.request.stop_price][-1] == Decimal(55000), (
        "the venue bracket was re-placed")
    assert len(fills) == 3


@pytest.mark.parametrize(("fields", "message"), [
    ({"action": "JUMP"}, "unknown action 'JUMP'"),
    ({"stop_pct": 150}, "stop_pct must be below 100"),
    ({"target_pct": -5}, "a percentage distance must be positive, got -5"),
    ({"stop": "abc"}, "stop 'abc' is not a number"),
    ({"notional": "Infinity"}, "notional 'Infinity' is not a finite number"),
])
def test_a_malformed_line_exits_2_naming_the_line_and_writes_nothing(tmp_path: Path, fields: dict[str, object],
                                                                      message: str) -> None:
    second = {"at": "2025-01-01T00:41:00Z", "action": "BUY", "symbol": "BTC/USDT", "notional": "100", **fields}
    (tmp_path / "signals.jsonl").write_text(json.dumps(SIGNALS[0]) + "\n" + json.dumps(second) + "\n")
    result = _app(tmp_path, "run", "--symbol", "BTC/USDT", "--days", "1", "--signals", "signals.jsonl")
    assert result.returncode == 2
    assert "signals.jsonl, line 2: " + message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "trader.db").exists()


@pytest.mark.parametrize(("line", "message"), [
    ('{"at": "2025-01-01T00:41:00Z", "action": "PAUSE_TRADING", "symbol": "BTC/USDT", "minutes": 1e12}',
     "minutes must be 0 to 525600 (a year), got 1000000000000.0"),
    ('{"at": "2025-01-01T00:41:00Z", "action": "PAUSE_TRADING", "symbol": "BTC/USDT", "minutes": 1e300}',
     "minutes must be 0 to 525600 (a year), got 1E+300"),
    ('{"at": null, "action": "BUY", "symbol": "BTC/USDT", "notional": "100"}',
     "'at' must be an ISO-8601 time, got null"),
    ('{"at": "2025-01-01T00:41:00Z", "action": "BUY", "symbol": "BTC/USDT", "regime": ' + "[" * 100_000
     + "]" * 100_000 + "}", "not JSON this program reads: nested too deeply"),
], ids=["minutes 1e12", "minutes 1e300", "at null", "nested 100,000 deep"])
def test_a_line_that_would_fail_when_it_fires_is_a_malformed_line(tmp_path: Path, line: str, message: str) -> None:
    (tmp_path / "signals.jsonl").write_text(json.dumps(SIGNALS[0]) + "\n" + line + "\n")
    result = _app(tmp_path, "run", "--symbol", "BTC/USDT", "--days", "1", "--signals", "signals.jsonl")
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr == f"trader-app: error: signals file signals.jsonl, line 2: {message}\n"
    assert not (tmp_path / "trader.db").exists()
