"""``trader-app trades``: one row per round trip of a run, as JSON lines or CSV."""

from __future__ import annotations

import csv
import json
import sys
from typing import Any

from trader_app.commands.target import add_target, target
from trader_app.stored_runs import read_run
from trader_app.summary import round_trips

__all__ = ["COLUMNS", "register", "trades_command"]

COLUMNS = ("plan_id", "symbol", "side", "entry_time", "exit_time", "entry_price", "exit_price", "quantity",
           "fees", "realized_pnl", "exit_reason")


def register(sub: Any) -> None:
    """Add ``trades``."""
    trades = sub.add_parser("trades", help="list round trips (closed plans) of a run")
    add_target(trades)
    trades.add_argument("--run", help="run id (default: the latest run)")
    trades.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    trades.add_argument("--include-open", action="store_true", help="also list plans still open")
    trades.set_defaults(
        handler=lambda args: trades_command(*target(args), args.run, args.format, args.include_open)
    )


def trades_command(db: str, bot: str, run: str | None, output: str, include_open: bool) -> int:
    """Print the round trips of ``run`` (default: the bot's latest run)."""
    stored = read_run(db, bot, run)
    rows = round_trips(stored.plans, stored.fills, include_open)
    if output == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        for row in rows:
            sys.stdout.write(json.dumps(row) + "\n")
    return 0
