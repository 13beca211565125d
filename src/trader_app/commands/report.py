"""``trader-app report``: a run's metrics and tables in the terminal, and optionally one offline HTML file and a
JSON document. Nothing is written unless the whole report was built."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from trader_app.commands.target import add_target, target
from trader_app.outputs import check_outputs, write_output
from trader_app.settings import config_file
from trader_app.terminal import ReaderConsole
from trader_core.model import Candle, ConfigError, InvalidValueError, Symbol, parse_time

__all__ = ["register", "report_command", "report_run", "write_outputs"]


def register(sub: Any) -> None:
    """Add ``report``."""
    parser = sub.add_parser("report", help="metrics, tables and charts of a run (terminal, HTML, JSON)")
    add_target(parser)
    parser.add_argument("--run", help="run id (default: the bot's latest run)")
    parser.add_argument("--out", help="write the report as one offline HTML file")
    parser.add_argument("--json", help="write the report's figures as JSON")
    parser.add_argument("--candles", help="candle CSV the run replayed: marks equity at every candle and draws it")
    parser.add_argument("--since", help="only trades and fills at or after this ISO time (UTC)")
    parser.add_argument("--until", help="only trades and fills at or before this ISO time (UTC)")
    parser.set_defaults(handler=_handle)


def _handle(args: Any) -> int:
    db, bot = target(args)
    check_outputs({"--out": args.out, "--json": args.json},
                  reads={"--candles": args.candles, "--config": config_file({"config": args.config})}, db=db)
    return report_command(db, bot, args.run, out=args.out, json_out=args.json, candles=args.candles,
                          since=_time(args.since, "--since"), until=_time(args.until, "--until"))


def _time(text: str | None, flag: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_time(text, flag)
    except InvalidValueError as exc:
        raise ConfigError(str(exc)) from exc


def write_outputs(inputs: Any, *, title: str, run_id: str, bot: str, out: str | None, json_out: str | None,
                  out_flag: str = "--out") -> None:
    """Write the HTML and JSON files (each whole, via a temporary name), then print the report to stdout (files
    first: a reader that stops early, ``| head``, must not cost them); ``out_flag`` names ``out`` in a refusal
    (``run --report``)."""
    from trader_adapters.report import print_report, render_html, report_document

    files: list[tuple[str, str, str]] = []
    if out:
        files.append((out_flag, out, render_html(inputs.report, title=title, trades=inputs.trades,
                                                equity=inputs.equity, prices=inputs.prices, marks=inputs.marks)))
    if json_out:
        files.append(("--json", json_out,
                      json.dumps(report_document(inputs.report, run_id=run_id, bot=bot), indent=2)))
    for flag, name, text in files:
        write_output(flag, name, text)
    print_report(inputs.report, sys.stdout, ReaderConsole(file=sys.stdout, width=100))


def report_command(db: str, bot: str, run: str | None, *, out: str | None, json_out: str | None,
                   candles: str | None, since: datetime | None, until: datetime | None) -> int:
    """Report ``run`` (default: the bot's latest run); ``candles`` is the CSV the run replayed, if any."""
    return report_run(db, bot, run, candles or (), out=out, json_out=json_out, since=since, until=until)


def report_run(db: str, bot: str, run: str | None, candles: Sequence[Candle] | str, *, out: str | None,
               json_out: str | None, since: datetime | None = None, until: datetime | None = None,
               out_flag: str = "--out") -> int:
    """Report ``run`` of ``bot`` in ``db``, marking equity at ``candles`` (a CSV file of the run's first symbol,
    or the candles themselves; when there are none, at the run's fills and the candles captured while it ran)."""
    from trader_adapters.feeds.csv_feed import load_candles_csv
    from trader_app.reporting import check_candles, gather, replayed_candles
    from trader_app.stored_runs import read_run

    stored = read_run(db, bot, run, prices=not candles)
    record = stored.record
    if isinstance(candles, str):
        symbols = str(json.loads(record.config_json).get("symbols") or "BTC/USDT").split(",")
        name = candles
        candles = load_candles_csv(name, Symbol.parse(symbols[0]))
        check_candles(name, candles, stored.fills, since=since, until=until)
    elif not candles:
        candles = replayed_candles(record)  # a synthetic replay: marked as its own run --report was
    inputs = gather(record, stored.plans, stored.fills, candles, since=since, until=until, llm_calls=stored.llm_calls,
                    captured=stored.captured)
    write_outputs(inputs, title=f"Report of run {record.run_id.value} (bot {bot}, {record.mode})",
                  run_id=record.run_id.value, bot=bot, out=out, json_out=json_out, out_flag=out_flag)
    return 0
