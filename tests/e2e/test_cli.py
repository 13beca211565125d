"""End to end: ``trader-app`` in a subprocess, in a temporary directory, checked against its database."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from trader_adapters.sql.store import SqlStore
from trader_core.model import BotId, PlanStatus

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")


def _app(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([APP, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def _summary(stdout: str) -> dict[str, str]:
    return dict(line.split(None, 1) for line in stdout.strip().splitlines())


def test_default_run_trades_persists_and_prints_a_summary_that_matches_the_database(tmp_path: Path) -> None:
    result = _app(tmp_path, "run", "--summary-json", "summary.json")
    assert result.returncode == 0, result.stderr
    printed = _summary(result.stdout)
    written = json.loads((tmp_path / "summary.json").read_text())
    assert {k: str(v) for k, v in written.items()} == printed
    assert int(printed["candles"]) == 2 * 3 * 1440
    assert int(printed["fills"]) > 0
    assert "100%" in result.stderr

    store = SqlStore.open(f"sqlite:///{tmp_path / 'trader.db'}", BotId("default"))
    with store.unit_of_work() as uow:
        run = uow.runs.find_latest()
        assert run is not None
        assert run.run_id.value == printed["run_id"]
        fills = uow.fills.list_for_run(run.run_id)
        plans = uow.plans.list_for_run(run.run_id)
    store.close()
    assert len(fills) == int(printed["fills"])
    assert sum(1 for p in plans if p.status is PlanStatus.CLOSED) == int(printed["round_trips"])
    net = sum((r.realized_pnl - r.fee_quote for r in fills), Decimal(0))
    assert net.quantize(Decimal("1e-8")) == Decimal(printed["realized_pnl"])
    assert sum((r.fee_quote for r in fills), Decimal(0)).quantize(Decimal("1e-8")) == Decimal(printed["fees"])
    # Net PnL is gross - fees - LLM cost; this run made no model call.
    assert (printed["llm_calls"], printed["llm_tokens_in"], printed["llm_tokens_out"]) == ("0", "0", "0")
    assert Decimal(printed["llm_cost"]) == 0
    assert Decimal(printed["net_pnl"]) == Decimal(printed["realized_pnl"])
    # `status` tells the same money in the same words: its `net` is the summary's realized_pnl, and the PnL
    # before fees is called gross (it was "realized", a second meaning beside the summary's).
    status = json.loads(_app(tmp_path, "status", "--json").stdout)
    total = status["pnl"]["total"]
    assert "realized_pnl" not in total
    assert Decimal(total["net"]).quantize(Decimal("1e-8")) == Decimal(printed["realized_pnl"])
    assert Decimal(total["gross_pnl"]) - Decimal(total["fees"]) == Decimal(total["net"])
    assert "gross " in _app(tmp_path, "status").stdout
    # The paper venue's balances at the end agree with the bot's own ledger, asset by asset.
    events = [json.loads(line)["event"] for line in (tmp_path / "logs" / "telemetry.jsonl").read_text().splitlines()]
    assert "BalancesReconciled" in events
    assert "BalanceMismatchDetected" not in events


def test_a_second_run_in_the_same_file_starts_fresh_and_repeats_the_first(tmp_path: Path) -> None:
    first = _summary(_app(tmp_path, "run", "--days", "1").stdout)
    second_result = _app(tmp_path, "run", "--days", "1")
    assert second_result.returncode == 0, second_result.stderr
    second = _summary(second_result.stdout)
    assert first["run_id"] != second["run_id"]
    for key in ("candles", "fills", "round_trips", "realized_pnl", "final_equity", "open_positions"):
        assert first[key] == second[key], key
    trades = _app(tmp_path, "trades", "--run", first["run_id"], "--format", "jsonl").stdout.splitlines()
    assert len(trades) == int(first["round_trips"])


def test_the_same_inputs_give_byte_identical_trades(tmp_path: Path) -> None:
    outputs = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        assert _app(folder, "run", "--days", "1", "--seed", "7").returncode == 0
        outputs.append(_app(folder, "trades", "--format", "csv").stdout)
    assert outputs[0] == outputs[1]
    rows = list(csv.DictReader(io.StringIO(outputs[0])))
    assert rows, "the strategy should have traded"
    assert {r["exit_reason"] for r in rows} <= {"stop", "target", "signal"}


def test_a_csv_file_replays_and_a_bad_row_is_refused_with_its_line_and_nothing_written(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    rows = ["timestamp_ms,open,high,low,close,volume"]
    price = Decimal(100)
    for minute in range(300):
        wave = Decimal((minute % 40) - 20) / 10
        rows.append(f"{1735689600000 + minute * 60000},{price + wave},{price + wave + 1},{price + wave - 1},"
                    f"{price + wave + Decimal('0.5')},10")
    good.write_text("\n".join(rows) + "\n")
    result = _app(tmp_path, "run", "--data", "good.csv", "--symbol", "SOL/USDT", "--db", "sqlite:///good.db")
    assert result.returncode == 0, result.stderr
    assert _summary(result.stdout)["candles"] == "300"

    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([*rows[:5], "1735690000000,100,99,101,100,1", *rows[6:8]]) + "\n")
    refused = _app(tmp_path, "run", "--data", "bad.csv", "--symbol", "SOL/USDT", "--db", "sqlite:///bad.db")
    assert refused.returncode == 2
    assert "bad.csv line 6" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bad.db").exists()



def test_a_run_without_the_llm_strategy_never_loads_the_openai_sdk(tmp_path: Path) -> None:
    # Importing the SDK costs about half a second of start-up: a replay a trader runs again and again must not pay it.
    rows = ["timestamp_ms,open,high,low,close,volume"]
    rows += [f"{1735689600000 + minute * 60000},100,108,99,{100 + minute % 7},10" for minute in range(120)]
    (tmp_path / "c.csv").write_text("\n".join(rows) + "\n")
    probe = ("import sys; from trader_app.cli import main; code = main(sys.argv[1:]); "
             "print('openai loaded' if 'openai' in sys.modules else 'openai not loaded'); sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", probe, "run", "--data", "c.csv", "--symbol", "SOL/USDT",
                             "--db", "sqlite:///c.db"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "openai not loaded"

def test_a_row_dated_after_the_present_is_refused_at_once_with_its_line(tmp_path: Path) -> None:
    rows = ["timestamp_ms,open,high,low,close,volume"]
    rows += [f"{1735689600000 + minute * 60000},100,101,99,100.5,10" for minute in range(200)]
    rows.append("4102444800000,100,101,99,100.5,10")  # 2100-01-01
    (tmp_path / "future.csv").write_text("\n".join(rows) + "\n")
    refused = _app(tmp_path, "run", "--data", "future.csv", "--symbol", "SOL/USDT", "--db", "sqlite:///f.db")
    assert refused.returncode == 2
    assert "future.csv line 202" in refused.stderr
    assert "future" in refused.stderr.split("line 202", 1)[1]
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "f.db").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--fast", "40", "--slow", "30"], "fast < slow"),
    (["--symbol", "BTCUSDT"], "invalid symbol"),
    (["--timeframe", "7x"], "unknown timeframe"),
    (["--stake", "-5"], "stake"),
    (["--strategy", "nope.module:Thing"], "cannot be loaded"),
    (["--days", "100000"], "days must be 1 to 3660"),
    (["--data", "c.csv", "--symbol", "BTC/USDT", "--symbol", "ETH/USDT"], "give exactly one --symbol with --data"),
    (["--timeframe", "1w"], "the synthetic feed of 3 day(s) is shorter than one 1w candle: give days of at least 7"),
    (["--timeframe", "2d", "--days", "1"], "the synthetic feed of 1 day(s) is shorter than one 2d candle"),
])
def test_bad_settings_exit_2_with_one_clear_line_and_write_nothing(tmp_path: Path, args: list[str],
                                                                     message: str) -> None:
    result = _app(tmp_path, "run", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "trader.db").exists()


def test_an_unknown_flag_is_a_usage_error(tmp_path: Path) -> None:
    assert _app(tmp_path, "run", "--no-such-flag").returncode == 2
