"""``trader-app``: the command line. Progress and errors on stderr, results on stdout.

Exit codes: 0 clean stop, 2 bad usage, configuration or input (one line on stderr), 1 unexpected failure.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

from trader_core.model import ConfigError

__all__ = ["main"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"trader-app: error: {message}\n")


def _run_parser(sub: Any) -> None:
    run = sub.add_parser("run", help="run a bot (default: replay a synthetic feed into ./trader.db)")
    add = run.add_argument
    add("--config", help="TOML settings file")
    add("--data", help="candle CSV (timestamp_ms,open,high,low,close,volume) to replay")
    add("--symbol", dest="symbols", action="append", help="symbol, e.g. BTC/USDT (repeatable)")
    add("--timeframe", help="candle timeframe (1m, 5m, 1h...); inferred from a CSV when omitted")
    add("--days", type=int, help="days of synthetic candles (default 3)")
    add("--db", help="database URL (default sqlite:///trader.db)")
    add("--seed", type=int, help="seed of the synthetic feed (default 42)")
    add("--strategy", help="sma, or package.module:Class")
    add("--fast", type=int, help="fast SMA length (default 10)")
    add("--slow", type=int, help="slow SMA length (default 30)")
    add("--stop-pct", dest="stop_pct", help="stop distance in percent of the entry price (default 2)")
    add("--target-pct", dest="target_pct", help="target distance in percent of the entry price (default 3)")
    add("--stake", help="quote notional per entry (default 1000)")
    add("--fee-pct", dest="fee_pct", help="fee per side in percent (default 0.1)")
    add("--slippage-pct", dest="slippage_pct", help="slippage per market fill in percent (default 0)")
    add("--balance", help="starting quote balance (default 10000)")
    add("--bot", help="bot id (default 'default')")
    add("--summary-json", dest="summary_json", help="also write the summary as JSON to this file")
    add("--log-dir", dest="log_dir", help="where telemetry JSON lines go (default ./logs)")
    add("--verbose", action="store_const", const=True, help="show every event on stderr")


def _trades_parser(sub: Any) -> None:
    trades = sub.add_parser("trades", help="list round trips (closed plans) of a run")
    trades.add_argument("--db", default="sqlite:///trader.db", help="database URL")
    trades.add_argument("--bot", default="default", help="bot id")
    trades.add_argument("--run", help="run id (default: the latest run)")
    trades.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    trades.add_argument("--include-open", action="store_true", help="also list plans still open")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = _Parser(prog="trader-app", description="A trading core for spot crypto bots.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _run_parser(sub)
    _trades_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``trader-app``; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ConfigError as exc:
        print(f"trader-app: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:
        # The reader went away (``| head``): not a failure of ours. Silence the flush at exit too.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaced for the rest of the process
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the one top-level handler: report the cause, exit 1
        print(f"trader-app: unexpected failure: {type(exc).__name__}: {exc}", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        return EXIT_FAILURE


def _dispatch(args: argparse.Namespace) -> int:
    # Commands import lazily: `trader-app trades` should not pay for loading the replay machinery.
    if args.command == "run":
        from trader_app.commands.run import run_command

        return run_command(vars(args))
    from trader_app.commands.trades import trades_command

    return trades_command(args.db, args.bot, args.run, args.format, args.include_open)


if __name__ == "__main__":
    raise SystemExit(main())
