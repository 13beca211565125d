"""Harnesses that let one contract suite drive every simulated exchange: the fake and paper + replay.

Each harness exposes the venue (``Trading``), the market (``MarketData``), a way to move a symbol's
price (``move_price_to``) and to fund the account. Both start with BTC/USDT at 30000 and ETH/USDT at
2000, one closed 1m candle each, and an empty account.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from trader_adapters.clock import SimulatedClock
from trader_adapters.memory.exchange import FakeExchange
from trader_adapters.paper.replay import ReplayMarket
from trader_adapters.paper.venue import PaperExchange
from trader_core.model import Asset, Candle, Symbol, Timeframe
from trader_core.ports.exchange import MarketData, Trading

BTC = Symbol.parse("BTC/USDT")
ETH = Symbol.parse("ETH/USDT")
UNLISTED = Symbol.parse("XRP/USDT")
USDT = Asset("USDT")
BTC_ASSET = Asset("BTC")
TF = Timeframe("1m")
T0 = datetime(2024, 1, 1, tzinfo=UTC)
START_PRICES = {BTC: Decimal("30000.00"), ETH: Decimal("2000.00")}
FEE_RATE = Decimal("0.001")

_T = TypeVar("_T")


def run(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run one coroutine to completion (pytest-asyncio is not a dependency)."""
    return asyncio.run(coro)


def bar(symbol: Symbol, open_time: datetime, ohlc: str, volume: str = "1") -> Candle:
    """A 1m candle from ``"open high low close"`` text."""
    o, h, low, c = (Decimal(text) for text in ohlc.split())
    return Candle(
        symbol=symbol, timeframe=TF, open_time=open_time, open=o, high=h, low=low, close=c, volume=Decimal(volume)
    )


def flat(symbol: Symbol, open_time: datetime, price: Decimal) -> Candle:
    """A candle that stays at ``price``."""
    return bar(symbol, open_time, f"{price} {price} {price} {price}")


def move(symbol: Symbol, open_time: datetime, start: Decimal, end: Decimal) -> Candle:
    """A candle opening at ``start`` and closing at ``end``, with no wick beyond them."""
    return bar(symbol, open_time, f"{start} {max(start, end)} {min(start, end)} {end}")


class ExchangeHarness(Protocol):
    """What the contract suite needs from an implementation."""

    name: str
    venue: Trading
    market: MarketData
    clock: SimulatedClock

    async def move_price_to(self, symbol: Symbol, price: Decimal) -> None:
        """Make the market trade from the current price to ``price`` (resting orders may execute)."""
        ...

    def fund(self, asset: Asset, amount: Decimal) -> None:
        """Credit the account."""
        ...


class FakeHarness:
    """FakeExchange: one object is both market and venue; prices are set directly."""

    name = "fake"

    def __init__(self) -> None:
        self.clock = SimulatedClock(T0 + TF.duration)
        self.exchange = FakeExchange(clock=self.clock, fee_rate=FEE_RATE)
        self.venue: Trading = self.exchange
        self.market: MarketData = self.exchange
        self.last = dict(START_PRICES)
        for symbol, price in START_PRICES.items():
            self.exchange.add_candles([flat(symbol, T0, price)])
            self.exchange.set_price(symbol, price)

    async def move_price_to(self, symbol: Symbol, price: Decimal) -> None:
        """Record the minute's candle, advance past it, then set the price (resting orders match at once)."""
        candle = move(symbol, self.clock.now(), self.last[symbol], price)
        self.exchange.add_candles([candle])
        self.clock.advance(TF.duration)
        self.exchange.set_price(symbol, price)
        self.last[symbol] = price

    def fund(self, asset: Asset, amount: Decimal) -> None:
        """Credit the account."""
        self.exchange.deposit(asset, amount)


class PaperHarness:
    """PaperExchange over a ReplayMarket: moving the price appends a candle and lets it close."""

    name = "paper"

    def __init__(self) -> None:
        self.clock = SimulatedClock(T0)
        series = {symbol: [flat(symbol, T0, price)] for symbol, price in START_PRICES.items()}
        self.replay = ReplayMarket(series, self.clock)
        self.paper = PaperExchange(market=self.replay, clock=self.clock, fee_rate=FEE_RATE)
        self.venue: Trading = self.paper
        self.market: MarketData = self.replay
        self.clock.advance_to(self.replay.start_time)
        self.replay.sync()

    async def move_price_to(self, symbol: Symbol, price: Decimal) -> None:
        """Append a candle opening now at the last close and closing at ``price``; advance past it."""
        last = self.replay.last_candle(symbol)
        assert last is not None
        candle = move(symbol, max(self.clock.now(), last.close_time), last.close, price)
        self.replay.append(candle)
        self.clock.advance_to(candle.close_time)
        self.replay.sync()

    def fund(self, asset: Asset, amount: Decimal) -> None:
        """Credit the account."""
        self.paper.deposit(asset, amount)


HARNESSES = ("fake", "paper")


def make_harness(name: str) -> ExchangeHarness:
    """A fresh harness by name (one of ``HARNESSES``)."""
    return FakeHarness() if name == "fake" else PaperHarness()


__all__ = [
    "BTC",
    "BTC_ASSET",
    "ETH",
    "FEE_RATE",
    "HARNESSES",
    "T0",
    "TF",
    "UNLISTED",
    "USDT",
    "ExchangeHarness",
    "FakeHarness",
    "PaperHarness",
    "bar",
    "flat",
    "make_harness",
    "move",
    "run",
]
