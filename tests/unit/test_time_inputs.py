"""Times typed by a user (``report``/``data download`` --since/--until, the ``start`` setting, a signals file's
``at``): a UTC offset out of range or a time beyond the calendar is one line saying what is wrong and what is
accepted, exit 2, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from trader_app.cli import main

OFFSET = ("2025-01-01T00:00:00+99:00",
          "UTC offset +99:00 is out of range; an offset runs from -23:59 to +23:59 (e.g. +02:00, or Z for UTC)")
YEAR = ("10000-01-01", "year 10000 is beyond the calendar; years run from 1 to 9999")
SHIFTED = ("9999-12-31T23:59:59-01:00",
           "is beyond the calendar once converted to UTC; times run from 0001-01-01 to 9999-12-31 UTC")
NOT_ISO = ("yesterday", "not an ISO-8601 time; expected a date or a date and time, e.g. 2025-01-01 or "
                        "2025-01-01T00:30:00Z")


def _report(tmp_path: Path, text: str) -> list[str]:
    return ["report", "--db", f"sqlite:///{tmp_path}/none.db", "--until", text]


def _download(tmp_path: Path, text: str) -> list[str]:
    return ["data", "download", "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "1m",
            "--since", text, "--out", str(tmp_path / "out.csv")]


def _start(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "bot.toml").write_text(f'start = "{text}"\n', encoding="utf-8")
    return ["run", "--config", str(tmp_path / "bot.toml"), "--db", f"sqlite:///{tmp_path}/t.db"]


def _signals(tmp_path: Path, text: str) -> list[str]:
    line = {"at": text, "action": "HOLD", "symbol": "BTC/USDT"}
    (tmp_path / "signals.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    return ["run", "--signals", str(tmp_path / "signals.jsonl"), "--db", f"sqlite:///{tmp_path}/t.db"]


COMMANDS: dict[str, tuple[Callable[[Path, str], list[str]], str]] = {
    "report --until": (_report, "--until"),
    "data download --since": (_download, "--since"),
    "start setting": (_start, "start"),
    "signals at": (_signals, "'at'"),
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize(("text", "says"), [OFFSET, YEAR, SHIFTED, NOT_ISO], ids=["offset", "year", "shift", "text"])
def test_a_time_out_of_range_is_one_line_saying_what_is_wrong_and_what_is_accepted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, text: str, says: str) -> None:
    build, name = COMMANDS[command]
    code = main(build(tmp_path, text))
    _, err = capsys.readouterr()
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("trader-app: error: ")
    assert f"{name} {text!r}" in err
    assert says in err
    assert not (tmp_path / "t.db").exists()
    assert not (tmp_path / "none.db").exists()


def test_a_synthetic_feed_that_would_run_past_the_calendar_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([*_start(tmp_path, "9999-12-30"), "--days", "3"])
    _, err = capsys.readouterr()
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert "start 9999-12-30 plus 3 days of synthetic candles runs beyond the calendar (it ends 9999-12-31 UTC)" in err
