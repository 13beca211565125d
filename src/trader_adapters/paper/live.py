"""Paper trading on live public data: a real venue's candles also drive the paper venue's fills."""

from __future__ import annotations

from datetime import datetime

import attrs

from trader_adapters.paper.replay import ReplayMarket
from trader_core.model import Candle, ConfigError, InstrumentRules, MalformedCandlesError, Quote, Symbol, Timeframe
from trader_core.ports import MarketData

__all__ = ["LivePaperMarket"]


@attrs.define
class LivePaperMarket:
    """``MarketData`` from ``source`` (e.g. ccxt public data); every new closed candle is appended to
    ``replay``, whose subscribers (the paper venue) fill orders against it, exactly as in a replay."""

    source: MarketData
    replay: ReplayMarket

    async def fetch_quote(self, symbol: Symbol) -> Quote:
        """The source's quote, revealed to the paper venue first (its resting orders are matched against it)."""
        quote = await self.source.fetch_quote(symbol)
        if self.replay.is_listed(symbol):
            self.replay.reveal_quote(quote)
        return quote

    async def fetch_candles(
        self, symbol: Symbol, timeframe: Timeframe, *, since: datetime | None = None, limit: int = 500
    ) -> tuple[Candle, ...]:
        """The source's closed candles; the new ones are handed to the paper venue first (the well-formed ones
        when some are malformed: the error is raised after)."""
        try:
            candles = await self.source.fetch_candles(symbol, timeframe, since=since, limit=limit)
        except MalformedCandlesError as exc:
            self._feed(symbol, exc.usable)
            raise
        self._feed(symbol, candles)
        return candles

    def _feed(self, symbol: Symbol, candles: tuple[Candle, ...]) -> None:
        last = self.replay.last_candle(symbol) if self.replay.is_listed(symbol) else None
        for candle in candles:
            if last is None or candle.open_time > last.open_time:
                try:
                    # Late: another symbol's newer candle may be revealed already (this symbol's fetch failed
                    # or lagged); dropping this one would skip the stops and targets it reaches.
                    self.replay.append(candle, late=True)
                except ConfigError:
                    continue  # another timeframe's candles (OHLCV capture) are not the paper venue's
                last = candle
        self.replay.sync()

    async def fetch_instrument(self, symbol: Symbol) -> InstrumentRules:
        """The source's rules: paper orders obey the real venue's filters."""
        return await self.source.fetch_instrument(symbol)

    async def close(self) -> None:
        """Close the source."""
        await self.source.close()
