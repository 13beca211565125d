"""A bot wired on fakes with every guard on: sizing, risk and loss limits, plan rules (shared by the
action, risk-manager and plan-monitor tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from trader_adapters.clock import SimulatedClock
from trader_adapters.memory import InMemoryStore
from trader_adapters.memory.exchange import FakeExchange
from trader_adapters.paper.instruments import default_rules
from trader_adapters.telemetry import RecordingTelemetry
from trader_app.bootstrap import RiskLimits, build_services
from trader_app.orchestrator import Services
from trader_core.execution import MakerPreference, SizingPolicy
from trader_core.market_data import MarketView
from trader_core.model import Action, Asset, BotId, Plan, RunId, RunRecord, Signal, Symbol, Timeframe
from trader_core.plans import PlanPolicy
from trader_core.risk import LossLimitPolicy, RiskPolicy
from trader_core.trading import ActionOutcome, ActionPolicy

BTC = Symbol.parse("BTC/USDT")
ETH = Symbol.parse("ETH/USDT")
USDT = Asset("USDT")
T0 = datetime(2025, 1, 1, tzinfo=UTC)
T = TypeVar("T")
OFF = PlanPolicy(trail_to_breakeven=None, max_age=None, overnight_widen=False)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


class Awake:
    """A sleeper that never sleeps (tests drive the loop's ticks and its end themselves)."""

    async def sleep(self, duration: timedelta) -> bool:
        return True

    def wake(self) -> None:
        return None


class NoStrategy:
    async def decide(self, context: object) -> tuple[Signal, ...]:
        return ()


@attrs.define
class Bot:
    services: Services
    venue: FakeExchange
    store: InMemoryStore
    clock: SimulatedClock
    telemetry: RecordingTelemetry

    def view(self) -> MarketView:
        quotes = self.venue._quotes  # the test reads what it set, without a venue call
        prices = {s: quotes[s].last for s in (BTC, ETH) if s in quotes}
        return MarketView(now=self.clock.now(), candles=(), last_prices=prices)

    def act(self, action: Action, symbol: Symbol = BTC, **fields: Any) -> ActionOutcome:
        return run(self.services.actions.handle(Signal(action=action, symbol=symbol, **fields), self.view()))

    def buy(self, symbol: Symbol = BTC, **fields: Any) -> str:
        fields.setdefault("stop_pct", Decimal(2))
        fields.setdefault("target_pct", Decimal(3))
        return self.act(Action.BUY, symbol, **fields).status.value

    def tick(self, minutes: int = 1) -> None:
        """What the loop does: sync, maker orders past their timeout, protection and plan rules, then the
        loss-limit watch."""
        self.clock.advance(timedelta(minutes=minutes))
        run(self.services.resync.sync())
        prices = self.view().last_prices
        run(self.services.actions.chase_makers(prices))
        run(self.services.monitor.protect(prices))
        if self.services.risk is not None:
            self.services.risk.observe(prices)

    def plan(self) -> Plan:
        (plan,) = self.services.book.plans(BTC)
        return plan

    def placed(self) -> list[tuple[Any, ...]]:
        return [c for c in self.venue.calls if c[0] in ("place_order", "place_exit_bracket")]


def make_bot(
    *, store: InMemoryStore | None = None, clock: SimulatedClock | None = None, venue: FakeExchange | None = None,
    plans: PlanPolicy = OFF, risk: RiskPolicy | None = None, losses: LossLimitPolicy | None = None,
    max_plans_per_symbol: int = 1, sizing: SizingPolicy | None = None, run_id: str = "r1",
    holds_exits: bool = True, maker: MakerPreference | None = None, maker_timeout: timedelta = timedelta(seconds=60),
    allocation: Decimal = Decimal(10000),
) -> Bot:
    clock = clock or SimulatedClock(T0)
    if venue is None:
        venue = FakeExchange(clock=clock, balances={USDT: Decimal(100000)}, holds_protective_exits=holds_exits)
        venue.set_price(BTC, Decimal(50000))
        venue.set_price(ETH, Decimal(2000))
    store = store or InMemoryStore(BotId("test"))
    telemetry = RecordingTelemetry()
    record = RunRecord(run_id=RunId(run_id), mode="test", started_at=clock.now())
    with store.unit_of_work() as uow:
        uow.runs.add(record)
        uow.commit()
    services = build_services(
        store=store, market=venue, trading=venue, clock=clock, telemetry=telemetry, strategy=NoStrategy(),
        run=record, symbols=(BTC, ETH), timeframe=Timeframe("1m"),
        rules={BTC: default_rules(BTC), ETH: default_rules(ETH)},
        policy=ActionPolicy(stake=Decimal(1000), max_plans_per_symbol=max_plans_per_symbol,
                            sizing=sizing or SizingPolicy(), plans=plans, maker=maker, maker_timeout=maker_timeout),
        prefix=f"tc-{run_id}", plans=plans,
        risk=RiskLimits(entries=risk or RiskPolicy(), losses=losses or LossLimitPolicy(),
                        allocation=allocation),
    )
    return Bot(services, venue, store, clock, telemetry)
