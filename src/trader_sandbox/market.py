"""Market data per symbol: the candle series the emulator steps through, the last price, and the public
answers built from them (24h ticker, synthetic depth, klines)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from trader_sandbox.book import ZERO, floor_to, fmt
from trader_sandbox.fixtures import Candle, SymbolRules

__all__ = ["INTERVALS", "SymbolMarket"]

INTERVALS: dict[str, int] = {
    "1s": 1_000, "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
    "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000, "8h": 28_800_000,
    "12h": 43_200_000, "1d": 86_400_000, "3d": 259_200_000, "1w": 604_800_000,
}
DAY_MS = 86_400_000


class SymbolMarket:
    """One symbol's prices: ``history`` is the revealed candles, ``pending`` yields the ones steps reveal
    (a list's iterator for a CSV, an endless generator for synthetic data)."""

    def __init__(self, rules: SymbolRules, candles: Iterable[Candle], history: int) -> None:
        self.rules = rules
        self.pending = iter(candles)
        self.history: list[Candle] = list(itertools.islice(self.pending, max(1, history)))
        if not self.history:
            raise ValueError(f"{rules.symbol}: no candles")
        self.interval_ms = self.history[1].time - self.history[0].time if len(self.history) > 1 else 60_000
        self.last: Decimal = self.history[-1].close
        self._next: Candle | None = None

    def peek(self) -> Candle | None:
        """The next candle a step would reveal (None once the series is exhausted)."""
        if self._next is None:
            self._next = next(self.pending, None)
        return self._next

    def step(self, *, quiet: bool = False) -> list[Decimal]:
        """Reveal the next candle; return the price path it walks (open, nearer extreme, other extreme, close).
        ``quiet``: the candle's time passes with no trade (open, high, low and close at the last price, no volume,
        an empty path), as a real venue's candle does when nobody trades.

        An exhausted series returns an empty path and the price stays where it is."""
        c = self.peek()
        if c is None:
            return []
        self._next = None
        if quiet:
            self.history.append(Candle(c.time, self.last, self.last, self.last, self.last, ZERO))
            return []
        self.history.append(c)
        # A rising bar most likely visited its low first; a falling bar its high first.
        return [c.open, c.low, c.high, c.close] if c.close >= c.open else [c.open, c.high, c.low, c.close]

    def set_last(self, price: Decimal) -> None:
        """Set the last price and fold it into the current candle so the ticker and klines agree."""
        self.last = price
        cur = self.history[-1]
        self.history[-1] = replace(cur, high=max(cur.high, price), low=min(cur.low, price), close=price)

    def book_prices(self) -> tuple[Decimal, Decimal]:
        """Best bid and ask: one tick either side of the last price."""
        tick = self.rules.tick
        return max(tick, self.last - tick), self.last + tick

    def ticker(self, close_time: int) -> dict[str, Any]:
        """The ``GET /api/v3/ticker/24hr`` answer, over the revealed candles of the last 24 hours."""
        end = self.history[-1].time
        window = [c for c in self.history if c.time > end - DAY_MS] or self.history[-1:]
        open_ = window[0].open
        high = max(*(c.high for c in window), self.last)
        low = min(*(c.low for c in window), self.last)
        volume = sum((c.volume for c in window), ZERO)
        quote_volume = sum((c.volume * c.close for c in window), ZERO)
        bid, ask = self.book_prices()
        change = self.last - open_
        pct = (change * 100 / open_).quantize(Decimal("0.001")) if open_ else ZERO
        prev_close = window[0].open
        return {
            "symbol": self.rules.symbol, "priceChange": fmt(change), "priceChangePercent": str(pct),
            "weightedAvgPrice": fmt(floor_to(quote_volume / volume, self.rules.tick) if volume else self.last),
            "prevClosePrice": fmt(prev_close), "lastPrice": fmt(self.last), "lastQty": fmt(self.rules.min_qty),
            "bidPrice": fmt(bid), "bidQty": fmt(self._level_qty(0)), "askPrice": fmt(ask),
            "askQty": fmt(self._level_qty(0)), "openPrice": fmt(open_), "highPrice": fmt(high),
            "lowPrice": fmt(low), "volume": fmt(volume), "quoteVolume": fmt(floor_to(quote_volume, Decimal("1e-8"))),
            "openTime": window[0].time, "closeTime": close_time, "firstId": 0, "lastId": len(window) - 1,
            "count": len(window),
        }

    def _level_qty(self, level: int) -> Decimal:
        # Roughly 500..2000 USDT per level, a multiple of the step, never below minQty.
        notional = Decimal(500) * (1 + level % 4)
        return max(self.rules.min_qty, floor_to(notional / self.last, self.rules.step))

    def depth(self, limit: int) -> dict[str, Any]:
        """A synthetic book of ``limit`` levels a side, spaced about 1 bp apart around the last price."""
        tick = self.rules.tick
        gap = max(tick, floor_to(self.last / 10_000, tick))
        bid, ask = self.book_prices()
        bids = [[fmt(bid - i * gap), fmt(self._level_qty(i))] for i in range(limit) if bid - i * gap >= tick]
        asks = [[fmt(ask + i * gap), fmt(self._level_qty(i))] for i in range(limit)]
        return {"lastUpdateId": len(self.history), "bids": bids, "asks": asks}

    def public_trades(self, limit: int, aggregated: bool) -> list[dict[str, Any]]:
        """Recent market trades, synthesized: one per revealed candle at its close (the last at the last
        price), ids = candle index; ``aggregated`` gives the ``aggTrades`` shape, else the ``trades`` one."""
        out: list[dict[str, Any]] = []
        start = max(0, len(self.history) - limit)
        for i in range(start, len(self.history)):
            c = self.history[i]
            price = self.last if i == len(self.history) - 1 else c.close
            qty = max(self.rules.min_qty, floor_to(c.volume / 100, self.rules.step))
            buyer_maker = i % 2 == 0
            t = c.time + self.interval_ms - 1
            if aggregated:
                out.append({"a": i, "p": fmt(price), "q": fmt(qty), "f": i, "l": i, "T": t, "m": buyer_maker,
                            "M": True})
            else:
                out.append({"id": i, "price": fmt(price), "qty": fmt(qty), "quoteQty": fmt(price * qty),
                            "time": t, "isBuyerMaker": buyer_maker, "isBestMatch": True})
        return out

    def klines(self, interval: str, start: int | None, end: int | None, limit: int) -> list[list[Any]]:
        """Revealed candles as 12-element klines, aggregated to ``interval`` when it is a multiple of the
        series' own interval (otherwise the series' own candles are served)."""
        size = INTERVALS.get(interval, self.interval_ms)
        bars = self._aggregate(size) if size > self.interval_ms and size % self.interval_ms == 0 else self.history
        span = size if size > self.interval_ms else self.interval_ms
        if start is not None:
            bars = [c for c in bars if c.time >= start]
        if end is not None:
            bars = [c for c in bars if c.time <= end]
        bars = bars[:limit] if start is not None else bars[-limit:]
        return [
            [c.time, fmt(c.open), fmt(c.high), fmt(c.low), fmt(c.close), fmt(c.volume), c.time + span - 1,
             fmt(floor_to(c.volume * c.close, Decimal("1e-8"))), 1, fmt(c.volume / 2), fmt(ZERO), "0"]
            for c in bars
        ]

    def _aggregate(self, size: int) -> list[Candle]:
        out: list[Candle] = []
        for c in self.history:
            bucket = c.time - c.time % size
            if out and out[-1].time == bucket:
                p = out[-1]
                out[-1] = Candle(bucket, p.open, max(p.high, c.high), min(p.low, c.low), c.close, p.volume + c.volume)
            else:
                out.append(Candle(bucket, c.open, c.high, c.low, c.close, c.volume))
        return out
