"""``trader-app run``: validate everything, then replay (or trade) and print the summary."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trader_adapters.clock import SystemClock
from trader_app.bootstrap import build_replay, enable_decimal_traps, load_series
from trader_app.failures import RunFailedError
from trader_app.heap import freeze_startup_heap
from trader_app.lease import BotLease, BotTakenError, DatabaseLockedError, holder_message
from trader_app.llm_strategy import bind_llm, cassette_file, check_llm, close_llm, records_spend
from trader_app.outputs import check_outputs, write_output
from trader_app.settings import Settings, config_file, load_settings
from trader_app.storage import open_store, redact
from trader_app.summary import RunSummary
from trader_app.terminal import JobProgress, key_value_table, show
from trader_app.venue_run import check_venue_settings, refused_while_running
from trader_core.model import Candle, ConfigError, RunRecord, StoreError, Symbol
from trader_core.ports import SignalSource, Store, Telemetry

if TYPE_CHECKING:
    from trader_adapters.sql.store import SqlStore
    from trader_app.loop_status import LoopStatus
    from trader_app.operations import Metrics
    from trader_app.venue_run import VenueConnection

__all__ = ["REPLAY_BATCH_TICKS", "register", "run_command"]

# A replay commits its writes once per this many ticks (a live or paper bot: one transaction per unit of work).
REPLAY_BATCH_TICKS = 1000


def register(sub: Any) -> None:
    """Add ``run`` and its flags (each also settable in the TOML file and the environment)."""
    run = sub.add_parser("run", help="run a bot (default: replay a synthetic feed into ./trader.db)")
    add = run.add_argument
    add("--config", help="TOML settings file")
    add("--data", help="candle CSV (timestamp_ms,open,high,low,close,volume) to replay")
    add("--symbol", dest="symbols", action="append", help="symbol, e.g. BTC/USDT (repeatable)")
    add("--timeframe", help="candle timeframe (1m, 5m, 1h...); inferred from a CSV when omitted")
    add("--days", type=int, help="days of synthetic candles (default 3)")
    add("--db", help="database URL (default sqlite:///trader.db)")
    add("--seed", type=int, help="seed of the synthetic feed (default 42)")
    add("--strategy", help="sma, llm (docs/llm.md), or package.module:Class")
    add("--fast", type=int, help="fast SMA length (default 10)")
    add("--slow", type=int, help="slow SMA length (default 30)")
    add("--stop-pct", dest="stop_pct", help="stop distance in percent of the entry price (default 2)")
    add("--target-pct", dest="target_pct", help="target distance in percent of the entry price (default 3)")
    add("--stake", help="quote notional per entry (default 1000)")
    add("--volatility-sizing", dest="volatility_sizing", action="store_const", const=True,
        help="sma: tag entries with a volatility flag that scales the size (60-100 %% of the stake)")
    add("--fee-pct", dest="fee_pct", help="fee per side in percent (default 0.1)")
    add("--slippage-pct", dest="slippage_pct", help="slippage per market fill in percent (default 0)")
    add("--balance", help="starting quote balance (default 10000)")
    add("--bot", help="bot id (default 'default')")
    add("--summary-json", dest="summary_json", help="also write the summary as JSON to this file")
    add("--report", help="at the end, print the run's report and write it as one offline HTML file")
    add("--log-dir", dest="log_dir", help="where telemetry JSON lines go (default ./logs)")
    add("--verbose", action="store_const", const=True, help="show every event on stderr")
    add("--exchange", help="trade against a ccxt venue (e.g. binance) instead of replaying")
    add("--live", action="store_const", const=True, help="with --exchange: real money (needs API keys)")
    add("--sandbox", action="store_const", const=True, help="with --exchange: the venue's test network")
    add("--sandbox-url", dest="sandbox_url", help="with --exchange: a compatible emulator at this URL")
    add("--paper", action="store_const", const=True, help="with --exchange: public data, simulated fills")
    add("--interval", help="seconds between loop ticks against a venue (default 10)")
    add("--accept-reconciliation", dest="accept_reconciliation", action="store_const", const=True,
        help="with --exchange: trade even when start-up reconciliation is not clean (after reading its report)")
    add("--allow-withdrawal-keys", dest="allow_withdrawal_keys", action="store_const", const=True,
        help="with --exchange: run with an API key that may withdraw funds (refused by default)")
    add("--day-timezone", dest="day_timezone", help="time zone of the per-day ledger rows (default UTC)")
    add("--metrics-port", dest="metrics_port", type=int,
        help="serve Prometheus metrics on this port (127.0.0.1 unless metrics_host is set; default off)")
    add("--signals", help="JSON-lines file of timed signals to act on instead of a strategy (docs/signals.md)")
    add("--signals-catch-up", dest="signals_catch_up", action="store_const", const=True,
        help="against a venue: act on signals that fell due while the bot was not running (default: skip them)")
    add("--exit-policy", dest="exit_policy", choices=("leave", "cancel", "flatten"),
        help="on stop: leave orders, cancel the bot's working orders (default), or flatten its positions")
    add("--dry-run", dest="dry_run", action="store_const", const=True,
        help="everything but order placement: each order is recorded (OrderWithheld) and refused")
    add("--llm-base-url", dest="llm_base_url", help="--strategy llm: the OpenAI-compatible API (docs/llm.md)")
    add("--llm-model", dest="llm_model", help="--strategy llm: the model name")
    add("--llm-cassette", dest="llm_cassette", help="--strategy llm: record/replay the model's answers here")
    add("--llm-cassette-mode", dest="llm_cassette_mode", choices=("record", "replay", "auto"),
        help="record (default), replay (no call; a miss stops the run) or auto (replay, call on a miss)")
    run.set_defaults(handler=lambda args: run_command(vars(args)))


def run_command(flags: Mapping[str, Any]) -> int:
    """Run a bot as the flags say; 0 on a clean stop. Raises ConfigError on bad input before writing."""
    started = time.perf_counter()
    enable_decimal_traps()
    report_out = _report_target(flags)
    settings = load_settings({k: v for k, v in flags.items()
                              if k not in ("command", "handler", "report") and not k.startswith("llm_")})
    # Everything that can be wrong with the input is checked before the database is touched.
    series = load_series(settings) if settings.mode == "replay" else {}
    check_venue_settings(settings)
    from trader_adapters.strategies.loader import load_strategy
    from trader_adapters.strategies.scripted import load_signals

    if settings.signals is not None:
        strategy: SignalSource = load_signals(settings.signals)
    elif settings.strategy == "llm":
        from trader_app.llm_strategy import build_llm_strategy

        strategy = build_llm_strategy(flags, tuple(series) or settings.symbols, settings.max_plans_per_symbol)
    else:
        strategy = load_strategy(settings.strategy, {
            "fast": settings.fast, "slow": settings.slow, "stop_pct": settings.stop_pct,
            "target_pct": settings.target_pct, "volatility_sizing": settings.volatility_sizing,
        }, decide_timeout_s=float(settings.strategy_timeout_seconds),
            # Against a venue the bot's loop must stay free while a strategy computes; a replay has nothing to
            # protect meanwhile and would pay a thread hop per candle.
            own_thread=settings.mode != "replay")
    _check_files(flags, settings, strategy, report_out)
    from trader_adapters.telemetry import LoguruTelemetry

    sinks: list[LoguruTelemetry] = []
    metrics = _start_metrics(settings)

    def telemetry_for(run: RunRecord) -> Telemetry:
        sink = LoguruTelemetry(settings.log_dir / "telemetry.jsonl", settings.bot.value, run.run_id.value,
                               verbose=settings.verbose, rotation=settings.log_rotation,
                               retention=settings.log_retention)
        sinks.append(sink)
        return sink if metrics is None else metrics.wrap(sink, settings.bot.value, run.run_id.value)

    elapsed = lambda: Decimal(str(round(time.perf_counter() - started, 3)))  # noqa: E731 - a tiny clock
    refused: ConfigError | RunFailedError | None = None  # the venue refused the credentials; a replay stopped short
    try:
        if settings.mode == "replay":
            summary, refused = _replay(settings, series, strategy, telemetry_for, elapsed)
        else:
            summary, refused = asyncio.run(_venue_session(settings, strategy, telemetry_for, elapsed,
                                                          on_status=None if metrics is None else metrics.observe))
    finally:
        if metrics is not None:
            metrics.close()
        for sink in sinks:
            sink.close()
    show([key_value_table(summary.as_dict(), title="run summary")], summary.render())
    if settings.summary_json is not None:
        write_output("--summary-json", settings.summary_json, json.dumps(summary.as_dict(), indent=2) + "\n")
    if report_out:
        _report_at_end(settings, summary.run_id, series, report_out)
    if refused is not None:
        raise refused
    return 0


def _report_at_end(settings: Settings, run_id: str, series: Mapping[Symbol, Sequence[Candle]], out: str) -> None:
    """``--report``: the run's report, its equity marked at the replayed candles (on a venue, at its fills and the
    candles captured while it ran)."""
    from trader_app.commands.report import report_run

    candles = sorted((c for symbol_candles in series.values() for c in symbol_candles), key=lambda c: c.close_time)
    report_run(settings.db, settings.bot.value, run_id, candles, out=out, json_out=None, out_flag="--report")


def _report_target(flags: Mapping[str, Any]) -> str | None:
    """``--report FILE`` (checked writable by ``_check_files`` before anything runs)."""
    out: str | None = flags.get("report")
    return out


def _check_files(flags: Mapping[str, Any], settings: Settings, strategy: SignalSource, report_out: str | None) -> None:
    """No output of the run may replace its database, a file it reads, or another output."""
    reads: dict[str, Path | str | None] = {"--data": settings.data, "--signals": settings.signals,
                                           "--config": config_file(flags)}
    outputs: dict[str, Path | str | None] = {"--summary-json": settings.summary_json, "--report": report_out,
                                             "--log-dir": settings.log_dir / "telemetry.jsonl"}
    if (cassette := cassette_file(strategy)) is not None:
        path, written = cassette
        (outputs if written else reads)["--llm-cassette"] = path
    check_outputs(outputs, reads=reads, db=settings.db, creates_folders=("--log-dir", "--llm-cassette"))


def _replay(settings: Settings, series: Mapping[Symbol, Sequence[Candle]], strategy: SignalSource,
            telemetry_for: Callable[[RunRecord], Telemetry],
            elapsed: Callable[[], Decimal]) -> tuple[RunSummary, RunFailedError | None]:
    """Replay ``series`` with the bot's store and lease held. Returns the summary and, when the replay stopped
    short (a tick failed: a database refusing a write), the error the command ends with after the summary."""
    store, lease = _open_held_store(settings)
    try:
        progress = _replay_progress(series)

        def on_tick(ticks: int) -> None:
            progress(ticks)
            if ticks == 1 or ticks % REPLAY_BATCH_TICKS == 0:
                store.checkpoint()

        wired = asyncio.run(build_replay(settings, series, store, telemetry_factory=telemetry_for,
                                         strategy=strategy, on_tick=on_tick))
        wired.orchestrator.guard = lease.guard
        bind_llm(strategy, store, wired.orchestrator)

        interrupted: list[str] = []

        def on_signal(number: int, _frame: object) -> None:
            # A replay never waits on its event loop, so a handler there would run only at the end: this one runs
            # between two candles. The first signal ends the replay after the current candle, a second at once.
            if interrupted:
                os._exit(130)
            interrupted.append(signal.Signals(number).name)
            print(f"trader-app: {interrupted[0]} received, stopping the replay after this candle", file=sys.stderr)
            wired.orchestrator.request_stop(f"signal {interrupted[0]}")

        async def run_then_close() -> RunSummary:
            previous = {number: signal.signal(number, on_signal) for number in (signal.SIGINT, signal.SIGTERM)}
            try:
                return await wired.orchestrator.run_until_stopped(elapsed)
            finally:
                for number, handler in previous.items():
                    signal.signal(number, handler)
                await close_llm(strategy)  # in the loop its connections belong to

        # One transaction per REPLAY_BATCH_TICKS candles: the run record is committed as RUNNING at the first
        # checkpoint and becomes FINISHED (or FAILED) only in the last batch, with the run's last writes. Not for
        # a strategy that pays per decision: its stored calls are the budget's memory and must survive a crash.
        # On SQLite (one writer per file) a batch would lock out every other bot sharing the file: not there.
        if not records_spend(strategy) and not store.batches_block_other_writers:
            store.begin_batch()
        try:
            summary = asyncio.run(run_then_close())
            progress.finished(summary.candles)
        finally:
            progress.close()
            if wired.orchestrator.replay_broken is None:
                store.end_batch()
            else:  # what failed may have aborted the batch's transaction: its commit fails too, and is said already
                with suppress(StoreError):
                    store.end_batch()
        check_llm(strategy)
        if wired.orchestrator.replay_broken is not None:
            # Shown after the summary (what the replay did until then), as one line, exit 1.
            return summary, RunFailedError(f"{wired.orchestrator.replay_broken} (run {summary.run_id} is incomplete)")
        if interrupted:
            return summary, RunFailedError(f"the replay was stopped by {interrupted[0]} before the end of its data "
                                           f"(run {summary.run_id} covers its candles until then)")
        return summary, _record_failed(wired.orchestrator.record_failed, summary.run_id)
    finally:
        lease.release()
        store.close()


async def _venue_session(settings: Settings, strategy: SignalSource, telemetry_for: Callable[[RunRecord], Telemetry],
                         elapsed: Callable[[], Decimal], *,
                         on_status: Callable[[LoopStatus], None] | None = None,
                         ) -> tuple[RunSummary, ConfigError | RunFailedError | None]:
    """Reach the venue first (nothing is written when it cannot serve the run), then hold the bot's store and
    lease, and run until stopped. Returns the summary and, when the venue refused the credentials while the bot
    ran, the error the command ends with (after the summary is shown)."""
    from trader_adapters.strategies.scripted import ScriptedSignals, report_missed
    from trader_app.venue_run import connect_venue

    # Commands queued from here on are this run's (a halt sent while it connects to the venue is not stale).
    started = SystemClock().now()
    venue = await connect_venue(settings)
    try:
        store, lease = _open_held_store(settings)
    except BaseException:
        await venue.exchange.close()
        raise
    try:
        if settings.mode in ("live", "sandbox"):
            try:
                _refuse_simulated_fills(settings, store)
            except ConfigError:
                await venue.exchange.close()
                raise
        if isinstance(strategy, ScriptedSignals) and settings.signals is not None:
            report_missed(strategy.resume(store, SystemClock().now(), catch_up=settings.signals_catch_up),
                          settings.signals)
        return await _run_on_venue(settings, store, venue, telemetry_for=telemetry_for, strategy=strategy,
                                   elapsed=elapsed, on_status=on_status, guard=lease.guard, started=started)
    finally:
        lease.release()
        store.close()


def _refuse_simulated_fills(settings: Settings, store: Store) -> None:
    """A live or sandbox bot's ledger is every fill of its bot: fills a replay or a paper run of the same bot booked
    in the same database would count as its holdings (positions it does not have at the venue, exposure, a SELL
    of coins only a simulation bought). Refused before anything is sent, with what to do instead."""
    with store.unit_of_work() as uow:
        simulated = sum(uow.fills.count(run_id) for run_id in uow.runs.ids_of_mode(("replay", "paper")))
    if simulated:
        raise ConfigError(f"bot {settings.bot.value} holds {simulated} fills of replay or paper runs in this "
                          "database: a live or sandbox bot would count them as its own holdings; run it under another "
                          "--bot (or --db)")


async def _run_on_venue(settings: Settings, store: Store, venue: VenueConnection, *,
                        telemetry_for: Callable[[RunRecord], Telemetry], strategy: SignalSource,
                        elapsed: Callable[[], Decimal], on_status: Callable[[LoopStatus], None] | None = None,
                        guard: Callable[[], str | None] | None = None, started: datetime | None = None,
                        ) -> tuple[RunSummary, ConfigError | RunFailedError | None]:
    """Run against a venue until stopped: SIGINT/SIGTERM stop after the current tick; a second forces exit.
    Returns the summary and, when the venue refused the credentials, the error to end with."""
    from trader_app.venue_run import build_venue_run

    wired = await build_venue_run(settings, store, venue, telemetry_factory=telemetry_for, strategy=strategy,
                                  commands_since=started)
    wired.orchestrator.on_status = on_status  # the metrics endpoint's view of the loop (None: off)
    wired.orchestrator.guard = guard  # the bot's lease: lost to another process -> stop
    bind_llm(strategy, store, wired.orchestrator)
    loop = asyncio.get_running_loop()

    def on_signal(name: str) -> None:
        if wired.orchestrator.stop_reason is not None:
            os._exit(130)  # second signal: the operator insists
        print(f"trader-app: {name} received, stopping after this tick", file=sys.stderr)
        wired.orchestrator.request_stop(f"signal {name}")

    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, on_signal, number.name)
    wired.orchestrator.on_started = freeze_startup_heap  # a tick must not pause for a full collection
    try:
        summary = await wired.orchestrator.run_until_stopped(elapsed)
    finally:
        await wired.close()
        await close_llm(strategy)
    check_llm(strategy)
    refused = wired.orchestrator.credentials_refused
    if refused is not None:
        return summary, refused_while_running(venue.exchange.venue, refused)
    return summary, _record_failed(wired.orchestrator.record_failed, summary.run_id)


def _record_failed(why: str | None, run_id: str) -> RunFailedError | None:
    """The one line a run ends with when its record could not be read or written at the end (the database away):
    the summary shown lacks what only the database knows, and the run stays marked running."""
    if why is None:
        return None
    return RunFailedError(f"{why}; run {run_id} stays marked running (incomplete); orders at the venue are as the "
                          "loop left them")


def _open_held_store(settings: Settings) -> tuple[SqlStore, BotLease]:
    """The bot's store, with its lease held by this process (``BotTakenError``, exit 2, when another holds it)."""
    store = open_store(settings.db, settings.bot)
    lease = BotLease(store, SystemClock(), ttl=timedelta(seconds=float(settings.lease_seconds)))
    try:
        lease.acquire()
    except DatabaseLockedError:
        store.close()
        _raise_if_held(settings)  # the writer may be this very bot: say who holds it
        raise
    except StoreError as exc:
        # The database refuses the write (a full disk, a role without INSERT): one line, before anything is sent.
        store.close()
        raise ConfigError(redact(f"cannot start bot {settings.bot.value}: writing its lease failed: {exc}",
                                 settings.db)) from None
    except BaseException:
        store.close()
        raise
    return store, lease


def _raise_if_held(settings: Settings) -> None:
    """``BotTakenError`` when another process holds the bot's lease (read without the write lock)."""
    reader = open_store(settings.db, settings.bot, read_only=True)
    try:
        with reader.unit_of_work() as uow:
            held = uow.leases.find()
    finally:
        reader.close()
    if held is not None and held.in_force(SystemClock().now()):
        raise BotTakenError(holder_message(settings.bot.value, held))


def _start_metrics(settings: Settings) -> Metrics | None:
    """The Prometheus endpoint when ``metrics_port`` is set; a port that cannot be bound is a config error."""
    if settings.metrics_port is None:
        return None
    from trader_app.operations import Metrics

    try:
        return Metrics(settings.metrics_host, settings.metrics_port)
    except OSError as exc:
        raise ConfigError(f"metrics endpoint {settings.metrics_host}:{settings.metrics_port}: {exc}") from exc


class _ReplayProgress:
    """Replay progress in candles, the unit the summary counts: a tick moves every symbol by one candle."""

    def __init__(self, symbols: int, total: int) -> None:
        self.symbols = symbols
        self.job = JobProgress("replay", total, "candles")

    def __call__(self, ticks: int) -> None:
        self.job(ticks * self.symbols)

    def finished(self, candles: int) -> None:
        """The run ended having replayed ``candles``."""
        self.job.close(candles)

    def close(self) -> None:
        self.job.close()


def _replay_progress(series: Mapping[Symbol, Sequence[Candle]]) -> _ReplayProgress:
    return _ReplayProgress(len(series), sum(len(c) for c in series.values()))
