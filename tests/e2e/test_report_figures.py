"""The figures a trader reads after a replay, driven through the real CLI on a small candle file and a script of
signals whose every fill is known in advance, checked against each other and against a calculation by hand.

The file: one-minute BTC/USDT candles from 2025-01-01 00:00 UTC, rising 0.1 a minute from 100 for an hour, falling
0.2 a minute for an hour, then rising 0.15 a minute (180 candles, last close 102.85). A signal fills at the open of
the candle after it, fee 0.1 %."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")
D = Decimal


def _app(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([APP, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def _candles(path: Path) -> Path:
    rows, price = ["timestamp_ms,open,high,low,close,volume"], 100.0
    for i in range(180):
        before = price
        price = 100 + i * 0.1 if i < 60 else 106 - (i - 60) * 0.2 if i < 120 else 94 + (i - 120) * 0.15
        rows.append(f"{1_735_689_600_000 + i * 60_000},{before:.2f},{max(before, price) + 0.05:.2f},"
                    f"{min(before, price) - 0.05:.2f},{price:.2f},10")
    path.write_text("\n".join(rows) + "\n")
    return path


def _signals(path: Path, *lines: dict[str, object]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _run(folder: Path, *lines: dict[str, object]) -> tuple[dict[str, str], dict[str, object]]:
    """Replay the file with these signals, then report it: the summary's lines and the report's JSON."""
    data, signals = _candles(folder / "c.csv"), _signals(folder / "s.jsonl", *lines)
    ran = _app(folder, "run", "--data", str(data), "--symbol", "BTC/USDT", "--signals", str(signals),
               "--summary-json", "summary.json")
    assert ran.returncode == 0, ran.stderr
    reported = _app(folder, "report", "--candles", "c.csv", "--json", "report.json", "--out", "report.html")
    assert reported.returncode == 0, reported.stderr
    return json.loads((folder / "summary.json").read_text()), json.loads((folder / "report.json").read_text())


BUY = {"action": "BUY", "symbol": "BTC/USDT", "stop_pct": 20, "target_pct": 50}


def test_a_position_still_open_at_the_end_is_valued_and_named_in_the_summary_and_the_report(tmp_path: Path) -> None:
    """One round trip (bought 9.9108 at 100.9, sold at 104.9) and a second entry (20.97535 at 95.35) still held at
    the last close, 102.85. Before: the summary's realized PnL and the final equity disagreed by 157.32 with
    nothing to say why, and the report said nothing of the open position (its exposure left it out)."""
    summary, report = _run(tmp_path, {"at": "2025-01-01T00:10:00Z", **BUY, "notional": "1000"},
                           {"at": "2025-01-01T00:50:00Z", "action": "CLOSE_POSITION", "symbol": "BTC/USDT"},
                           {"at": "2025-01-01T02:10:00Z", **BUY, "notional": "2000"})
    entry_fee = D("20.97535") * D("95.35") * D("0.001")
    held_gain = D("20.97535") * (D("102.85") - D("95.35"))
    closed = D("9.9108") * 4 - D("9.9108") * (D("100.9") + D("104.9")) * D("0.001")
    # By hand: the closed trade's net, the open one's unrealized gain and entry fee.
    assert D(report["stats"]["net_profit"]) == closed.quantize(D("0.00000001"))  # type: ignore[index]
    assert report["open_trades"] == 1
    assert D(str(report["open_pnl"])).quantize(D("0.0001")) == (held_gain - entry_fee).quantize(D("0.0001"))
    final = D(summary["final_equity"])
    assert final == (D(10000) + closed + held_gain - entry_fee).quantize(D("0.01"))
    # The summary: realized (after every fee paid) + unrealized = the equity's change.
    assert summary["open_positions"] == 1
    assert (D(summary["realized_pnl"]) + D(summary["unrealized_pnl"])).quantize(D("0.01")) == final - 10000
    assert D(summary["unrealized_pnl"]) == held_gain
    # The report: closed trades + the open one = the equity's change; the open position counts as exposure.
    assert (D(str(report["stats"]["net_profit"])) + D(str(report["open_pnl"]))).quantize(D("0.01")) == final - 10000
    assert D(str(report["exposure_pct"])).quantize(D("0.01")) == (D(90) / 179 * 100).quantize(D("0.01"))
    # One buy and hold for both: the first close (100.00) to the last (102.85).
    assert D(summary["buy_and_hold_return_pct"]) == D(str(report["buy_and_hold_pct"])) == D("2.85")
    html = (tmp_path / "report.html").read_text()
    assert "<th>Open at the end / marked PnL</th><td>1 / 155.32</td>" in html


def test_a_three_hour_run_is_not_annualised_and_ratios_it_cannot_measure_say_so(tmp_path: Path) -> None:
    """0.38 % in three hours annualised to 6,113,600 % (Calmar 611 million), and a Sharpe ratio with no daily return
    to measure read 0.00 where Sortino said n/a."""
    _, report = _run(tmp_path, {"at": "2025-01-01T00:10:00Z", **BUY, "notional": "1000"},
                     {"at": "2025-01-01T00:50:00Z", "action": "CLOSE_POSITION", "symbol": "BTC/USDT"})
    assert report["stats"]["count"] == 1  # type: ignore[index]
    assert (report["annual_return_pct"], report["calmar"], report["sharpe"], report["sortino"]) == (
        None, None, None, None)
    terminal = _app(tmp_path, "report", "--candles", "c.csv").stdout
    assert "annualised return %" in terminal
    assert "6,113,600" not in terminal
    html = (tmp_path / "report.html").read_text()
    assert "<th>Annualised</th><td>n/a</td>" in html
    assert "<th>Sharpe / Sortino / Calmar</th><td>n/a / n/a / n/a</td>" in html


def test_a_run_without_a_trade_says_n_a_for_what_trades_would_measure(tmp_path: Path) -> None:
    """The summary said win_rate n/a, its report 0.00 % (a rule that lost every trade) and an expectancy of 0."""
    summary, report = _run(tmp_path, {"at": "2025-01-01T00:10:00Z", "action": "HOLD", "symbol": "BTC/USDT"})
    assert summary["win_rate"] == "n/a"
    stats = report["stats"]
    assert isinstance(stats, dict)
    assert (stats["count"], stats["win_rate"], stats["expectancy"], stats["best"], stats["worst"]) == (
        0, None, None, None, None)
    html = (tmp_path / "report.html").read_text()
    assert "<th>Win rate</th><td>n/a</td>" in html
    assert "<th>Expectancy</th><td>n/a</td>" in html


def test_trades_and_status_write_plain_figures_that_agree_with_the_summary(tmp_path: Path) -> None:
    """Bought at exactly 100, half sold at 104.9, the rest stopped at the break-even 100. ``trades`` wrote the
    prices as 1E+2 (``Decimal.normalize``), and ``status`` the PnL to 18 places (19.821600000000000000) and a net
    that was not the summary's ``realized_pnl`` once rounded."""
    summary, _ = _run(tmp_path, {"at": "2025-01-01T00:01:00Z", **BUY, "notional": "1000"},
                      {"at": "2025-01-01T00:50:00Z", "action": "PARTIAL_CLOSE", "symbol": "BTC/USDT",
                       "plan_id": "P1", "fraction": 0.5})
    (row,) = [json.loads(line) for line in _app(tmp_path, "trades").stdout.splitlines()]
    assert (row["entry_price"], row["exit_price"], row["quantity"]) == ("100", "102.45", "10")
    status = json.loads(_app(tmp_path, "status", "--json").stdout)
    total = status["pnl"]["total"]
    assert total == {"fills": 3, "gross_pnl": "24.5", "fees": "2.0245", "net": "22.4755"}  # fees 1 + 0.5245 + 0.5
    assert D(total["net"]) == D(summary["realized_pnl"]) == D(row["realized_pnl"])


def test_status_of_a_replay_that_ended_paused_says_so_as_its_summary_did(tmp_path: Path) -> None:
    """A replay keeps its trading state to itself: its summary said "reducing until ... (scripted pause)" and
    ``status`` said "active", with nothing to tell the two apart."""
    summary, _ = _run(tmp_path, {"at": "2025-01-01T02:50:00Z", "action": "PAUSE_TRADING", "symbol": "BTC/USDT",
                                 "minutes": 600, "reason": "scripted pause"})
    assert summary["trading_state"] == "reducing until 2025-01-01T12:50:00+00:00 (scripted pause)"
    status = json.loads(_app(tmp_path, "status", "--json").stdout)
    state = status["trading_state"]
    assert (state["state"], state["reason"], state["until"]) == ("reducing", "scripted pause",
                                                                 "2025-01-01T12:50:00+00:00")
    assert state["source"] == f"end of replay run {status['run']['run_id']}"
    shown = _app(tmp_path, "status").stdout
    assert "trading state  reducing until 2025-01-01T12:50:00+00:00  (scripted pause)" in shown


def test_status_of_a_finished_replay_marks_its_open_position_at_its_last_price_on_its_last_day(
        tmp_path: Path) -> None:
    """The position of the first test, still held at the last close (102.85). ``status`` showed it with no price,
    no value and no unrealized PnL ("last prices unknown"), and "today" was the wall clock's day, which holds none
    of a replay's fills (0 fills where the run made 3 on 2025-01-01)."""
    summary, _ = _run(tmp_path, {"at": "2025-01-01T00:10:00Z", **BUY, "notional": "1000"},
                      {"at": "2025-01-01T00:50:00Z", "action": "CLOSE_POSITION", "symbol": "BTC/USDT"},
                      {"at": "2025-01-01T02:10:00Z", **BUY, "notional": "2000"})
    status = json.loads(_app(tmp_path, "status", "--json").stdout)
    (position,) = status["positions"]
    assert position["last_price"] == "102.85"
    assert D(position["market_value"]) == D("20.97535") * D("102.85")
    # The summary's unrealized PnL is this position's, to the digit it prints.
    assert D(position["unrealized_pnl"]).quantize(D("0.00000001")) == D(summary["unrealized_pnl"])
    assert (status["pnl"]["day"], status["pnl"]["today"]["fills"]) == ("2025-01-01", 3)
    assert str(status["replay_end"]).startswith("2025-01-01T02:59:59")
    shown = _app(tmp_path, "status").stdout
    assert "replay's end   2025-01-01 (UTC)" in shown
    assert "positions marked at its last prices" in shown
