"""``CandleRows``: one symbol's candles held as compact rows, built into ``Candle`` values when asked for.

A replay of 130,708 candles held as ``Candle`` objects (a datetime and five Decimals each) takes ~680 bytes a
candle; as rows (the open time in an int array, the five values as their CSV text) ~110 bytes. A replay reads
each candle a few times around the moment it is revealed, so the last few built are kept.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import overload

from trader_core.model.ids import Symbol
from trader_core.model.market import Candle, Timeframe

__all__ = ["CandleRows"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_RECENT = 256  # candles kept built: a strategy's window and the reveal around the clock


class CandleRows(Sequence[Candle]):
    """Candles of ``symbol`` at ``timeframe``, oldest first, appended by the loader (which validated them)."""

    def __init__(self, symbol: Symbol, timeframe: Timeframe) -> None:
        self.symbol = symbol
        self.timeframe = timeframe
        self._open_ms = array("q")
        self._values: list[str] = []
        self._recent: dict[int, Candle] = {}

    def add(self, open_ms: int, values: str) -> None:
        """Append a candle opening at ``open_ms`` (epoch ms) whose ``open,high,low,close,volume`` text is
        ``values`` (already validated)."""
        self._open_ms.append(open_ms)
        self._values.append(values)

    def __len__(self) -> int:
        return len(self._values)

    def first_from(self, when: datetime, end: int) -> int:
        """The index of the first candle opening at or after ``when`` among the first ``end`` (a bisect over the
        open times: no candle is built)."""
        since = when - _EPOCH
        ms = since // _MS + (1 if since % _MS else 0)
        return bisect.bisect_left(self._open_ms, ms, 0, end)

    @overload
    def __getitem__(self, index: int) -> Candle: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Candle, ...]: ...

    def __getitem__(self, index: int | slice) -> Candle | tuple[Candle, ...]:
        if isinstance(index, slice):
            return tuple(self._build(i) for i in range(*index.indices(len(self))))
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError(f"candle {index} of {len(self)}")
        return self._build(position)

    def _build(self, position: int) -> Candle:
        candle = self._recent.get(position)
        if candle is None:
            o, h, low, c, v = self._values[position].split(",")
            candle = Candle(symbol=self.symbol, timeframe=self.timeframe,
                            open_time=_EPOCH + timedelta(milliseconds=self._open_ms[position]),
                            open=Decimal(o), high=Decimal(h), low=Decimal(low), close=Decimal(c), volume=Decimal(v))
            if len(self._recent) >= _RECENT:
                del self._recent[next(iter(self._recent))]
            self._recent[position] = candle
        return candle
