"""MarketDataService: each tick's market view (new closed candles, last prices) and instrument rules."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

import attrs

from trader_core.model import Candle, InstrumentRules, Symbol, Timeframe
from trader_core.ports import Clock, MarketData

__all__ = ["MarketDataService", "MarketView"]


@attrs.frozen(kw_only=True)
class MarketView:
    """What the bot knows of the market at ``now``: candles closed since the last tick and last prices."""

    now: datetime
    candles: tuple[tuple[Symbol, tuple[Candle, ...]], ...]
    last_prices: Mapping[Symbol, Decimal]

    def candles_of(self, symbol: Symbol) -> tuple[Candle, ...]:
        """New candles of ``symbol`` this tick."""
        for held, candles in self.candles:
            if held == symbol:
                return candles
        return ()


@attrs.define
class MarketDataService:
    """Fetches closed candles per symbol, never one twice, and remembers the last close."""

    market: MarketData
    clock: Clock
    symbols: tuple[Symbol, ...]
    timeframe: Timeframe
    _step: timedelta = attrs.field(init=False)
    _next_open: dict[Symbol, datetime] = attrs.field(factory=dict, init=False)
    _last_price: dict[Symbol, Decimal] = attrs.field(factory=dict, init=False)
    _first_open: dict[Symbol, Decimal] = attrs.field(factory=dict, init=False)

    def __attrs_post_init__(self) -> None:
        self._step = self.timeframe.duration

    async def load_rules(self) -> dict[Symbol, InstrumentRules]:
        """The venue's rules for every symbol (raises ``UnknownSymbolError`` for a missing one)."""
        return {symbol: await self.market.fetch_instrument(symbol) for symbol in self.symbols}

    async def refresh(self) -> MarketView:
        """Candles closed since the previous refresh, per symbol."""
        step = self._step
        fresh: list[tuple[Symbol, tuple[Candle, ...]]] = []
        for symbol in self.symbols:
            candles = await self.market.fetch_candles(symbol, self.timeframe, since=self._next_open.get(symbol))
            if candles:
                self._next_open[symbol] = candles[-1].open_time + step
                self._last_price[symbol] = candles[-1].close
                self._first_open.setdefault(symbol, candles[0].open)
            fresh.append((symbol, candles))
        return MarketView(now=self.clock.now(), candles=tuple(fresh), last_prices=dict(self._last_price))

    def first_open(self, symbol: Symbol) -> Decimal | None:
        """The open of the first candle seen for ``symbol`` (for buy-and-hold comparisons)."""
        return self._first_open.get(symbol)

    def last_prices(self) -> dict[Symbol, Decimal]:
        """The latest close seen per symbol."""
        return dict(self._last_price)
