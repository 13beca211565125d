"""The composition root: the only place that builds adapters and wires services (a run against a venue is
wired in ``venue_run.py`` from the same parts)."""

from __future__ import annotations

import decimal
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from decimal import Decimal

import attrs

from trader_app.orchestrator import Services, Sleeper, StrategyOrchestrator
from trader_app.settings import Settings
from trader_core.execution import (
    INCARNATION_KEY,
    MakerPreference,
    OrderExecutor,
    SizingPolicy,
    TradingBook,
    new_incarnation,
    parse_maker_overrides,
)
from trader_core.health import ExchangeHealthManager, MonitoredMarketData, MonitoredTrading
from trader_core.market_data import CapturePolicy, MarketDataPolicy, MarketDataService, OhlcvCapture
from trader_core.model import (
    Asset,
    Candle,
    ConfigError,
    InstrumentRules,
    RunId,
    RunRecord,
    Symbol,
    Timeframe,
)
from trader_core.model.health import CircuitPolicy, HealthPolicy
from trader_core.plans import PlanMonitor, PlanPolicy
from trader_core.portfolio import BalanceCheck, LedgerPolicy, PortfolioTracker, QuoteFeeRates
from trader_core.ports import (
    Clock,
    ExecutionReports,
    MarketData,
    OrderIdMemory,
    Reconnectable,
    SignalSource,
    Store,
    Telemetry,
    Trading,
)
from trader_core.resync import ResyncService, StartupReconciler
from trader_core.risk import LossLimitPolicy, RiskManager, RiskPolicy
from trader_core.trading import ActionPolicy, TradeActionHandler

__all__ = [
    "Replay",
    "RiskLimits",
    "action_policy",
    "build_replay",
    "build_services",
    "capture_policy",
    "client_order_prefix",
    "dry_run",
    "enable_decimal_traps",
    "health_policy",
    "load_series",
    "market_data_policy",
    "new_run",
    "plan_policy",
    "risk_limits",
]


def enable_decimal_traps() -> None:
    """Make any float that meets a Decimal an error (FloatOperation), so float money fails loudly."""
    decimal.getcontext().traps[decimal.FloatOperation] = True


# A replay trades on a paper venue of its own (``paper-<run id>``), so its ids need no incarnation; a fixed prefix
# keeps the same inputs replaying to the same events, ids included.
REPLAY_PREFIX = "tcreplay"


def client_order_prefix(store: Store) -> str:
    """The prefix of the bot's client order ids (``trader_core.execution.client_ids``): ``tc`` and the bot's
    incarnation tag, drawn once per bot and database and stored with it. A bot that already ran in this database
    before tags existed keeps its legacy prefix ``tc-{bot}``, so its stored orders stay recognisably its own."""
    with store.unit_of_work() as uow:
        tag = uow.values.find(INCARNATION_KEY)
        if tag is None:
            tag = "" if uow.runs.find_latest() is not None else new_incarnation()
            uow.values.put(INCARNATION_KEY, tag)
            uow.commit()
    return f"tc{tag}" if tag else "tc-" + store.bot_id.value.replace("_", ".")[:16]


def new_run(mode: str, config: Mapping[str, str], clock: Clock) -> RunRecord:
    """A fresh run record (its id is random: runs of one bot must never collide)."""
    return RunRecord(run_id=RunId(uuid.uuid4().hex[:12]), mode=mode, started_at=clock.now(),
                     config_json=json.dumps(dict(config), sort_keys=True))


def load_series(settings: Settings) -> dict[Symbol, Sequence[Candle]]:
    """The candles a replay runs on: the CSV file, or the seeded synthetic feed."""
    from trader_adapters.feeds.csv_feed import load_candle_rows
    from trader_adapters.feeds.synthetic import candles_per_days, generate_candles

    if settings.data is not None:
        symbol = settings.symbols[0]  # exactly one with --data (settings/validation.py)
        from trader_adapters.clock import SystemClock

        # A row dated after the present is bad input (exit 2 naming the line), never a walk through
        # decades of empty minutes.
        now = SystemClock().now()
        return {symbol: load_candle_rows(settings.data, symbol, settings.timeframe, now=now)}
    timeframe = settings.timeframe or Timeframe("1m")
    count = candles_per_days(timeframe, settings.days)
    if count < 1:
        needed = -(-timeframe.duration // timedelta(days=1))  # whole days, rounded up
        raise ConfigError(f"the synthetic feed of {settings.days} day(s) is shorter than one {timeframe.text} candle: "
                          f"give days of at least {needed} or a shorter timeframe")
    return {
        symbol: generate_candles(symbol, timeframe, settings.start, count, settings.seed)
        for symbol in settings.symbols
    }


def build_services(
    *,
    store: Store,
    market: MarketData,
    trading: Trading,
    clock: Clock,
    telemetry: Telemetry,
    strategy: SignalSource,
    run: RunRecord,
    symbols: tuple[Symbol, ...],
    timeframe: Timeframe,
    rules: Mapping[Symbol, InstrumentRules],
    policy: ActionPolicy,
    prefix: str,
    health: HealthPolicy | None = None,
    reconnector: Reconnectable | None = None,
    ledger: LedgerPolicy | None = None,
    fee_rate: Decimal | None = None,
    market_data: MarketDataPolicy | None = None,
    capture: CapturePolicy | None = None,
    risk: RiskLimits | None = None,
    plans: PlanPolicy | None = None,
) -> Services:
    """Wire the domain services for one bot run. Tests call this with fakes.

    Every service sees the venue through ports that report each failure to the health manager.
    ``reconnector`` rebuilds the venue connection after failures (default: the trading or market port
    itself, when it can). A replay's trading state is not persisted (its runs are independent).
    ``risk`` None leaves the entry and loss limits off; ``plans`` None leaves the plan rules (trail, age,
    day-end, widening) off: tests of the plain order path pass neither.
    """
    if reconnector is None:
        reconnector = next((p for p in (trading, market) if isinstance(p, Reconnectable)), None)
    manager = ExchangeHealthManager(store, clock, telemetry, health or HealthPolicy(), reconnector,
                                    durable=run.mode != "replay")
    market = MonitoredMarketData(manager, market)
    venue, trading = trading, MonitoredTrading(manager, trading)
    book = TradingBook()
    # Third-asset fees (e.g. BNB) are valued at the market's last BNB/quote price when booked.
    tracker = PortfolioTracker(store, clock, telemetry, rates=QuoteFeeRates(market), policy=ledger or LedgerPolicy())
    # ``fee_rate`` (the expected share of notional) gives each order an estimated fee to reconcile with.
    executor = OrderExecutor(store, trading, book, clock, telemetry, run.run_id, prefix, fee_rate=fee_rate)
    monitor = PlanMonitor(executor, rules, plans or PlanPolicy(trail_to_breakeven=None, max_age=None,
                                                               overnight_widen=False), health=manager)
    risk_manager = None if risk is None else RiskManager(
        store, clock, tracker, book, manager, risk.entries, risk.losses, allocation=risk.allocation,
        loss_policy=risk.loss_policy, durable=run.mode != "replay", rules=rules)
    if risk_manager is not None:
        monitor.loss_cap = risk_manager.trade_loss_cap  # an overnight widening stops at the per-trade loss cap
        monitor.loss_fee_rate = risk_manager.policy.trade_fee_rate
    # Fill cursors are persisted for venues that outlive a run (not a replay's or paper run's own venue).
    resync = ResyncService(trading, tracker, executor, telemetry, rules, durable=run.mode not in ("replay", "paper"),
                           order_ids=venue if isinstance(venue, OrderIdMemory) else None)
    if isinstance(venue, ExecutionReports):
        # The paper/replay venue pushes its executions: the poll visits only what changed (and all at a
        # cadence); a live venue has no push and is polled every tick as before.
        venue.subscribe_executions(resync.on_execution)
    return Services(
        # Active symbols: the configured ones, then the bot's own plans, orders and holdings (never the
        # account's other assets). ``capture`` None or without timeframes: no OHLCV capture (a replay's).
        market=MarketDataService(
            market, clock, symbols, timeframe, telemetry, market_data or MarketDataPolicy(),
            # A replay's venue lists the replayed symbols only: the bot can hold nothing else there.
            held=None if run.mode == "replay" else (lambda: _held_symbols(book, tracker)),
            capturer=None if capture is None or not capture.timeframes
            else OhlcvCapture(market, store, clock, telemetry, capture),
        ),
        resync=resync,
        monitor=monitor,
        actions=TradeActionHandler(executor, rules, policy, manager, risk=risk_manager, monitor=monitor,
                                   market=market if policy.sizing is not None or policy.maker is not None else None),
        risk=risk_manager,
        tracker=tracker,
        book=book,
        strategy=strategy,
        health=manager,
        reconciler=StartupReconciler(resync, manager, telemetry, symbols, prefix),
    )


@attrs.frozen(kw_only=True)
class RiskLimits:
    """What the RiskManager is built with: entry limits, loss limits on ``allocation`` (the bot's capital;
    None: loss limits off) and what a breach does (``reduce`` or ``flatten``)."""

    entries: RiskPolicy = attrs.Factory(RiskPolicy)
    losses: LossLimitPolicy = attrs.Factory(LossLimitPolicy)
    allocation: Decimal | None = None
    loss_policy: str = "reduce"


def action_policy(settings: Settings) -> ActionPolicy:
    """The action handler's settings: stake, plan cap, sizing guards, maker preference (off unless
    ``maker_preference``; then on for every symbol except those ``maker_overrides`` turns off)."""
    return ActionPolicy(
        stake=settings.stake, max_plans_per_symbol=settings.max_plans_per_symbol, plans=plan_policy(settings),
        sizing=SizingPolicy(
            max_order_value=settings.max_order_value, order_value_buffer=settings.order_value_buffer,
            min_rr=settings.min_rr, max_slippage_pct=settings.max_slippage_pct,
            max_spread_pct=settings.max_spread_pct, min_top_of_book_notional=settings.min_top_of_book_notional,
            high_vol_size_factor=settings.high_vol_size_factor,
            medium_vol_size_factor=settings.medium_vol_size_factor,
        ),
        maker=MakerPreference(default=True, overrides=parse_maker_overrides(settings.maker_overrides))
        if settings.maker_preference else None,
        maker_timeout=timedelta(seconds=float(settings.maker_timeout_seconds)),
    )


def risk_limits(settings: Settings) -> RiskLimits:
    """Entry and loss limits from the settings; the bot's allocation is its ``balance``."""
    return RiskLimits(
        entries=RiskPolicy(
            max_order_value=settings.max_order_value, min_trade_size=settings.min_trade_size,
            max_total_exposure=settings.max_total_exposure, max_positions=settings.max_positions,
            max_pending_buys_per_symbol=settings.max_pending_buys_per_symbol,
            correlation_buckets=settings.correlation_buckets, bucket_max_positions=settings.bucket_max_positions,
            max_trade_loss=settings.max_trade_loss, max_trade_loss_pct=settings.max_trade_loss_pct,
            trade_fee_rate=settings.fee_pct / 100,
        ),
        losses=LossLimitPolicy(max_daily_loss=settings.max_daily_loss, max_daily_loss_pct=settings.max_daily_loss_pct,
                               max_drawdown_pct=settings.max_drawdown_pct, day_timezone=settings.day_timezone),
        allocation=settings.balance, loss_policy=settings.loss_policy,
    )


def plan_policy(settings: Settings) -> PlanPolicy:
    """The plan monitor's rules from the settings (0 turns the trail and the age rule off)."""
    return PlanPolicy(
        trail_to_breakeven=settings.plan_trail_to_breakeven_pct or None,
        max_age=timedelta(minutes=float(settings.plan_max_age_minutes)) if settings.plan_max_age_minutes else None,
        day_end_cutoff=settings.day_end_cutoff, day_timezone=settings.day_timezone,
        overnight_widen=settings.overnight_widen, overnight_widen_pct=settings.overnight_widen_pct,
        overnight_widen_abs=settings.overnight_widen_abs, overnight_max_widen_pct=settings.overnight_max_widen_pct,
        max_plans_per_symbol=settings.max_plans_per_symbol, replace_oldest_on_cap=settings.replace_oldest_on_cap,
    )


def market_data_policy(settings: Settings) -> MarketDataPolicy:
    """The market view's liquidity gate: the spread cap and top-of-book floor of the sizing settings.

    A replay's quote is made from the candle itself (a fixed spread), so a per-tick snapshot would only
    cost time: replays fetch no quotes in the loop (an entry still checks one in the action path)."""
    return MarketDataPolicy(liquidity=SizingPolicy(max_spread_pct=settings.max_spread_pct,
                                                   min_top_of_book_notional=settings.min_top_of_book_notional),
                            quotes=settings.mode != "replay")


def capture_policy(settings: Settings, timeframe: Timeframe) -> CapturePolicy:
    """OHLCV capture for a paper, sandbox or live run: the configured timeframes (default: the run's own)."""
    timeframes = settings.ohlcv_timeframes if settings.ohlcv_timeframes is not None else (timeframe,)
    days = settings.ohlcv_max_age_days
    spacing = timedelta(seconds=float(settings.ohlcv_min_spacing_seconds))
    max_age = None if days is None else timedelta(days=float(days))
    return CapturePolicy(timeframes=timeframes, min_spacing=spacing, max_rows=settings.ohlcv_max_rows,
                         max_age=max_age)


def _held_symbols(book: TradingBook, tracker: PortfolioTracker) -> list[Symbol]:
    """The symbols the bot itself is in: its active plans and orders, its own (non-flat) holdings."""
    symbols = [plan.symbol for plan in book.plans()]
    symbols.extend(order.request.symbol for order in book.orders())
    symbols.extend(holding.symbol for holding in tracker.holdings())
    return symbols


def health_policy(settings: Settings) -> HealthPolicy:
    """The health manager's thresholds and windows from the settings."""
    return HealthPolicy(
        exchange=CircuitPolicy(threshold=settings.exchange_error_threshold,
                               pause=timedelta(seconds=float(settings.exchange_pause_seconds))),
        tool=CircuitPolicy(threshold=settings.tool_error_threshold,
                           pause=timedelta(seconds=float(settings.tool_pause_seconds))),
        reconnect_cooldown=timedelta(seconds=float(settings.reconnect_cooldown_seconds)),
        max_data_age_timeframes=settings.max_data_age_timeframes,
        data_age_offset=timedelta(seconds=float(settings.data_age_offset_seconds)),
        max_latency=timedelta(milliseconds=float(settings.max_latency_ms)),
        rate_limit_wait=timedelta(seconds=float(settings.rate_limit_wait_seconds)),
    )


@attrs.define
class Replay:
    """A run, fully wired: run the orchestrator once, then ``await close()``."""

    orchestrator: StrategyOrchestrator
    closers: list[Callable[[], Awaitable[None]]] = attrs.Factory(list)

    async def close(self) -> None:
        """Release the venue connections."""
        for closer in reversed(self.closers):
            await closer()


async def build_replay(settings: Settings, series: Mapping[Symbol, Sequence[Candle]], store: Store, *,
                 telemetry_factory: Callable[[RunRecord], Telemetry],
                 strategy: SignalSource, on_tick: Callable[[int], None] | None = None) -> Replay:
    """Wire a replay: the paper venue over the recorded candles, on a simulated clock."""
    from trader_adapters.clock import SimulatedClock
    from trader_adapters.paper.replay import ReplayMarket
    from trader_adapters.paper.venue import PaperExchange
    from trader_adapters.sleep import ReplaySleeper

    first = min(candles[0].close_time for candles in series.values())
    clock = SimulatedClock(first)
    market = ReplayMarket(series, clock, timeframe=settings.timeframe)
    quote = Asset(settings.quote)
    run = new_run("replay", settings.public(), clock)
    # Each replay trades on a venue of its own: its name is part of every fill's identity, so fills of
    # an earlier run in the same database can never be mistaken for this run's.
    venue = PaperExchange(market=market, clock=clock, balances={quote: settings.balance},
                          fee_rate=settings.fee_pct / 100, slippage_rate=settings.slippage_pct / 100,
                          venue=f"paper-{run.run_id}")
    telemetry = telemetry_factory(run)
    trading = dry_run(settings, venue, telemetry, clock)
    rules = {symbol: await market.fetch_instrument(symbol) for symbol in series}
    services = build_services(
        store=store, market=market, trading=trading, clock=clock, telemetry=telemetry, strategy=strategy,
        run=run, symbols=tuple(series), timeframe=market.timeframe, rules=rules,
        policy=action_policy(settings), risk=risk_limits(settings), plans=plan_policy(settings),
        prefix=REPLAY_PREFIX, health=health_policy(settings),
        ledger=LedgerPolicy(day_timezone=settings.day_timezone), fee_rate=settings.fee_pct / 100,
        market_data=market_data_policy(settings),
    )
    sleeper: Sleeper = ReplaySleeper(clock, market, telemetry)  # a hole in the data is crossed in one step
    orchestrator = StrategyOrchestrator(
        services=services, store=store, clock=clock, telemetry=telemetry, sleeper=sleeper, run=run,
        interval=market.timeframe.duration, balance=settings.balance, until=market.end_time, on_tick=on_tick,
        balances=BalanceCheck(trading, telemetry, clock),
    )
    return Replay(orchestrator)


def dry_run(settings: Settings, trading: Trading, telemetry: Telemetry, clock: Clock) -> Trading:
    """``--dry-run``: the venue behind a wrapper that records every order and refuses to send it."""
    if not settings.dry_run:
        return trading
    from trader_adapters.dry_run import DryRunTrading

    return DryRunTrading(trading, telemetry, clock)

