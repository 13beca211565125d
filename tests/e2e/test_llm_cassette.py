"""End to end: ``trader-app run --strategy llm`` against the OpenAI-compatible emulator records a cassette;
a replay from it makes no call and gives byte-identical trades; a miss stops the run (exit 2)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trader_sandbox.llm import LlmSandbox, start_llm_sandbox

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")
T0_MS = 1_747_699_200_000  # 2025-05-20T00:00:00Z
KEY = "sk-e2e-secret-key"
SCRIPT: list[dict[str, Any]] = [
    {"json": {"signals": [{"action": "BUY", "symbol": "BTC/USDT", "notional": 500, "stop_pct": 1, "target_pct": 1.5,
                           "reason": "emulated entry"}]}},
    {"status": 500},
    {"content": "```json\n{\"action\": \"HOLD\", \"symbol\": \"BTC/USDT\"}\n```", "usage": False},
    {"json": {"signals": [{"action": "CLOSE_POSITION", "symbol": "BTC/USDT", "reason": "emulated exit"}]}},
]


def _write_candles(path: Path, count: int) -> None:
    lines = ["timestamp_ms,open,high,low,close,volume"]
    price = 100_000.0
    for i in range(count):
        close = 100_000.0 + 1500 * math.sin(i / 40) + 3 * i
        lines.append(f"{T0_MS + 60_000 * i},{price:.2f},{max(price, close) + 20:.2f},{min(price, close) - 20:.2f},"
                     f"{close:.2f},{1 + i % 7}")
        price = close
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def emulator() -> Iterator[LlmSandbox]:
    sandbox = start_llm_sandbox(script=SCRIPT)
    yield sandbox
    sandbox.stop()


def _app(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRADER_LLM__API_KEY": KEY, "TRADER_LLM__MAX_RETRIES": "0"}
    return subprocess.run([APP, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False, env=env)


def _run(cwd: Path, url: str, data: str, db: str, mode: str) -> subprocess.CompletedProcess[str]:
    return _app(cwd, "run", "--data", data, "--symbol", "BTC/USDT", "--strategy", "llm", "--llm-base-url", url,
                "--llm-model", "emu-1", "--llm-cassette", "tape.jsonl", "--llm-cassette-mode", mode, "--db",
                f"sqlite:///{db}", "--summary-json", f"{db}.json")


def test_a_recorded_llm_run_replays_offline_with_identical_trades(tmp_path: Path, emulator: LlmSandbox) -> None:
    _write_candles(tmp_path / "data.csv", 400)
    recorded = _run(tmp_path, emulator.url, "data.csv", "first.db", "record")
    assert recorded.returncode == 0, recorded.stderr
    calls = len(emulator.requests)
    assert calls >= 10
    assert len((tmp_path / "tape.jsonl").read_text().splitlines()) == calls
    assert "llm_calls" in recorded.stdout
    prompts = [r["messages"][0]["content"] for r in emulator.requests]
    assert "\nexposure_headroom 10000\n" in prompts[0], "the default cap, nothing held yet"
    held = [p for p in prompts if "position 0.00" in p or "\nplan P1 " in p]
    assert held
    assert all("\nexposure_headroom 10000\n" not in p for p in held), "the entry uses up some of it"

    replayed = _run(tmp_path, emulator.url, "data.csv", "second.db", "replay")
    assert replayed.returncode == 0, replayed.stderr
    assert len(emulator.requests) == calls  # no call made

    first = _app(tmp_path, "trades", "--db", "sqlite:///first.db")
    second = _app(tmp_path, "trades", "--db", "sqlite:///second.db")
    assert first.returncode == second.returncode == 0
    assert '"plan_id": "P1"' in first.stdout
    assert first.stdout == second.stdout

    traces = _app(tmp_path, "llm", "traces", "--db", "sqlite:///first.db", "--last", "500", "--json")
    assert traces.returncode == 0, traces.stderr
    decisions = [json.loads(line) for line in traces.stdout.splitlines()]
    assert len(decisions) == calls  # one call per decision (no tool rounds), the failed one included
    entry = decisions[0]
    assert entry["signals"][0]["action"] == "BUY"
    assert json.loads(entry["outcome"])[0]["status"] == "entered"
    assert json.loads(entry["outcome"])[0]["plan_id"] == "P1"
    assert decisions[1]["reason"].startswith("LLM call failed (HTTP 500)")
    text = _app(tmp_path, "llm", "traces", "--db", "sqlite:///first.db", "--last", "2")
    assert text.stdout.count("\n  signals: ") == 2
    for folder in (tmp_path / "logs",):
        for file in folder.rglob("*"):
            assert KEY not in file.read_text(errors="replace") if file.is_file() else True
    for db in ("first.db", "second.db"):
        assert KEY.encode() not in (tmp_path / db).read_bytes()


def test_a_replay_miss_stops_with_exit_2_naming_the_market_time(tmp_path: Path, emulator: LlmSandbox) -> None:
    _write_candles(tmp_path / "short.csv", 100)
    _write_candles(tmp_path / "long.csv", 200)
    assert _run(tmp_path, emulator.url, "short.csv", "a.db", "record").returncode == 0
    calls = len(emulator.requests)
    missed = _run(tmp_path, emulator.url, "long.csv", "b.db", "replay")
    assert missed.returncode == 2
    assert missed.stderr.strip().splitlines()[-1].startswith("trader-app: error: llm cassette: no recorded answer "
                                                             "for the decision at 2025-05-20T01:")
    assert "Traceback" not in missed.stderr
    assert len(emulator.requests) == calls


def test_missing_llm_settings_are_one_line_and_exit_2_before_anything_is_written(tmp_path: Path) -> None:
    _write_candles(tmp_path / "data.csv", 50)
    result = _app(tmp_path, "run", "--data", "data.csv", "--symbol", "BTC/USDT", "--strategy", "llm",
                  "--db", "sqlite:///x.db")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "base_url" in result.stderr
    assert "model" in result.stderr
    assert not (tmp_path / "x.db").exists()


def test_tool_calls_are_answered_from_the_replayed_market(tmp_path: Path, emulator: LlmSandbox) -> None:
    emulator.script([
        {"tool_calls": [{"name": "get_candles", "arguments": {"symbol": "BTC/USDT", "timeframe": "1m", "limit": 3}},
                        {"name": "get_quote", "arguments": {"symbol": "ETH/USDT"}}]},
        {"json": {"signals": []}},
    ])
    _write_candles(tmp_path / "data.csv", 30)
    env_run = subprocess.run(
        [APP, "run", "--data", "data.csv", "--symbol", "BTC/USDT", "--strategy", "llm", "--llm-base-url",
         emulator.url, "--llm-model", "emu-1", "--db", "sqlite:///t.db"], cwd=tmp_path, capture_output=True,
        text=True, timeout=300, check=False, env={**os.environ, "TRADER_LLM__TOOLS": "true"})
    assert env_run.returncode == 0, env_run.stderr
    first, second = emulator.requests[0], emulator.requests[1]
    assert [t["function"]["name"] for t in first["tools"]] == ["get_candles", "get_quote"]
    answers = [json.loads(m["content"]) for m in second["messages"] if m["role"] == "tool"]
    # The first decision is at the first tick: only the one candle closed by then, nothing from the future.
    assert [c[0] for c in answers[0]["candles"]] == ["2025-05-20T00:00:00+00:00"]
    assert answers[1] == {"error": "unknown symbol ETH/USDT"}


def test_a_killed_llm_replay_keeps_the_record_of_every_call_it_paid_for(tmp_path: Path) -> None:
    """Replays batch their writes, but not a strategy that pays per decision: the stored calls are what the
    budget is rebuilt from, so a crash must not lose the calls the model already answered (and billed)."""
    import signal
    import time

    from trader_adapters.sql.store import SqlStore
    from trader_core.model import BotId

    hold = {"json": {"signals": [{"action": "HOLD", "symbol": "BTC/USDT"}]}, "delay_s": 0.05}
    sandbox = start_llm_sandbox(script=[hold] * 400)
    _write_candles(tmp_path / "data.csv", 4000)
    env = {**os.environ, "TRADER_LLM__API_KEY": KEY, "TRADER_LLM__MAX_RETRIES": "0",
           "TRADER_LLM__DECISION_INTERVAL": "1m", "TRADER_LLM__MIN_CALL_INTERVAL_S": "0"}
    replay = subprocess.Popen([APP, "run", "--data", "data.csv", "--symbol", "BTC/USDT", "--strategy", "llm",
                               "--llm-base-url", sandbox.url, "--llm-model", "emu-1", "--db", "sqlite:///t.db"],
                              cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while len(sandbox.requests) < 25:
            assert replay.poll() is None, replay.stderr.read().decode() if replay.stderr else "ended"
            assert time.monotonic() < deadline, "the model was not called 25 times within 120 s"
            time.sleep(0.05)
        replay.send_signal(signal.SIGKILL)
        replay.wait(timeout=10)
        answered = len(sandbox.requests)
    finally:
        if replay.poll() is None:
            replay.kill()
        sandbox.stop()
    store = SqlStore.open(f"sqlite:///{tmp_path / 't.db'}", BotId("default"))
    try:
        with store.unit_of_work() as uow:
            stored = len(uow.llm_calls.list_calls())
    finally:
        store.close()
    assert stored >= answered - 1, f"{answered} calls made, {stored} stored: paid calls were lost in the crash"


@pytest.mark.parametrize(("mode", "cassette", "extra", "problem"), [
    ("record", "data.csv", (), "llm cassette data.csv, line 1: not a recorded exchange"),
    ("record", "notes.txt", (), "llm cassette notes.txt, line 1: not a recorded exchange"),
    ("record", "x.db-wal", (), "--llm-cassette x.db-wal is the database's wal file"),
    ("record", "out.json", ("--summary-json", "out.json"), "--llm-cassette out.json is the file of --summary-json"),
    ("replay", "empty.jsonl", ("--summary-json", "empty.jsonl"), "--summary-json empty.jsonl is the file of "
                                                                 "--llm-cassette"),
])
def test_a_cassette_never_replaces_another_file_and_no_output_replaces_the_cassette(
        tmp_path: Path, mode: str, cassette: str, extra: tuple[str, ...], problem: str) -> None:
    _write_candles(tmp_path / "data.csv", 50)
    (tmp_path / "notes.txt").write_text("my notes\n")
    (tmp_path / "empty.jsonl").write_text("")
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    result = _app(tmp_path, "run", "--data", "data.csv", "--symbol", "BTC/USDT", "--strategy", "llm",
                  "--llm-base-url", "http://127.0.0.1:9/v1", "--llm-model", "emu-1", "--llm-cassette", cassette,
                  "--llm-cassette-mode", mode, "--db", "sqlite:///x.db", *extra)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert problem in result.stderr
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before, "nothing written"
