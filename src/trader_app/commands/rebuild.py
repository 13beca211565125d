"""``trader-app rebuild``: replay a bot's stored fills and rewrite its cached ledger (holdings, stats,
per-day rows). Prints one JSON line per rebuilt scope.

Without ``--run``, the scope is the one the bot's latest run books into: that run for a replay, the
whole bot for a live, sandbox or paper bot. The schema is upgraded first (as ``run`` does), since an
older database has no cache tables yet.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from trader_app.commands.target import add_target, target
from trader_app.storage import open_store
from trader_app.stored_runs import no_runs
from trader_core.model import BotId, ConfigError, InvalidValueError, RunId

__all__ = ["rebuild_command", "register"]


def register(sub: Any) -> None:
    """Add ``rebuild``."""
    rebuild = sub.add_parser("rebuild", help="replay stored fills and rewrite the cached holdings and stats")
    add_target(rebuild)
    rebuild.add_argument("--run", help="run id (default: the scope of the bot's latest run)")
    rebuild.add_argument("--day-timezone", default="UTC", help="IANA time zone of the per-day rows (default UTC)")
    rebuild.set_defaults(handler=lambda args: rebuild_command(*target(args), args.run, args.day_timezone))


def rebuild_command(db: str, bot: str, run: str | None, day_timezone: str) -> int:
    """Rebuild the ledger of ``run`` (or of the scope of the bot's latest run) and print what was done."""
    from trader_adapters.clock import SystemClock
    from trader_adapters.telemetry import RecordingTelemetry
    from trader_core.model.stats import StatsScope
    from trader_core.portfolio import LedgerPolicy, PortfolioTracker

    try:
        bot_id = BotId(bot)
        run_id = RunId(run) if run else None
    except InvalidValueError as exc:
        raise ConfigError(str(exc)) from exc
    store = open_store(db, bot_id, must_exist=True)  # a mistyped --db must not leave an empty database behind
    try:
        with store.unit_of_work() as uow:
            record = uow.runs.find(run_id) if run_id else uow.runs.find_latest()
        if record is None:
            raise ConfigError(f"no run {run!r} for bot {bot}") if run else no_runs(bot, db)
        scope = StatsScope(record.run_id) if run_id else StatsScope.for_mode(record.mode, record.run_id)
        tracker = PortfolioTracker(store, SystemClock(), RecordingTelemetry(),
                                   policy=LedgerPolicy(day_timezone=day_timezone))
        started = time.perf_counter()
        fills = tracker.rebuild(scope, reason="trader-app rebuild")
        elapsed = time.perf_counter() - started
    finally:
        store.close()
    totals = tracker.totals
    sys.stdout.write(json.dumps({
        "bot": bot, "scope": scope.key, "fills": fills, "realized_pnl": str(totals.realized_pnl),
        "fees": str(totals.fees), "net": str(totals.net), "cash": str(totals.cash),
        "holdings": {str(h.symbol): str(h.quantity) for h in tracker.holdings()},
        "days": len(tracker.days()), "day_timezone": day_timezone, "seconds": round(elapsed, 3),
    }) + "\n")
    return 0
