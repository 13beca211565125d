"""``trader-app trades``: one row per round trip of a run, as JSON lines or CSV."""

from __future__ import annotations

import csv
import json
import sys

from trader_app.storage import open_store
from trader_app.summary import round_trips
from trader_core.model import BotId, ConfigError, InvalidValueError, RunId

__all__ = ["COLUMNS", "trades_command"]

COLUMNS = ("plan_id", "symbol", "side", "entry_time", "exit_time", "entry_price", "exit_price", "quantity",
           "fees", "realized_pnl", "exit_reason")


def trades_command(db: str, bot: str, run: str | None, output: str, include_open: bool) -> int:
    """Print the round trips of ``run`` (default: the bot's latest run)."""
    try:
        bot_id = BotId(bot)
    except InvalidValueError as exc:
        raise ConfigError(str(exc)) from exc
    store = open_store(db, bot_id, migrate=False)
    try:
        with store.unit_of_work() as uow:
            record = uow.runs.find(RunId(run)) if run else uow.runs.find_latest()
            if record is None:
                raise ConfigError(f"no run {run!r} for bot {bot}" if run else f"bot {bot} has no runs in {db}")
            plans = uow.plans.list_for_run(record.run_id)
            fills = uow.fills.list_for_run(record.run_id)
    finally:
        store.close()
    rows = round_trips(plans, fills, include_open)
    if output == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        for row in rows:
            sys.stdout.write(json.dumps(row) + "\n")
    return 0
