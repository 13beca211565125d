"""The candle CSV (``timestamp_ms,open,high,low,close,volume``, one symbol per file), read and checked.

The one reading of a candle file, for the bot's feeds (``trader_adapters.feeds.csv_feed``) and for the emulator
(``trader_sandbox``, which imports no other project code): both accept and refuse the same files, in the same
words. Every problem is a :class:`CandleFileError` of one line, ``<file> line <n>: <problem>``.
"""

from __future__ import annotations

import csv
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from os import PathLike
from pathlib import Path

__all__ = ["CALENDAR_MS", "CSV_HEADER", "MAX_VALUE", "MIN_VALUE", "CandleFile", "CandleFileError", "CandleRow",
           "open_candle_file"]

CSV_HEADER = ("timestamp_ms", "open", "high", "low", "close", "volume")
# The sane range of a price or a (non-zero) volume: far beyond any real market, yet every value stays exact in
# Decimal arithmetic and finite and non-zero as a float (1e400 is inf and 1e-400 is 0 to an indicator).
MIN_VALUE = Decimal("1e-12")
MAX_VALUE = Decimal("1e15")
# The calendar's first and last milliseconds (0001-01-01, 9999-12-31T23:59:59.999Z): beyond them, no date.
CALENDAR_MS = (-62_135_596_800_000, 253_402_300_799_999)
_MIN_PLAUSIBLE_MS = 10**11  # 1973 in ms; a smaller value is almost surely seconds, not milliseconds
_INFER_ROWS = 1000  # the spacing is the most common one among this many leading rows
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNITS = (("y", 31_536_000), ("M", 2_592_000), ("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))

CandleRow = tuple[int, Sequence[str], tuple[Decimal, Decimal, Decimal, Decimal, Decimal]]


class CandleFileError(ValueError):
    """A candle file that cannot be used; the message is one line naming the file, the line and the problem."""


@dataclass(frozen=True)
class CandleFile:
    """An open candle file: the spacing of its candles in ms (``step_ms``, given or the most common one of its first
    rows, ``step_text`` spelled as a timeframe) and its ``rows``, each checked as it is read, oldest first: the open
    time in ms, the row's six texts and its five values."""

    name: str
    step_ms: int
    step_text: str
    rows: Iterator[CandleRow]


@contextmanager
def open_candle_file(path: str | PathLike[str], *, step_ms: int | None = None, step_text: str | None = None,
                     now: datetime | None = None) -> Iterator[CandleFile]:
    """Open the candle CSV at ``path`` for the ``with`` block; the file is never held whole.

    Rows must be strictly ascending and at least ``step_ms`` apart (gaps are allowed); prices and non-zero volumes
    must lie in [``MIN_VALUE``, ``MAX_VALUE``); open times in milliseconds from 1973 to the end of 9999. With
    ``now``, a candle opening after it is refused (a replay must never walk through years that have not happened).
    Raises :class:`CandleFileError` on any problem, here or while ``rows`` is read."""
    name = str(path)
    try:
        # utf-8-sig: a spreadsheet's byte-order mark must not break the header check.
        with Path(path).open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise CandleFileError(f"{name} line 1: empty file (expected header {','.join(CSV_HEADER)})")
            if tuple(cell.strip() for cell in header) != CSV_HEADER:
                raise CandleFileError(
                    f"{name} line 1: bad header {','.join(header)!r}, expected {','.join(CSV_HEADER)}")
            head = list(itertools.islice(reader, _INFER_ROWS))
            if not any(head):
                raise CandleFileError(f"{name} line 2: no candles after the header")
            if step_ms is None:
                try:
                    step_ms = _infer_step(name, head)
                except CandleFileError:
                    # A malformed row (seconds for milliseconds, a typo) is the likelier cause and the more useful
                    # message: report it if there is one.
                    for _ in _checked(name, head, 1000, "1s", now):
                        pass
                    raise
            text = step_text or _spell(step_ms)
            yield CandleFile(name, step_ms, text, _checked(name, itertools.chain(head, reader), step_ms, text, now))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CandleFileError(f"{name}: cannot read candles: {exc}") from exc


def _infer_step(name: str, head: Sequence[Sequence[str]]) -> int:
    stamps: list[int] = []
    for row in head:
        try:
            stamps.append(int(row[0]))
        except (ValueError, IndexError):
            continue  # the check reports this row with its line number
    spacings = Counter(b - a for a, b in itertools.pairwise(stamps) if b > a)
    if not spacings:
        raise CandleFileError(f"{name} line 2: cannot infer the timeframe from a single candle; pass timeframe")
    spacing_ms = spacings.most_common(1)[0][0]
    if spacing_ms % 1000:
        raise CandleFileError(f"{name}: most common candle spacing {spacing_ms} ms is not whole seconds")
    return spacing_ms


def _spell(step_ms: int) -> str:
    """The shortest timeframe spelling of ``step_ms`` (60000 -> ``1m``), as ccxt and ``Timeframe`` write it."""
    seconds = step_ms // 1000
    for unit, size in _UNITS:
        if seconds > 0 and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{step_ms} ms"


def _checked(name: str, body: Iterable[Sequence[str]], step_ms: int, step_text: str,
             now: datetime | None) -> Iterator[CandleRow]:
    """Each row of ``body`` (line 2 on) checked, as (open ms, texts, values); blank lines are skipped."""
    first, last = CALENDAR_MS
    max_ms = last if now is None else min(last, (now - _EPOCH) // timedelta(milliseconds=1))
    prev_ms: int | None = None
    for lineno, row in enumerate(body, start=2):
        if len(row) != len(CSV_HEADER):
            if not row:
                continue  # a blank line (usually the last one) carries nothing
            raise CandleFileError(f"{name} line {lineno}: expected 6 columns ({','.join(CSV_HEADER)}), got {len(row)}")
        try:
            ms = int(row[0])
            values = (Decimal(row[1]), Decimal(row[2]), Decimal(row[3]), Decimal(row[4]), Decimal(row[5]))
            o, h, low, c, v = values
            # The hot path: one chained comparison for positivity, consistency and range (a NaN raises);
            # only a failing row pays for the precise diagnosis below.
            sane = (MIN_VALUE <= low <= o <= h < MAX_VALUE and low <= c <= h
                    and (not v or MIN_VALUE <= v < MAX_VALUE) and first <= ms <= last)
        except (ValueError, ArithmeticError):
            sane = False
        if not sane:
            raise CandleFileError(f"{name} line {lineno}: {_problem(row)}")
        if ms < _MIN_PLAUSIBLE_MS:
            raise CandleFileError(f"{name} line {lineno}: timestamp_ms {ms} looks like seconds, expected milliseconds")
        if ms > max_ms:
            when = (_EPOCH + timedelta(milliseconds=ms)).isoformat()
            raise CandleFileError(f"{name} line {lineno}: timestamp_ms {ms} ({when}) is in the future "
                                  f"(now {now.isoformat() if now else '?'})")
        if prev_ms is not None and ms - prev_ms < step_ms:
            if ms == prev_ms:
                problem = f"duplicate timestamp_ms {ms}"
            elif ms < prev_ms:
                problem = f"timestamp_ms {ms} is before the previous row's {prev_ms} (rows must ascend)"
            else:
                problem = f"timestamp_ms {ms} only {ms - prev_ms} ms after the previous row (timeframe {step_text})"
            raise CandleFileError(f"{name} line {lineno}: {problem}")
        prev_ms = ms
        yield ms, row, values


def _problem(row: Sequence[str]) -> str:  # noqa: PLR0911 - one return per problem
    """What is wrong with a row the hot path refused, in the order a person would fix it."""
    try:
        ms = int(row[0])
    except ValueError:
        return f"timestamp_ms {row[0]!r} is not an integer"
    first, last = CALENDAR_MS
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
    for column, text in zip(CSV_HEADER[1:], row[1:], strict=True):
        value = values[column]
        if not (column == "volume" and value == 0) and not MIN_VALUE <= value < MAX_VALUE:
            return f"{column} {text} is out of range (expected {MIN_VALUE} to below {MAX_VALUE:.0E})"
    return "not a candle"  # unreachable: the hot path refused it for one of the reasons above
