"""End to end: ``trader-app report`` and ``run --report`` on a real SQLite file, the HTML opened in headless
Chromium, and bad input refused with one line and no file."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.browser import render, screenshot

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
    (("--since", "yesterday"), "not an ISO time"),
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
