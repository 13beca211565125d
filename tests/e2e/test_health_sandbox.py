"""The health manager against the emulator through the real ccxt adapter: a 429 with Retry-After suspends
venue calls for that long; a dropped connection leads to a reconnect."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from trader_adapters.ccxt import CcxtExchange
from trader_adapters.clock import SystemClock
from trader_adapters.memory import InMemoryStore
from trader_adapters.sleep import SystemSleeper
from trader_adapters.telemetry import RecordingTelemetry
from trader_app.bootstrap import build_services
from trader_app.orchestrator import StrategyOrchestrator
from trader_core.model import BotId, RunId, RunRecord, Signal, Symbol, Timeframe
from trader_core.model.events import ExchangeReconnected, VenueCallsResumed, VenueCallsSuspended
from trader_core.model.health import CircuitName, HealthPolicy
from trader_core.ports import DecisionContext
from trader_core.trading import ActionPolicy
from trader_sandbox import Sandbox
from trader_sandbox.testing import running_sandbox

pytestmark = pytest.mark.slow

BTC = Symbol.parse("BTC/USDT")


class _Holds:
    async def decide(self, context: DecisionContext) -> tuple[Signal, ...]:
        return ()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox(symbols=("BTCUSDT",), history=50) as sb:
        yield sb


async def _loop(sandbox: Sandbox) -> tuple[StrategyOrchestrator, CcxtExchange, RecordingTelemetry]:
    clock = SystemClock()
    exchange = CcxtExchange.create("binance", clock=clock, api_key=sandbox.api_key, secret=sandbox.secret,
                                   base_url=sandbox.url, options={"enableRateLimit": False, "timeout": 5000})
    telemetry = RecordingTelemetry()
    store = InMemoryStore(BotId("health-e2e"))
    run = RunRecord(run_id=RunId("e2e"), mode="sandbox", started_at=clock.now())
    services = build_services(
        store=store, market=exchange, trading=exchange, clock=clock, telemetry=telemetry, strategy=_Holds(),
        run=run, symbols=(BTC,), timeframe=Timeframe("1m"), rules={BTC: await exchange.fetch_instrument(BTC)},
        policy=ActionPolicy(stake=Decimal(100)), prefix="tc-e2e", health=HealthPolicy(),
    )
    orchestrator = StrategyOrchestrator(services=services, store=store, clock=clock, telemetry=telemetry,
                                        sleeper=SystemSleeper(), run=run, interval=timedelta(seconds=1),
                                        balance=Decimal(10000))
    await orchestrator.start()
    return orchestrator, exchange, telemetry


def test_a_429_with_retry_after_suspends_venue_calls_for_that_long(sandbox: Sandbox) -> None:
    async def scenario() -> None:
        orchestrator, exchange, telemetry = await _loop(sandbox)
        try:
            await orchestrator.tick()
            sandbox.inject("/api/v3/klines", status=429, code=-1003, msg="Too much request weight used.",
                           headers={"Retry-After": "2"})
            await orchestrator.tick()
            (suspended,) = telemetry.of_type(VenueCallsSuspended)
            wait = suspended.until - suspended.at  # type: ignore[attr-defined]
            assert timedelta(seconds=2) <= wait < timedelta(seconds=3)
            health = orchestrator.services.health
            assert health.circuit(CircuitName.EXCHANGE).health.value == "ok", "a rate limit is no failure"
            sandbox.clear_requests()
            await orchestrator.tick()
            assert sandbox.requests() == [], "no venue call while suspended"
            await asyncio.sleep(2.1)
            await orchestrator.tick()
            assert telemetry.of_type(VenueCallsResumed)
            assert any(r["path"] == "/api/v3/klines" for r in sandbox.requests())
        finally:
            await exchange.close()

    asyncio.run(scenario())


def test_a_dropped_connection_leads_to_a_reconnect(sandbox: Sandbox) -> None:
    async def scenario() -> None:
        orchestrator, exchange, telemetry = await _loop(sandbox)
        try:
            await orchestrator.tick()
            sandbox.inject("/api/v3/klines", drop=True, times=2)  # aiohttp re-sends a dropped keep-alive once
            await orchestrator.tick()
            seen = ("VenueReadRetried", "CircuitDegraded", "TickFailed")
            assert [e.name for e in telemetry.events if e.name in seen] == ["VenueReadRetried"], \
                "the read was retried once and answered: the tick went on, no circuit failure"
            sandbox.inject("/api/v3/klines", drop=True, times=4)  # the retry's connection drops too
            await orchestrator.tick()
            assert [e.name for e in telemetry.events if e.name in seen] == [
                "VenueReadRetried", "CircuitDegraded", "TickFailed"]
            assert telemetry.of_type(ExchangeReconnected)
            sandbox.clear_requests()
            await orchestrator.tick()
            assert any(r["path"] == "/api/v3/klines" and r["status"] == 200 for r in sandbox.requests())
            assert orchestrator.services.health.circuit(CircuitName.EXCHANGE).health.value == "ok"
        finally:
            await exchange.close()

    asyncio.run(scenario())
