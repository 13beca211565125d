"""End to end: ``trader-app report`` and ``run --report`` on a real SQLite file, the HTML opened in headless
Chromium, and bad input refused with one line and no file."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.browser import render, screenshot
from tests.e2e.wave import wave_csv

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")


def _app(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([APP, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding ``trader.db`` after a default replay and its ``run --report`` file."""
    folder = tmp_path_factory.mktemp("replayed")
    result = _app(folder, "run", "--report", "at-end.html")
    assert result.returncode == 0, result.stderr
    assert "By exit reason" in result.stdout
    return folder


def test_the_report_agrees_with_the_trades_it_was_built_from(replayed: Path) -> None:
    result = _app(replayed, "report", "--json", "report.json", "--out", "report.html")
    assert result.returncode == 0, result.stderr
    trades = [json.loads(line) for line in _app(replayed, "trades").stdout.splitlines()]
    document = json.loads((replayed / "report.json").read_text())
    stats = document["stats"]
    assert stats["count"] == len(trades) > 0
    assert Decimal(stats["net_profit"]) == sum((Decimal(t["realized_pnl"]) for t in trades), Decimal(0))
    assert stats["wins"] == sum(1 for t in trades if Decimal(t["realized_pnl"]) > 0)
    assert Decimal(stats["best"]) == max(Decimal(t["realized_pnl"]) for t in trades)
    assert sum(row["trades"] for row in document["by_month"]) == stats["count"]
    assert Decimal(document["drawdown"]["pct"]) >= 0
    assert "net profit" in result.stdout
    assert "By month" in result.stdout


def test_the_html_report_draws_every_chart_offline_in_a_real_browser(replayed: Path, tmp_path: Path) -> None:
    page = replayed / "at-end.html"
    text = page.read_text()
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in text
    rendered = render(page.as_uri())
    assert rendered.console == ()
    assert 'data-charts="5"' in rendered.dom
    for chart in ("price", "equity", "drawdown", "pnl", "monthly"):
        assert f'<figure id="{chart}" class="chart">' in rendered.dom
    shot = screenshot(page.as_uri(), tmp_path / "report.png")
    assert shot.stat().st_size > 20_000  # a blank page compresses to a few kB


@pytest.mark.parametrize(("args", "message"), [
    (("--run", "nosuchrun"), "no run 'nosuchrun'"),
    (("--bot", "someone-else"), "has no runs"),
    (("--since", "yesterday"), "not an ISO-8601 time"),
    (("--since", "2999-01-01"), "nothing to report"),
])
def test_bad_input_is_one_line_exit_2_and_no_file(replayed: Path, args: tuple[str, ...], message: str) -> None:
    result = _app(replayed, "report", *args, "--out", "bad.html", "--json", "bad.json")
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (replayed / "bad.html").exists()
    assert not (replayed / "bad.json").exists()


def test_a_missing_database_is_refused_without_creating_it(tmp_path: Path) -> None:
    result = _app(tmp_path, "report", "--db", f"sqlite:///{tmp_path / 'none.db'}", "--out", "r.html")
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_the_llm_cost_charged_during_the_run_is_taken_from_the_result(replayed: Path, tmp_path: Path) -> None:
    """Net is gross - fees - LLM cost: calls stored with the run lower the final equity by their charged cost;
    a call answered from a cassette (replayed) is not charged again."""
    import shutil
    from datetime import timedelta

    from trader_adapters.sql.store import SqlStore
    from trader_core.model import BotId
    from trader_core.model.llm import LlmCallRecord

    shutil.copy(replayed / "trader.db", tmp_path / "trader.db")
    before = _app(tmp_path, "report", "--json", "before.json")
    assert before.returncode == 0, before.stderr
    store = SqlStore.open(f"sqlite:///{tmp_path / 'trader.db'}", BotId("default"))
    try:
        with store.unit_of_work() as uow:
            run = uow.runs.find_latest()
            assert run is not None
            at = run.started_at + timedelta(minutes=1)
            uow.llm_calls.add(LlmCallRecord(trace_id="t1", run_id=run.run_id, at=at, model="m", tokens_in=1000,
                                            tokens_out=100, cost=Decimal("1.25")))
            uow.llm_calls.add(LlmCallRecord(trace_id="t2", run_id=run.run_id, at=at, model="m", tokens_in=1000,
                                            tokens_out=100, cost=Decimal("7"), replayed=True))
            uow.commit()
    finally:
        store.close()
    after = _app(tmp_path, "report", "--json", "after.json")
    assert after.returncode == 0, after.stderr
    old, new = (json.loads((tmp_path / name).read_text()) for name in ("before.json", "after.json"))
    assert Decimal(new["llm_cost"]) == Decimal("1.25")
    assert Decimal(old["final_equity"]) - Decimal(new["final_equity"]) == Decimal("1.25")
    assert Decimal(new["net_pnl"]) == Decimal(old["net_pnl"]) - Decimal("1.25")


@pytest.fixture(scope="module")
def replayed_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding ``trader.db`` after a replay of ``wave.csv`` that traded."""
    folder = tmp_path_factory.mktemp("replayed_csv")
    data = wave_csv(folder / "wave.csv", candles=300, start_ms=1_717_200_000_000)
    result = _app(folder, "run", "--data", str(data), "--symbol", "BTC/USDT", "--fast", "2", "--slow", "3")
    assert result.returncode == 0, result.stderr
    assert int(dict(line.split(None, 1) for line in result.stdout.splitlines() if line.strip())["fills"]) > 0
    return folder


def test_the_runs_own_candle_file_marks_the_report_and_its_json_writes_plain_decimals(replayed_csv: Path) -> None:
    result = _app(replayed_csv, "report", "--candles", "wave.csv", "--json", "report.json")
    assert result.returncode == 0, result.stderr
    text = (replayed_csv / "report.json").read_text()
    assert json.loads(text)["balance"] == "10000"
    assert not re.search(r'"-?[0-9.]+E[+-]?[0-9]+"', text), "every Decimal in plain notation"


@pytest.mark.parametrize(("candles", "message"), [
    ("unrelated.csv", "unrelated.csv: no candle at the run's fill"),
    ("scaled.csv", "scaled.csv: the run's fill .* is outside its candle's low"),
    ("huge.csv", "huge.csv line 2: open 1e400 is out of range"),
])
def test_a_candle_file_that_is_not_the_runs_is_refused(replayed_csv: Path, candles: str, message: str) -> None:
    header = "timestamp_ms,open,high,low,close,volume\n"
    (replayed_csv / "unrelated.csv").write_text(header + "1600000000000,1,1,1,1,10\n1600000060000,1,1,1,1,10\n")
    wave_csv(replayed_csv / "scaled.csv", candles=300, start_ms=1_717_200_000_000, scale=1.5)
    (replayed_csv / "huge.csv").write_text(header + "1717200000000,1e400,1e400,1e400,1e400,10\n"
                                           "1717200060000,1,1,1,1,10\n")
    result = _app(replayed_csv, "report", "--candles", candles, "--json", "bad.json")
    assert result.returncode == 2, result.stdout
    assert re.search(message, result.stderr), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (replayed_csv / "bad.json").exists()


def test_a_range_that_cuts_a_trade_keeps_it_whole_and_starts_from_the_equity_then(tmp_path: Path) -> None:
    """``--since`` inside a run: a trade that entered before it and exited inside it is in the range, whole (not
    dropped, its exit not a short sale), and the range starts from the equity at ``since``."""
    signals = tmp_path / "signals.jsonl"
    signals.write_text("\n".join(json.dumps(line) for line in (
        {"at": "2025-01-01T00:40:00Z", "action": "BUY", "symbol": "BTC/USDT", "notional": "2000", "stop_pct": 2,
         "target_pct": 3, "reason": "a"},
        {"at": "2025-01-01T00:55:00Z", "action": "CLOSE_POSITION", "symbol": "BTC/USDT", "reason": "b"},
        {"at": "2025-01-01T01:10:00Z", "action": "BUY", "symbol": "BTC/USDT", "notional": "1000", "stop_pct": 2,
         "target_pct": 3, "reason": "c"})) + "\n")
    run = _app(tmp_path, "run", "--symbol", "BTC/USDT", "--days", "1", "--signals", str(signals))
    assert run.returncode == 0, run.stderr
    trades = [json.loads(line) for line in _app(tmp_path, "trades").stdout.splitlines()]
    assert len(trades) == 2, "the rules above make two round trips"
    result = _app(tmp_path, "report", "--since", "2025-01-01T00:50:00Z", "--json", "range.json")
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "range.json").read_text())
    assert document["stats"]["count"] == 2
    assert Decimal(document["stats"]["net_profit"]) == sum(Decimal(t["realized_pnl"]) for t in trades)
    assert _app(tmp_path, "report", "--json", "whole.json").returncode == 0
    whole = json.loads((tmp_path / "whole.json").read_text())
    assert Decimal(document["final_equity"]) == Decimal(whole["final_equity"]), "the same run ends where it ends"


def test_a_reader_that_stops_early_costs_neither_the_files_nor_the_exit_code(replayed: Path) -> None:
    """``trader-app report --out ... --json ... | head -1``: the files are written, and the reader going away is
    not a failure (rich's own answer to a broken pipe was exit 1, and the files came after the tables)."""
    report = subprocess.Popen([APP, "report", "--out", "cut.html", "--json", "cut.json"], cwd=replayed,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert report.stdout is not None
    report.stdout.readline()
    report.stdout.close()  # the reader goes away, as head does
    _, stderr = report.communicate(timeout=120)
    assert report.returncode == 0, stderr
    assert (replayed / "cut.html").stat().st_size > 0
    assert json.loads((replayed / "cut.json").read_text())["stats"]["count"] > 0


def test_a_synthetic_replays_report_later_is_the_one_its_run_printed(tmp_path: Path) -> None:
    """``trader-app report`` of a replay of the synthetic feed marks equity at the same candles as ``run --report``
    did (generated again from the run's stored settings), not at its fills alone, which understated the drawdown
    and stretched the annualised figures."""
    run = _app(tmp_path, "run", "--days", "1", "--report", "at-run.html")
    assert run.returncode == 0, run.stderr
    later = _app(tmp_path, "report", "--json", "later.json")
    assert later.returncode == 0, later.stderr
    # (a day is not annualised: its total return stands for it)
    for figure in ("max drawdown (marked) %", "max drawdown (marked)", "total return %", "exposure %"):
        pattern = re.escape(figure) + r"\s*│\s*([-\d.,]+)"
        assert re.findall(pattern, later.stdout)[0] == re.findall(pattern, run.stdout)[0], figure


def test_a_csv_replay_without_a_trade_is_reported_from_its_candle_file_and_the_refusal_says_so(
        tmp_path: Path) -> None:
    data = wave_csv(tmp_path / "quiet.csv", candles=20, start_ms=1_717_200_000_000)  # too short for SMA 10/30
    ran = _app(tmp_path, "run", "--data", str(data), "--symbol", "BTC/USDT")
    assert ran.returncode == 0, ran.stderr
    shown = dict(line.split(None, 1) for line in ran.stdout.splitlines() if len(line.split(None, 1)) == 2)
    assert shown["win_rate"] == "n/a", "no round trip: no win rate (it said 0, a run that lost every trade)"
    refused = _app(tmp_path, "report", "--json", "r.json")
    assert refused.returncode == 2
    assert "--candles FILE" in refused.stderr, "the refusal names the way to a report"
    reported = _app(tmp_path, "report", "--candles", "quiet.csv", "--json", "r.json")
    assert reported.returncode == 0, reported.stderr
    assert json.loads((tmp_path / "r.json").read_text())["stats"]["count"] == 0
