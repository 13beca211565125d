"""``trader-app data download``: candles from a venue through ccxt into a CSV that ``run --data`` reads.

Paginated through ``fetch_ohlcv``; resumable: an existing file is continued from its last candle.
"""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from trader_app.terminal import JobProgress
from trader_core.model import Candle, ConfigError, InvalidValueError, Symbol, Timeframe

__all__ = ["download", "register"]

HEADER = ("timestamp_ms", "open", "high", "low", "close", "volume")
_PAGE = 1000


def register(sub: Any) -> None:
    """Add ``data download``."""
    data = sub.add_parser("data", help="market data files")
    actions = data.add_subparsers(dest="data_command", required=True)
    get = actions.add_parser("download", help="download candles to a CSV (resumable)")
    get.add_argument("--exchange", required=True, help="ccxt exchange id, e.g. binance")
    get.add_argument("--symbol", required=True, help="e.g. BTC/USDT")
    get.add_argument("--timeframe", required=True, help="e.g. 1m, 1h")
    get.add_argument("--since", required=True, help="first candle's open time, ISO-8601 (UTC if no zone)")
    get.add_argument("--until", help="stop before this time (default: now)")
    get.add_argument("--sandbox-url", dest="sandbox_url", help="a compatible emulator at this URL")
    get.add_argument("--out", required=True, help="CSV file to write or continue")
    get.set_defaults(handler=_handle)


def _handle(args: Any) -> int:
    try:
        symbol = Symbol.parse(args.symbol)
    except InvalidValueError as exc:
        raise ConfigError(str(exc)) from exc
    timeframe = Timeframe(args.timeframe)
    since = _time(args.since, "--since")
    until = _time(args.until, "--until") if args.until else None
    count = asyncio.run(download(args.exchange, symbol, timeframe, since=since, until=until, out=Path(args.out),
                                 sandbox_url=args.sandbox_url))
    print(f"{count} new candles written to {args.out}")
    return 0


def _time(text: str, flag: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfigError(f"{flag} must be an ISO-8601 date or time, got {text!r}") from exc
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def _resume_point(path: Path, timeframe: Timeframe) -> datetime | None:
    """The open time after the file's last candle, or None for a new or empty file."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if not rows or tuple(rows[0]) != HEADER:
        raise ConfigError(f"{path} exists but is not a candle CSV ({','.join(HEADER)}); refusing to append")
    if len(rows) == 1:
        return None
    try:
        last = int(rows[-1][0])
    except (ValueError, IndexError) as exc:
        raise ConfigError(f"{path} line {len(rows)}: unreadable timestamp; refusing to append") from exc
    return datetime.fromtimestamp(last / 1000, UTC) + timeframe.duration


async def download(exchange_id: str, symbol: Symbol, timeframe: Timeframe, *, since: datetime,
                   until: datetime | None, out: Path, sandbox_url: str | None = None) -> int:
    """Append every closed candle from ``since`` (or where ``out`` ends) to ``until``; the count written."""
    from trader_adapters.ccxt import CcxtExchange
    from trader_adapters.clock import SystemClock

    clock = SystemClock()
    start = max(since, _resume_point(out, timeframe) or since)
    end = min(until or clock.now(), clock.now())
    venue = CcxtExchange.create(exchange_id, clock=clock, sandbox=sandbox_url is not None, base_url=sandbox_url)
    written = 0
    total = max(1, int((end - start) / timeframe.duration))
    new_file = not out.exists() or out.stat().st_size == 0
    progress = JobProgress("download", total, "candles")
    try:
        with out.open("a", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            if new_file:
                writer.writerow(HEADER)
            cursor = start
            while cursor < end:
                page = await venue.fetch_candles(symbol, timeframe, since=cursor, limit=_PAGE)
                page = tuple(c for c in page if c.open_time >= cursor and c.open_time < end)
                if not page:
                    break
                writer.writerows(_row(c) for c in page)
                handle.flush()  # a crash loses at most the page in flight; a rerun continues after the last row
                written += len(page)
                cursor = page[-1].open_time + timeframe.duration
                progress(written)
    finally:
        progress.close(written)
        await venue.close()
    return written


def _row(candle: Candle) -> tuple[str, ...]:
    millis = int((candle.open_time - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(milliseconds=1))
    return (str(millis), str(candle.open), str(candle.high), str(candle.low), str(candle.close), str(candle.volume))
