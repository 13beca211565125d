"""StrategyOrchestrator: lifecycle and the loop. It holds no business rules: each tick calls services."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

import attrs

from trader_app.summary import EquityCurve, RunSummary, equity, summarize
from trader_core.domain.book import TradingBook
from trader_core.domain.market_data import MarketDataService
from trader_core.domain.plan_monitor import PlanMonitor
from trader_core.domain.portfolio import PortfolioTracker
from trader_core.domain.resync import ResyncService
from trader_core.domain.trade_actions import TradeActionHandler
from trader_core.model import OrderRole, RunRecord, RunStatus
from trader_core.model.events import RunFinished, RunStarted
from trader_core.model.stats import StatsScope
from trader_core.ports import Clock, DecisionContext, SignalSource, Store, Telemetry

__all__ = ["Services", "Sleeper", "StrategyOrchestrator"]


class Sleeper(Protocol):
    """Waits for the next tick in the clock's own time."""

    async def sleep(self, duration: timedelta) -> bool:
        """Wait up to ``duration``; False when woken early."""
        ...

    def wake(self) -> None:
        """End the current sleep now."""
        ...


@attrs.frozen(kw_only=True)
class Services:
    """The domain services one bot runs with (built by ``bootstrap``)."""

    market: MarketDataService
    resync: ResyncService
    monitor: PlanMonitor
    actions: TradeActionHandler
    tracker: PortfolioTracker
    book: TradingBook
    strategy: SignalSource


@attrs.define
class StrategyOrchestrator:
    """Start, loop, clean up. One tick: market view, sync, protection, strategy, actions, equity mark.

    ``until`` ends a replay at the last candle; a live loop ends on a stop request.
    """

    services: Services
    store: Store
    clock: Clock
    telemetry: Telemetry
    sleeper: Sleeper
    run: RunRecord
    interval: timedelta
    balance: Decimal
    until: datetime | None = None
    on_tick: Callable[[int], None] | None = None
    cancel_on_stop: bool = False
    ticks: int = attrs.field(default=0, init=False)
    candles: int = attrs.field(default=0, init=False)
    curve: EquityCurve = attrs.field(factory=EquityCurve, init=False)
    stop_reason: str | None = attrs.field(default=None, init=False)

    def request_stop(self, reason: str) -> None:
        """Ask the loop to end after the current tick; the first reason wins."""
        if self.stop_reason is None:
            self.stop_reason = reason
        self.sleeper.wake()

    async def run_until_stopped(self, elapsed: Callable[[], Decimal]) -> RunSummary:
        """The whole lifecycle; cleanup runs whatever ended the loop."""
        await self.start()
        status = RunStatus.FAILED
        try:
            while self.stop_reason is None:
                if self.until is not None and self.clock.now() > self.until:
                    self.request_stop("end of data")
                    break
                await self.tick()
                if self.stop_reason is None:
                    await self.sleeper.sleep(self.interval)
            if self.cancel_on_stop:
                await self.cancel_working_orders()
            status = RunStatus.FINISHED
        finally:
            summary = self.finish(status, elapsed())
        return summary

    async def start(self) -> None:
        """Record the run and load the bot's state."""
        services = self.services
        with self.store.unit_of_work() as uow:
            uow.runs.add(self.run)
            # Each run sees only its own orders and plans: a replay never inherits an earlier run's.
            services.book.load(uow.orders.list_active(self.run.run_id), uow.plans.list_active(self.run.run_id))
            uow.commit()
        # The ledger: a replay is its own scope, a live/paper bot's is bot-wide; the cached ledger is used
        # when it covers every stored fill, else it is rebuilt from the fills (its own unit of work).
        services.tracker.start(StatsScope.for_mode(self.run.mode, self.run.run_id))
        self.telemetry.emit(
            RunStarted(at=self.clock.now(), run_id=self.run.run_id.value, mode=self.run.mode,
                       symbols=tuple(str(s) for s in services.market.symbols))
        )

    async def tick(self) -> None:
        """One pass of the loop."""
        s = self.services
        view = await s.market.refresh()
        self.candles += sum(len(candles) for _, candles in view.candles)
        await s.resync.sync()
        await s.monitor.protect(view.last_prices)
        context = DecisionContext(
            now=view.now, candles=view.candles,
            positions=tuple((h.symbol, h.quantity) for h in s.tracker.holdings()),
            plans=s.book.plans(), may_enter=frozenset(view.last_prices),
        )
        for signal in await s.strategy.decide(context):
            await s.actions.handle(signal, view)
        self.curve.mark(equity(self.balance, s.tracker, view.last_prices))
        self.ticks += 1
        if self.on_tick is not None:
            self.on_tick(self.ticks)

    async def cancel_working_orders(self) -> None:
        """The default exit policy: cancel the bot's entries and exits still working at the venue.

        Protective stops and targets held by the venue stay: they guard positions while the bot is down.
        """
        book = self.services.book
        working = [o for o in book.orders() if o.role in (OrderRole.ENTRY, OrderRole.EXIT)]
        if working:
            await self.services.resync.executor.cancel_all(working)

    def finish(self, status: RunStatus, elapsed_s: Decimal) -> RunSummary:
        """Write the summary into the run record and emit the final event."""
        s = self.services
        reason = self.stop_reason or "failed"
        with self.store.unit_of_work() as uow:
            plans = uow.plans.list_for_run(self.run.run_id)
        summary = summarize(
            run_id=self.run.run_id.value, candles=self.candles, tracker=s.tracker, plans=plans,
            balance=self.balance, prices=s.market.last_prices(),
            first_opens={sym: p for sym in s.market.symbols if (p := s.market.first_open(sym)) is not None},
            curve=self.curve, stop_reason=reason, elapsed_s=elapsed_s,
        )
        finished = attrs.evolve(self.run, status=status, finished_at=self.clock.now(),
                                summary_json=json.dumps(summary.as_dict(), sort_keys=True))
        with self.store.unit_of_work() as uow:
            uow.runs.update(finished)
            uow.commit()
        self.telemetry.emit(RunFinished(at=self.clock.now(), run_id=self.run.run_id.value, reason=reason))
        return summary
