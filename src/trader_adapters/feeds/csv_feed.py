"""Load OHLCV candles of one symbol from a CSV file (``timestamp_ms,open,high,low,close,volume``).

Every problem becomes one ``ConfigError`` line naming the file, the line number and the problem.
"""

from __future__ import annotations

import csv
import gc
import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from os import PathLike
from pathlib import Path

from trader_adapters.feeds.rows import CandleRows
from trader_core.model.errors import ConfigError, InvalidDataError
from trader_core.model.ids import Symbol
from trader_core.model.market import Candle, Timeframe

__all__ = ["CSV_HEADER", "MAX_VALUE", "MIN_VALUE", "load_candle_rows", "load_candles_csv"]

CSV_HEADER = ("timestamp_ms", "open", "high", "low", "close", "volume")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INFER_ROWS = 1000  # the timeframe is the most common spacing among this many leading rows
_MIN_PLAUSIBLE_MS = 10**11  # 1973 in ms; a smaller value is almost surely seconds, not milliseconds
# The calendar's first and last milliseconds (0001-01-01, 9999-12-31T23:59:59.999Z): beyond them, no date.
_CALENDAR_MS = (-62_135_596_800_000, 253_402_300_799_999)
# The sane range of a price or a (non-zero) volume: far beyond any real market, yet every value stays exact in
# Decimal arithmetic and finite and non-zero as a float (1e400 is inf and 1e-400 is 0 to an indicator).
MIN_VALUE = Decimal("1e-12")
MAX_VALUE = Decimal("1e15")


def load_candles_csv(
    path: str | PathLike[str], symbol: Symbol, timeframe: Timeframe | None = None, *, now: datetime | None = None
) -> tuple[Candle, ...]:
    """Read every candle in ``path`` (one symbol per file), oldest first.

    ``timestamp_ms`` is the candle's OPEN time in epoch milliseconds, UTC. Numbers are parsed as
    ``Decimal`` from their text. The timeframe is inferred from the most common spacing of the first
    rows unless given. Rows must be strictly ascending and at least one timeframe apart (gaps are
    allowed). Prices and non-zero volumes must lie in [``MIN_VALUE``, ``MAX_VALUE``), 1e-12 to below 1e15.
    With ``now`` (the caller's clock), a candle opening after it is bad input: a replay must
    never be asked to walk through years that have not happened. Raises ``ConfigError``
    (``<file> line <n>: <problem>``) on any problem.
    """
    name = str(path)
    try:
        # utf-8-sig: a spreadsheet's byte-order mark must not break the header check.
        with Path(path).open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{name}: cannot read candles: {exc}") from exc
    if not rows:
        raise ConfigError(f"{name} line 1: empty file (expected header {','.join(CSV_HEADER)})")
    header = tuple(cell.strip() for cell in rows[0])
    if header != CSV_HEADER:
        raise ConfigError(f"{name} line 1: bad header {','.join(rows[0])!r}, expected {','.join(CSV_HEADER)}")
    body = rows[1:]
    if not any(body):
        raise ConfigError(f"{name} line 2: no candles after the header")
    if timeframe is None:
        try:
            timeframe = _infer_timeframe(name, body)
        except ConfigError:
            # A malformed row (seconds for milliseconds, a typo) is the likelier cause and the more
            # useful message: report it if there is one.
            _parse(name, body, symbol, Timeframe("1s"))
            raise
    # Building ~10^5 acyclic objects makes the cyclic GC rescan the growing list again and again
    # (about a third of the load time); nothing here can form a cycle, so pause it.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _parse(name, body, symbol, timeframe, now)
    finally:
        if gc_was_enabled:
            gc.enable()


def load_candle_rows(
    path: str | PathLike[str], symbol: Symbol, timeframe: Timeframe | None = None, *, now: datetime | None = None
) -> CandleRows:
    """As ``load_candles_csv`` (the same checks and messages), streamed into compact ``CandleRows``: what a
    replay holds per candle is ~110 bytes instead of a ``Candle``'s ~680, and the file is never held whole."""
    name = str(path)
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header_row = next(reader, None)
            if header_row is None:
                raise ConfigError(f"{name} line 1: empty file (expected header {','.join(CSV_HEADER)})")
            if tuple(cell.strip() for cell in header_row) != CSV_HEADER:
                raise ConfigError(
                    f"{name} line 1: bad header {','.join(header_row)!r}, expected {','.join(CSV_HEADER)}")
            head = list(itertools.islice(reader, _INFER_ROWS))
            if not any(head):
                raise ConfigError(f"{name} line 2: no candles after the header")
            if timeframe is None:
                try:
                    timeframe = _infer_timeframe(name, head)
                except ConfigError:
                    _parse(name, head, symbol, Timeframe("1s"))
                    raise
            rows = CandleRows(symbol, timeframe)
            add = rows.add
            _parse(name, itertools.chain(head, reader), symbol, timeframe, now,
                   keep=lambda ms, row, _candle: add(ms, ",".join(row[1:])))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{name}: cannot read candles: {exc}") from exc
    return rows


def _infer_timeframe(name: str, body: Sequence[Sequence[str]]) -> Timeframe:
    stamps: list[int] = []
    for row in body[:_INFER_ROWS]:
        try:
            stamps.append(int(row[0]))
        except (ValueError, IndexError):
            continue  # the parse pass reports this row with its line number
    spacings = Counter(b - a for a, b in itertools.pairwise(stamps) if b > a)
    if not spacings:
        raise ConfigError(f"{name} line 2: cannot infer the timeframe from a single candle; pass timeframe")
    spacing_ms = spacings.most_common(1)[0][0]
    if spacing_ms % 1000:
        raise ConfigError(f"{name}: most common candle spacing {spacing_ms} ms is not whole seconds")
    return Timeframe.from_seconds(spacing_ms // 1000)


def _parse(name: str, body: Iterable[Sequence[str]], symbol: Symbol, tf: Timeframe,
           now: datetime | None = None, *, keep: Callable[[int, Sequence[str], Candle], None] | None = None,
           ) -> tuple[Candle, ...]:
    """Validate every row; each candle goes to ``keep`` when given (then nothing is returned), else into the
    returned tuple."""
    step_ms = int(tf.duration.total_seconds() * 1000)
    # Far beyond any real row when no clock is given (year ~5000 in ms).
    max_ms = 10**20 if now is None else int((now - _EPOCH).total_seconds() * 1000)
    candles: list[Candle] = []
    append = candles.append
    prev_ms: int | None = None
    for lineno, row in enumerate(body, start=2):
        if len(row) != 6:
            if not row:
                continue  # a blank line (usually the last one) carries nothing
            raise ConfigError(f"{name} line {lineno}: expected 6 columns ({','.join(CSV_HEADER)}), got {len(row)}")
        ts_text, o, h, low, c, v = row
        try:
            ms = int(ts_text)
            # The hot path: Candle validates positivity, finiteness and high/low consistency itself;
            # only a failing row pays for the precise diagnosis below.
            candle = Candle(
                symbol=symbol, timeframe=tf, open_time=_EPOCH + timedelta(milliseconds=ms),
                open=Decimal(o), high=Decimal(h), low=Decimal(low), close=Decimal(c), volume=Decimal(v),
            )
        except (ValueError, ArithmeticError, InvalidDataError, OverflowError) as exc:
            raise ConfigError(f"{name} line {lineno}: {_diagnose(row, exc)}") from exc
        _check_range(name, lineno, row, candle)
        if ms < _MIN_PLAUSIBLE_MS:
            raise ConfigError(f"{name} line {lineno}: timestamp_ms {ms} looks like seconds, expected milliseconds")
        if ms > max_ms:
            raise ConfigError(f"{name} line {lineno}: timestamp_ms {ms} ({candle.open_time.isoformat()}) is in the "
                              f"future (now {now.isoformat() if now else '?'})")
        if prev_ms is not None and ms - prev_ms < step_ms:
            if ms == prev_ms:
                problem = f"duplicate timestamp_ms {ms}"
            elif ms < prev_ms:
                problem = f"timestamp_ms {ms} is before the previous row's {prev_ms} (rows must ascend)"
            else:
                problem = f"timestamp_ms {ms} only {ms - prev_ms} ms after the previous row (timeframe {tf})"
            raise ConfigError(f"{name} line {lineno}: {problem}")
        prev_ms = ms
        if keep is None:
            append(candle)
        else:
            keep(ms, row, candle)
    return tuple(candles)


def _check_range(name: str, lineno: int, row: Sequence[str], candle: Candle) -> None:
    """Refuse a valid row with a price or a non-zero volume outside [MIN_VALUE, MAX_VALUE), naming the first."""
    if candle.low >= MIN_VALUE and candle.high < MAX_VALUE and (
            candle.volume == 0 or MIN_VALUE <= candle.volume < MAX_VALUE):
        return
    for column, text in zip(CSV_HEADER[1:], row[1:], strict=True):
        value = Decimal(text)
        if not (column == "volume" and value == 0) and not MIN_VALUE <= value < MAX_VALUE:
            raise ConfigError(f"{name} line {lineno}: {column} {text} is out of range "
                              f"(expected {MIN_VALUE} to below {MAX_VALUE:.0E})")


def _diagnose(row: Sequence[str], exc: Exception) -> str:  # noqa: PLR0911 - one return per problem
    """A precise reason for a row the fast path refused."""
    try:
        ms = int(row[0])
    except ValueError:
        return f"timestamp_ms {row[0]!r} is not an integer"
    first, last = _CALENDAR_MS
    if not first <= ms <= last:
        return (f"timestamp_ms {row[0]} is beyond the calendar ({'after year 9999' if ms > last else 'before year 1'}):"
                f" expected milliseconds since 1970-01-01 UTC, from {_MIN_PLAUSIBLE_MS} (1973) to {last} (the end of"
                f" 9999)")
    values: dict[str, Decimal] = {}
    for column, text in zip(CSV_HEADER[1:], row[1:], strict=True):
        try:
            value = Decimal(text)
        except (InvalidOperation, ValueError):
            return f"{column} {text!r} is not a number"
        if not value.is_finite():
            return f"{column} {text!r} is not a finite number"
        if column == "volume" and value < 0:
            return f"volume {text} is negative"
        if column != "volume" and value <= 0:
            return f"{column} {text} is not positive"
        values[column] = value
    if values["high"] < values["low"]:
        return f"high {values['high']} below low {values['low']}"
    if values["high"] < max(values["open"], values["close"]):
        return f"high {values['high']} below open/close {max(values['open'], values['close'])}"
    if values["low"] > min(values["open"], values["close"]):
        return f"low {values['low']} above open/close {min(values['open'], values['close'])}"
    return str(exc)
