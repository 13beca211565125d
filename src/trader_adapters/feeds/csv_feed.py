"""Load OHLCV candles of one symbol from a CSV file (``timestamp_ms,open,high,low,close,volume``).

The file is read and checked by ``trader_formats.candle_csv``, the one reading of a candle file (the emulator
uses it too); every problem becomes one ``ConfigError`` line naming the file, the line number and the problem.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from os import PathLike

from trader_adapters.feeds.rows import CandleRows
from trader_core.model.errors import ConfigError
from trader_core.model.ids import Symbol
from trader_core.model.market import Candle, Timeframe
from trader_formats.candle_csv import CSV_HEADER, MAX_VALUE, MIN_VALUE, CandleFile, CandleFileError, open_candle_file

__all__ = ["CSV_HEADER", "MAX_VALUE", "MIN_VALUE", "load_candle_rows", "load_candles_csv"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
    try:
        with _no_gc(), _open(path, timeframe, now) as file:
            tf = _timeframe(file, timeframe)
            return tuple(Candle(symbol=symbol, timeframe=tf, open_time=_EPOCH + timedelta(milliseconds=ms),
                                open=o, high=h, low=low, close=c, volume=v)
                         for ms, _row, (o, h, low, c, v) in file.rows)
    except CandleFileError as exc:
        raise ConfigError(str(exc)) from exc


def load_candle_rows(
    path: str | PathLike[str], symbol: Symbol, timeframe: Timeframe | None = None, *, now: datetime | None = None
) -> CandleRows:
    """As ``load_candles_csv`` (the same checks and messages), streamed into compact ``CandleRows``: what a
    replay holds per candle is ~110 bytes instead of a ``Candle``'s ~680, and the file is never held whole."""
    try:
        with _no_gc(), _open(path, timeframe, now) as file:
            rows = CandleRows(symbol, _timeframe(file, timeframe))
            add = rows.add
            for ms, row, _values in file.rows:
                add(ms, ",".join(row[1:]))
            return rows
    except CandleFileError as exc:
        raise ConfigError(str(exc)) from exc


@contextmanager
def _no_gc() -> Iterator[None]:
    """Building ~10^5 acyclic objects makes the cyclic GC rescan the growing collection again and again (about a
    third of the load time); nothing here can form a cycle, so it is paused."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _open(path: str | PathLike[str], timeframe: Timeframe | None,
          now: datetime | None) -> AbstractContextManager[CandleFile]:
    step = None if timeframe is None else int(timeframe.duration.total_seconds() * 1000)
    return open_candle_file(path, step_ms=step, step_text=None if timeframe is None else str(timeframe), now=now)


def _timeframe(file: CandleFile, given: Timeframe | None) -> Timeframe:
    return given if given is not None else Timeframe.from_seconds(file.step_ms // 1000)
