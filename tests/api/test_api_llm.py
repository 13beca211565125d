"""The API's LLM endpoints over a database written by a real ``--strategy llm`` replay against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import TOKEN, Server
from trader_adapters.clock import SystemClock
from trader_app.api import create_app
from trader_app.api.fleet import Fleet
from trader_app.api.sources import StoreLlm, StoreReports
from trader_app.cli import main
from trader_sandbox.llm import start_llm_sandbox

AUTH = {"X-Trader-Token": TOKEN}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    folder: Path = tmp_path_factory.mktemp("llm-api")
    url = f"sqlite:///{folder / 'trader.db'}"
    emulator = start_llm_sandbox(script=[{"json": {"signals": [{"action": "HOLD", "symbol": "BTC/USDT",
                                                                 "reason": "wait"}]}, "usage": [2000, 50]}])
    try:
        assert main(["run", "--days", "1", "--db", url, "--bot", "gamma", "--symbol", "BTC/USDT", "--strategy", "llm",
                     "--llm-base-url", emulator.url, "--llm-model", "emu-1", "--log-dir", str(folder / "logs")]) == 0
        calls = len(emulator.requests)
    finally:
        emulator.stop()
    assert calls > 10
    fleet = Fleet(url)
    server = Server(create_app(fleet, TOKEN, report=StoreReports(fleet.store), llm=StoreLlm(fleet.store,
                                                                                             SystemClock().now)))
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            yield http
    finally:
        server.stop()


def test_llm_calls_list_the_latest_decisions_newest_first(client: httpx.Client) -> None:
    calls = client.get("/api/v1/bots/gamma/llm/calls?limit=3").json()["calls"]
    assert len(calls) == 3
    assert calls[0]["at"] > calls[1]["at"] > calls[2]["at"]
    assert calls[-1]["prompt_summary"].endswith("lines")


def test_the_first_decision_has_the_scripted_answer_and_a_full_trace(client: httpx.Client) -> None:
    calls = client.get("/api/v1/bots/gamma/llm/calls?limit=500").json()["calls"]
    first = calls[-1]
    assert first["signals"] == [{"action": "HOLD", "reason": "wait", "symbol": "BTC/USDT"}]
    assert first["tokens_in"] == 2000
    trace = client.get(f"/api/v1/bots/gamma/llm/calls/{first['call_id']}").json()
    assert trace["prompt"].startswith("You decide for a spot crypto trading bot")
    assert trace["trace_id"] == first["call_id"]


def test_status_carries_llm_budget(client: httpx.Client) -> None:
    budget = client.get("/api/v1/bots/gamma/status").json()["llm_budget"]
    assert budget["state"] == "ok"
    assert budget["budget"] == "10"
    assert budget["calls"] > 10
    assert budget["cost"] == "0"  # no rates set: the calls were free
