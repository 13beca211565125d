"""StrategyOrchestrator: lifecycle and the loop. It holds no business rules: each tick calls services."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

import attrs

from trader_app.loop_ports import CommandQueue, Sleeper
from trader_app.loop_status import STATUS_KEY, LoopStatus, capture_loop_status, protection_form, seconds
from trader_app.summary import EquityCurve, RunSummary, equity, summarize
from trader_core.costs import LlmSpend, spend_of
from trader_core.execution import TradingBook
from trader_core.health import ExchangeHealthManager
from trader_core.market_data import MarketDataService, MarketView
from trader_core.model import (
    Action,
    AuthenticationError,
    ExchangeError,
    InvariantViolationError,
    OrderRole,
    Plan,
    RunRecord,
    RunStatus,
    Signal,
    Symbol,
    TraderError,
)
from trader_core.model.events import LoopLagged, RunFinished, RunStarted, TickFailed
from trader_core.model.stats import StatsScope
from trader_core.plans import PlanMonitor
from trader_core.portfolio import BalanceCheck, PortfolioTracker
from trader_core.ports import Clock, DecisionContext, SignalSource, Store, Telemetry
from trader_core.resync import ReconciliationReport, ResyncService, StartupReconciler
from trader_core.risk import RiskManager
from trader_core.trading import ORDERS_SENT, PROTECTION_MAY_BE_DOWN, TradeActionHandler

__all__ = ["EXIT_POLICIES", "CommandQueue", "Services", "Sleeper", "StrategyOrchestrator"]

_T = TypeVar("_T")

EXIT_POLICIES = ("leave", "cancel", "flatten")  # what a stop does with the bot's orders and positions


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
    health: ExchangeHealthManager
    reconciler: StartupReconciler | None = None  # start-up reconciliation (not for replays)
    risk: RiskManager | None = None  # entry and loss limits (docs/risk.md)


_MAX_BACKOFF = timedelta(minutes=5)
# How many of its latest stored orders a live or sandbox bot hands its venue adapter at start-up (OrderIdMemory):
# the ones whose fills the first sync may meet (those after the fill cursor), with room to spare.
RECALLED_ORDERS = 500


@attrs.define
class StrategyOrchestrator:
    """Start, loop, clean up. One tick: market view, sync, protection, strategy, actions, equity mark.

    The health manager is asked before each step: while the venue is rate-limited only protection goes
    out; while HALTED no orders do; entries need ACTIVE trading and fresh data. Every venue failure
    reaches it through the monitored ports; a tick that raises is reported (it is not clean), emits
    ``TickFailed``, and the loop backs off (the interval doubled per failed tick in a row, up to 5 min).
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
    exit_policy: str = "leave"  # on stop: leave | cancel (the bot's working orders) | flatten (its positions)
    commands: CommandQueue | None = None  # the operator's queue (none in a replay)
    command_poll: timedelta = timedelta(seconds=2)  # while sleeping, the queue is asked this often
    balances: BalanceCheck | None = None
    accept_reconciliation: bool = False  # the operator accepts an unclean start-up reconciliation
    ticks: int = attrs.field(default=0, init=False)
    last_tick_at: datetime | None = attrs.field(default=None, init=False)  # the clock at the latest tick
    candles: int = attrs.field(default=0, init=False)
    curve: EquityCurve = attrs.field(factory=EquityCurve, init=False)
    stop_reason: str | None = attrs.field(default=None, init=False)
    failed_in_row: int = attrs.field(default=0, init=False)
    # Loop status (trader-app status, metrics): stored at most every ``status_every`` (not in replays).
    status_every: timedelta = timedelta(seconds=5)
    on_status: Callable[[LoopStatus], None] | None = None
    # The operator's clock (the machine's), which ``trader-app status`` reads the stored status by: the time
    # of the stored loop status. None: ``clock`` (they differ when the run follows a venue's clock).
    wall: Clock | None = None
    # Asked before each tick: a reason to stop at once (the bot's lease lost to another process), or None.
    guard: Callable[[], str | None] | None = None
    # Why the lease was lost, when it was: the bot is another process's now, so the loop ends with nothing more
    # sent to the venue (no exit policy, no last sync: they would act on positions the new holder runs).
    lease_lost: str | None = attrs.field(default=None, init=False)
    # Why a replay stopped short, when it did: a failed tick (a database refusing a write) leaves the simulated
    # venue ahead of the store, so the replay ends FAILED there rather than finishing with wrong results.
    replay_broken: str | None = attrs.field(default=None, init=False)
    # Why the run's record could not be read or written at its end (the database away): the summary then lacks what
    # only the store knows (round trips, LLM spend), and the run stays marked running, incomplete.
    record_failed: str | None = attrs.field(default=None, init=False)
    on_started: Callable[[], None] | None = None  # once start-up is done (the CLI freezes its heap)
    last_lag: timedelta = attrs.field(default=timedelta(0), init=False)
    _status_written: timedelta | None = attrs.field(default=None, init=False)

    def request_stop(self, reason: str) -> None:
        """Ask the loop to end after the current tick; the first reason wins."""
        if self.stop_reason is None:
            self.stop_reason = reason
        self.sleeper.wake()

    @property
    def credentials_refused(self) -> str | None:
        """Why the venue refused the bot's credentials, when it did (the loop stops on it), else None."""
        return self.services.health.credentials_refused

    async def run_until_stopped(self, elapsed: Callable[[], Decimal]) -> RunSummary:
        """The whole lifecycle; cleanup runs whatever ended the loop.

        When the venue refuses the credentials (``credentials_refused``) the loop stops after that tick and the
        run ends FAILED with no clean-up at the venue: every call would meet the same refusal, and what rests
        there (protective stops and targets included) is left as it is. When the lease is lost (``lease_lost``)
        the run ends FAILED the same way: another process runs the bot now."""
        await self.start()
        if not self._stop_if_refused():
            await self._balances("baseline")
        if self.on_started is not None:
            self.on_started()
        status = RunStatus.FAILED
        try:
            while self.stop_reason is None:
                if self.until is not None and self.clock.now() > self.until:
                    self.request_stop("end of data")
                    break
                await self.tick()
                if self.stop_reason is None:
                    await self.sleep(self.next_sleep())
            if self.credentials_refused is None and self.lease_lost is None and self.replay_broken is None:
                await self._exit()
                await self._last_sync()
                await self._balances("report")
                status = RunStatus.FINISHED
        finally:
            summary = self.finish(status, elapsed())
        return summary

    def _stop_if_refused(self) -> bool:
        """Ask the loop to stop once the venue has refused the credentials; True when it has."""
        refused = self.credentials_refused
        if refused is not None:
            self.request_stop(f"venue refused the credentials ({refused})"[:500])
        return refused is not None

    async def sleep(self, duration: timedelta) -> None:
        """Sleep until the next tick; with a command queue, in slices of ``command_poll``, asking the queue
        after each: a command (or a stop request) ends the sleep early. A venue run first lets the store tidy up
        (``Store.maintain``) here, between ticks rather than in one."""
        if self.run.mode != "replay":
            self.store.maintain()
        if self.commands is None:
            await self.sleeper.sleep(duration)
            return
        end = self.clock.monotonic() + duration
        while self.stop_reason is None:
            left = end - self.clock.monotonic()
            if left <= timedelta(0):
                return
            if not await self.sleeper.sleep(min(left, self.command_poll)) or self.commands.pending():
                return

    async def _exit(self) -> None:
        """The exit policy: ``leave`` everything, ``cancel`` the bot's working orders, or ``flatten`` its
        positions (working orders cancelled, every plan exited, the exits' fills synced). A venue failure is
        reported; the run still ends cleanly."""
        if self.exit_policy == "leave":
            return
        try:
            await self.cancel_working_orders()
            s = self.services
            if self.exit_policy == "flatten":
                await s.actions.flatten_all("exit policy: flatten", s.market.last_prices())
                await s.resync.sync()
            elif s.health.may_send_orders():
                # An exit cancelled here (a maker exit resting, its plan's bracket already taken down for it) leaves
                # the plan holding with nothing at the venue while the bot is down: its protection goes back first.
                await s.resync.sync()
                await s.monitor.protect(s.market.last_prices())
        except TraderError as exc:
            self.telemetry.emit(TickFailed(at=self.clock.now(), error=f"exit policy {self.exit_policy}: {exc}"[:500]))

    async def _last_sync(self) -> None:
        """One last sync before the summary: every fill the venue reports (an order filled while the loop
        ended, a market order answered in the stop's tick) is booked. A venue failure is reported."""
        try:
            await self.services.resync.sync()
        except TraderError as exc:
            self.telemetry.emit(TickFailed(at=self.clock.now(), error=f"last sync: {exc}"[:500]))

    async def process_commands(self) -> None:
        """The operator's pending commands (at the start of each tick); a store failure is reported."""
        if self.commands is None:
            return
        try:
            await self.commands.process(self.request_stop)
        except TraderError as exc:
            self.telemetry.emit(TickFailed(at=self.clock.now(), error=f"operator commands: {exc}"[:500]))

    async def _balances(self, step: str) -> None:
        """The balance report: a baseline of the venue's balances at start, the comparison at the end.

        A venue that cannot answer does not stop the run or its clean-up: the failure is reported."""
        if self.balances is None:
            return
        try:
            if step == "baseline":
                await self.balances.baseline()
                tracker, symbols = self.services.tracker, self.services.market.symbols
                if symbols:  # the loss limits' capital (balance + realized PnL) against what the account holds
                    self.balances.check_capital(self.balance + tracker.net_realized, symbols[0].quote,
                                                tracker.holdings())
            else:
                tracker = self.services.tracker
                await self.balances.report(tracker.holdings, tracker.flows, sync=self._last_sync)
        except ExchangeError as exc:
            self.telemetry.emit(TickFailed(at=self.clock.now(), error=f"balance {step}: {exc}"))

    async def start(self) -> None:
        """Record the run and load the bot's state."""
        services = self.services
        with self.store.unit_of_work() as uow:
            uow.runs.add(self.run)
            # A replay or paper run sees only its own orders and plans (its venue lives one run); a live or
            # sandbox bot resumes every active order and plan of the bot, whichever run made it.
            scope = self.run.run_id if self.run.mode in ("replay", "paper") else None
            orders, plans = uow.orders.list_active(scope), uow.plans.list_active(scope)
            if scope is None:
                # Never a simulation's: a replay or paper run of the same bot in the same database leaves its
                # plans open, and a live bot resuming one sold coins the simulation had only pretended to buy.
                run_ids = {o.run_id for o in orders} | {p.run_id for p in plans}
                found = (uow.runs.find(run_id) for run_id in run_ids)
                simulated = {run.run_id for run in found if run is not None and run.mode in ("replay", "paper")}
                orders = tuple(o for o in orders if o.run_id not in simulated)
                plans = tuple(p for p in plans if p.run_id not in simulated)
            services.book.load(orders, plans)
            # The venue adapter learns which of the venue's orders are the bot's: no lookup for their fills.
            recent = uow.orders.list_recent(RECALLED_ORDERS) if scope is None else ()
            uow.commit()
        services.resync.recall((*services.book.orders(), *recent))
        # A pause or halt stored by an earlier run and still in force applies from the first tick.
        services.health.load()
        # The ledger: a replay is its own scope, a live/paper bot's is bot-wide; the cached ledger is used
        # when it covers every stored fill, else it is rebuilt from the fills (its own unit of work).
        services.tracker.start(StatsScope.for_mode(self.run.mode, self.run.run_id))
        if services.reconciler is not None and scope is None:
            # The gate: the venue's view against the stored one before the first tick (replays start clean).
            await services.reconciler.reconcile(accept=self.accept_reconciliation)
        self.telemetry.emit(
            RunStarted(at=self.clock.now(), run_id=self.run.run_id.value, mode=self.run.mode,
                       symbols=tuple(str(s) for s in services.market.symbols))
        )

    def next_sleep(self) -> timedelta:
        """The interval, doubled for each failed tick in a row (at most 5 minutes, or the interval)."""
        if not self.failed_in_row:
            return self.interval
        backoff: timedelta = self.interval * 2 ** (self.failed_in_row - 1)
        return min(backoff, max(self.interval, _MAX_BACKOFF))

    async def tick(self) -> None:
        """One pass of the loop; its health is reported to the manager whatever happens."""
        if self.guard is not None and (reason := self.guard()) is not None:
            self.lease_lost = reason
            self.request_stop(reason)
            return
        await self.process_commands()
        if self.stop_reason is not None:
            return  # a stop command: no more trading, the loop ends
        health = self.services.health
        health.begin_tick()
        self.last_tick_at = self.clock.now()
        began = self.clock.monotonic()
        completed = False
        try:
            await self._tick()
            completed = True
        except TraderError as exc:
            # The one top-level handler: a venue failure has reached its circuit through the monitored
            # ports already; an invariant breach halts trading; the loop backs off and carries on.
            if isinstance(exc, InvariantViolationError):
                health.halt(f"invariant breach: {exc}"[:500], "invariant")
            self.failed_in_row += 1
            if not (isinstance(exc, AuthenticationError) and health.credentials_refused is not None):
                # (a refusal of the credentials has its own event, VenueAuthenticationFailed, and ends the loop)
                self.telemetry.emit(TickFailed(at=self.clock.now(), error=f"{type(exc).__name__}: {exc}"[:500]))
            if self.run.mode == "replay":
                # Nothing in a replay fails and comes right at the next tick (its venue is simulated): what the
                # tick could not store is lost for good, and every later result would build on the gap.
                self.replay_broken = (f"the replay stopped at {self.clock.now().isoformat()}: "
                                      f"{type(exc).__name__}: {exc}")[:500]
                self.request_stop(self.replay_broken)
        else:
            self.failed_in_row = 0
        await health.end_tick(completed=completed)
        self._stop_if_refused()
        self.ticks += 1
        self._observe_loop(self.clock.monotonic() - began)
        if self.on_tick is not None:
            self.on_tick(self.ticks)

    def _observe_loop(self, duration: timedelta) -> None:
        """Report a tick that overran the interval (``LoopLagged``); store the loop status (not in replays)."""
        lag = max(duration - self.interval, timedelta(0))
        self.last_lag = lag
        now = self.clock.now()
        if lag:
            self.telemetry.emit(LoopLagged(at=now, lag_s=str(seconds(lag)), duration_s=str(seconds(duration)),
                                           interval_s=str(seconds(self.interval))))
        if self.run.mode == "replay":
            return
        mono = self.clock.monotonic()
        if not lag and self._status_written is not None and mono - self._status_written < self.status_every:
            return
        self._status_written = mono
        s = self.services
        trading = s.resync.executor.trading
        at = now if self.wall is None else self.wall.now()
        status = capture_loop_status(at=at, ticks=self.ticks, duration=duration, lag=lag, interval=self.interval,
                                     health=s.health, tracker=s.tracker, prices=s.market.last_prices(),
                                     symbols=s.market.active_symbols(),
                                     protection=protection_form(holds_exits=trading.holds_protective_exits,
                                                                holds_stops=trading.holds_protective_stops))
        try:
            with self.store.unit_of_work() as uow:
                uow.values.put(STATUS_KEY, status.to_json())
                uow.commit()
        except TraderError as exc:
            self.telemetry.emit(TickFailed(at=now, error=f"status write: {exc}"[:500]))
        if self.on_status is not None:
            self.on_status(status)

    async def _refresh_and_sync(self) -> tuple[MarketView, frozenset[Symbol]]:
        """The tick's steps before protection: market data (and its verdict), OHLCV capture, the sync, makers."""
        s, health = self.services, self.services.health
        started = self.clock.monotonic()
        view = await s.market.refresh()
        fresh = health.assess_market(view.candles, s.market.timeframe, self.clock.monotonic() - started)
        self.candles += sum(len(candles) for _, candles in view.candles)
        if not health.venue_suspended():
            await s.market.capture()  # OHLCV capture, when configured and due (never in a replay)
        if not health.venue_suspended():
            await s.resync.sync()
            if s.reconciler is not None:
                await s.reconciler.review()
        if health.may_send_orders() and not health.venue_suspended():
            await s.actions.chase_makers(view.last_prices)  # maker orders past their timeout: marketable
        return view, fresh

    async def _protecting(self, step: Awaitable[_T]) -> _T:
        """``step``; when it fails (not an invariant breach), the protective step still runs on the last prices
        before the error goes on: a plan must not wait for a tick that meets no fault, even when the failure was
        a rate limit (protection is what still goes out while the venue asks us to hold off). Protection's own
        failure is swallowed: the tick reports the first error."""
        try:
            return await step
        except TraderError as exc:
            if not isinstance(exc, InvariantViolationError) and self.services.health.may_send_orders():
                with contextlib.suppress(TraderError):
                    await self.services.monitor.protect(self.services.market.last_prices())
            raise

    async def _tick(self) -> None:
        s = self.services
        health = s.health
        if health.venue_suspended():
            # Rate-limited or banned: only what protects positions goes to the venue.
            if health.may_send_orders():
                await s.monitor.protect(s.market.last_prices())
            self.curve.mark(equity(self.balance, s.tracker, s.market.last_prices()))
            return
        view, fresh = await self._protecting(self._refresh_and_sync())
        if health.may_send_orders():
            await s.monitor.protect(view.last_prices)
        if health.may_send_orders() and not health.venue_suspended():
            # A stop that arrived while the strategy decided: no new entry after it.
            outcomes = [await s.actions.handle(signal, view) for signal in await self._decide(view, fresh)
                        if self.stop_reason is None or signal.action is not Action.BUY]
            sent = any(o.status in ORDERS_SENT for o in outcomes)
            if sent and not health.venue_suspended():
                # Fills the venue gave in its answer are booked first, then those the fill query finds; the
                # new position is protected now, even when that query fails.
                await self._protecting(s.resync.sync())
            if (sent or any(o.status in PROTECTION_MAY_BE_DOWN for o in outcomes)) and health.may_send_orders():
                # So is a plan whose exit withdrew its protection and then lost its answer (protected beside the
                # exit, when only one of the two can rest) or was refused. No sync for that: an order in doubt is
                # looked up at the tick's pace (each "not found" counts towards proving it absent).
                await s.monitor.protect(view.last_prices, again=True)
        self.curve.mark(equity(self.balance, s.tracker, view.last_prices))
        await self._watch_losses(view.last_prices)

    async def _watch_losses(self, prices: Mapping[Symbol, Decimal]) -> None:
        """Loss limits on the bot's own equity (a breach: REDUCING, and the bot's entries still working at the
        venue cancelled: a resting entry filling after the breach would be new risk); ``loss_policy = flatten``
        also exits every plan, once, through the action handler (unless HALTED)."""
        risk = self.services.risk
        if risk is None or not prices:
            return
        breach = risk.observe(prices)
        if breach is not None and self.services.health.may_send_orders():
            entries = [o for o in self.services.book.orders() if o.role is OrderRole.ENTRY and not o.in_doubt]
            if entries:
                await self.services.resync.executor.cancel_all(entries)
        if risk.flatten_due() and self.services.health.may_send_orders():
            await self.services.actions.flatten_all("loss limit breached", prices)

    async def _decide(self, view: MarketView, fresh: frozenset[Symbol]) -> tuple[Signal, ...]:
        """The strategy's signals; a failure counts against the tool circuit and yields none."""
        s = self.services
        context = DecisionContext(
            now=view.now, candles=view.candles, quotes=view.quotes,
            positions=tuple((h.symbol, h.quantity) for h in s.tracker.holdings()),
            plans=s.book.plans(), may_enter=s.health.entry_symbols(view.may_enter(fresh)),
            rules=tuple(s.actions.rules.items()),
        )
        try:
            return await s.strategy.decide(context)
        except TraderError as exc:
            s.health.report_tool_failure("strategy.decide", exc)
            return ()

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
        plans: Sequence[Plan] = ()
        llm: LlmSpend | None = None
        try:
            with self.store.unit_of_work() as uow:
                plans = uow.plans.list_for_run(self.run.run_id)
                llm = spend_of(uow.llm_calls.list_calls(self.run.run_id))
        except TraderError as exc:  # the summary from memory: no round trip or LLM call counted
            self.record_failed = (f"the run's record could not be read ({str(exc)[:300]}): the summary above counts no "
                                  "round trip or LLM call the database holds")
            self.telemetry.emit(TickFailed(at=self.clock.now(), error=f"run record: {exc}"[:500]))
        summary = summarize(
            run_id=self.run.run_id.value, candles=self.candles, tracker=s.tracker, plans=plans,
            balance=self.balance, prices=s.market.last_prices(),
            first_prices={sym: p for sym in s.market.symbols if (p := s.market.first_price(sym)) is not None},
            curve=self.curve, stop_reason=reason, elapsed_s=elapsed_s, health=s.health.snapshot(),
            llm=llm, reconciliation=_reconciliation_line(s.reconciler.report if s.reconciler is not None else None),
        )
        # The record keeps the last prices and their time beside the summary: `status` marks a finished replay's
        # open positions at them (a replay stores no loop status; its prices are in its candle file).
        stored = {**summary.as_dict(),
                  "last_prices": {str(sym): str(price) for sym, price in sorted(s.market.last_prices().items())},
                  "prices_at": None if self.last_tick_at is None else self.last_tick_at.isoformat()}
        finished = attrs.evolve(self.run, status=status, finished_at=self.clock.now(),
                                summary_json=json.dumps(stored, sort_keys=True))
        try:
            with self.store.unit_of_work() as uow:
                uow.runs.update(finished)
                uow.commit()
        except TraderError as exc:  # the run stays RUNNING in the store: incomplete, never a finished look
            self.record_failed = self.record_failed or f"the run's record could not be written ({str(exc)[:300]})"
            self.telemetry.emit(TickFailed(at=self.clock.now(), error=f"run record: {exc}"[:500]))
            if self.replay_broken is None and self.run.mode == "replay":
                self.replay_broken = f"the replay's record could not be written: {exc}"[:500]
        self.telemetry.emit(RunFinished(at=self.clock.now(), run_id=self.run.run_id.value, reason=reason))
        return summary


def _reconciliation_line(report: ReconciliationReport | None) -> str | None:
    """The start-up reconciliation as one summary line (None when the run had none: replay and paper)."""
    if report is None:
        return None
    counts = (f"adopted {len(report.adopted)}, closed while away {len(report.closed_while_away)}, "
              f"absent {len(report.absent)}, foreign ignored {report.foreign}, fills booked {report.fills_booked}")
    return f"clean ({counts})" if report.clean else f"not clean: {report.problems()} ({counts})"
