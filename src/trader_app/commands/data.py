"""``trader-app data download``: candles from a venue through ccxt into a CSV that ``run --data`` reads.

Paginated through ``fetch_ohlcv``; resumable: an existing file is continued from its last candle.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trader_app.outputs import check_outputs
from trader_app.terminal import JobProgress
from trader_core.model import Candle, ConfigError, ExchangeError, InvalidValueError, Symbol, Timeframe, parse_time

if TYPE_CHECKING:
    from trader_adapters.ccxt import CcxtExchange

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
    if until is not None and until <= since:
        raise ConfigError(f"--until {args.until} is not after --since {args.since}: no candle lies between them")
    check_outputs({"--out": args.out})
    count = asyncio.run(download(args.exchange, symbol, timeframe, since=since, until=until, out=Path(args.out),
                                 sandbox_url=args.sandbox_url))
    print(f"{count} new candles written to {args.out}")
    return 0


def _time(text: str, flag: str) -> datetime:
    try:
        return parse_time(text, flag)
    except InvalidValueError as exc:
        raise ConfigError(str(exc)) from exc


def _last_candle(path: Path, symbol: Symbol, timeframe: Timeframe) -> Candle | None:
    """The last candle of an existing file (None for a new, empty or header-only file). A file that is not a valid
    candle CSV (another file, a bad row) is never appended to: ``ConfigError``."""
    from trader_adapters.feeds.csv_feed import load_candle_rows

    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle), [])
            has_rows = any(line.strip() for line in handle)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{path} exists but is not a candle CSV ({exc}); refusing to append") from exc
    if tuple(header) != HEADER:
        raise ConfigError(f"{path} exists but is not a candle CSV ({','.join(HEADER)}); refusing to append")
    if not has_rows:
        return None
    try:
        return load_candle_rows(path, symbol, timeframe)[-1]
    except ConfigError as exc:
        raise ConfigError(f"{exc}; refusing to append") from exc


async def download(exchange_id: str, symbol: Symbol, timeframe: Timeframe, *, since: datetime,
                   until: datetime | None, out: Path, sandbox_url: str | None = None) -> int:
    """Append every closed candle from ``since`` (or where ``out`` ends) to ``until``; the count written. A file
    is continued only when its last candle is the venue's candle of ``symbol`` at that time."""
    from trader_adapters.ccxt import CcxtExchange
    from trader_adapters.clock import SystemClock

    clock = SystemClock()
    last = _last_candle(out, symbol, timeframe)
    start = since if last is None else max(since, last.open_time + timeframe.duration)
    end = min(until or clock.now(), clock.now())
    if since >= end:
        raise ConfigError(f"--since {since.isoformat()} is in the future: no candle has closed after it yet")
    venue = CcxtExchange.create(exchange_id, clock=clock, sandbox=sandbox_url is not None, base_url=sandbox_url)
    written = [0]
    try:
        if last is not None:
            await _check_continues(venue, exchange_id, symbol, timeframe, last=last, out=out)
        return await _append(venue, symbol, timeframe, start=start, end=end, out=out, written=written)
    except ExchangeError as exc:
        # Unreachable, refusing or failing: one line (as ``run`` says a venue it cannot reach at start-up). What
        # was written is whole pages of candles, which a rerun continues; a new file is made only with the first.
        kept = f"{written[0]} candles written to {out} before it; run again to continue" if written[0] else \
            f"nothing written to {out}"
        reason = " ".join(str(exc).split())[:300]  # one line, whatever the venue's error body holds
        raise ConfigError(f"downloading from {exchange_id} failed: {reason}; {kept}") from exc
    finally:
        await venue.close()


async def _check_continues(venue: CcxtExchange, exchange_id: str, symbol: Symbol, timeframe: Timeframe, *,
                           last: Candle, out: Path) -> None:
    """``ConfigError`` unless the venue's candle of ``symbol`` at the file's last time has the file's prices: a
    file of another symbol, venue or timeframe must not be continued with this one's candles."""
    page = await venue.fetch_candles(symbol, timeframe, since=last.open_time, limit=1)
    theirs = next((c for c in page if c.open_time == last.open_time), None)
    if theirs is not None and _prices(theirs) == _prices(last):
        return
    venue_has = "no candle" if theirs is None else "open/high/low/close " + "/".join(map(str, _prices(theirs)))
    raise ConfigError(f"{out} holds other candles than {symbol} {timeframe.text} on {exchange_id} at "
                      f"{last.open_time.isoformat()}: the file has open/high/low/close "
                      f"{'/'.join(map(str, _prices(last)))}, the venue {venue_has}; nothing appended")


def _prices(candle: Candle) -> tuple[Decimal, ...]:
    return candle.open, candle.high, candle.low, candle.close


async def _append(venue: CcxtExchange, symbol: Symbol, timeframe: Timeframe, *, start: datetime,
                  end: datetime, out: Path, written: list[int]) -> int:
    """Append the venue's closed candles from ``start`` to ``end`` (a header first in a new file); the count, also
    kept in ``written[0]`` as it grows. The file is opened with the first page: a venue that never answers leaves
    no header-only file behind."""
    total = max(1, int((end - start) / timeframe.duration))
    new_file = not out.exists() or out.stat().st_size == 0
    progress = JobProgress("download", total, "candles")
    try:
        with contextlib.ExitStack() as files:
            writer: Any = None
            cursor = start
            while cursor < end:
                page = await venue.fetch_candles(symbol, timeframe, since=cursor, limit=_PAGE)
                page = tuple(c for c in page if c.open_time >= cursor and c.open_time < end)
                if not page:
                    break
                if writer is None:
                    handle = files.enter_context(out.open("a", encoding="utf-8", newline=""))
                    writer = csv.writer(handle, lineterminator="\n")
                    if new_file:
                        writer.writerow(HEADER)
                writer.writerows(_row(c) for c in page)
                handle.flush()  # a crash loses at most the page in flight; a rerun continues after the last row
                written[0] += len(page)
                cursor = page[-1].open_time + timeframe.duration
                progress(written[0])
    finally:
        progress.close(written[0])
    return written[0]


def _row(candle: Candle) -> tuple[str, ...]:
    millis = int((candle.open_time - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(milliseconds=1))
    return (str(millis), str(candle.open), str(candle.high), str(candle.low), str(candle.close), str(candle.volume))
