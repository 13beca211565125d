"""Harnesses that run the exchange contract suite through ``CcxtExchange``: over the loopback Binance-spot
emulator (``trader_sandbox``), and, opt-in, over the real Binance spot testnet.

The emulator harness starts like the simulated ones: BTC/USDT at 30000, ETH/USDT at 2000 and an empty
account. Unlike them it is a real venue over HTTP: time is the wall clock, candles are the emulator's
own series, and fees are charged in the asset received (as on Binance).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any, cast

import pytest

from tests.contract.exchange_harness import BTC, FEE_RATE, START_PRICES
from trader_adapters.ccxt import CcxtExchange
from trader_adapters.clock import SystemClock
from trader_core.model import Asset, Symbol
from trader_core.ports.exchange import MarketData, Trading
from trader_sandbox import Sandbox
from trader_sandbox.testing import running_sandbox

__all__ = [
    "TESTNET_KEY_VARIABLE",
    "TESTNET_SECRET_VARIABLE",
    "TESTNET_SKIP_REASON",
    "CcxtSandboxHarness",
    "CcxtTestnetHarness",
    "LoopThread",
    "OnLoop",
    "market_id",
    "testnet_credentials_or_skip",
]

TESTNET_KEY_VARIABLE = "TRADER_TESTNET_API_KEY"
TESTNET_SECRET_VARIABLE = "TRADER_TESTNET_SECRET"
TESTNET_SKIP_REASON = "Binance spot testnet not configured: set TRADER_TESTNET_API_KEY and TRADER_TESTNET_SECRET"


class LoopThread:
    """One event loop on a background thread. The suite's ``run`` starts a new loop per call; routing the
    adapter's coroutines through this loop keeps it on one loop and one HTTP session, as in production."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="ccxt-harness-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` on the loop and wait for it (from a thread outside the loop)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def stop(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()


class OnLoop:
    """A proxy whose coroutine methods run ``target``'s on a :class:`LoopThread`; other attributes pass through."""

    def __init__(self, target: object, loop: LoopThread) -> None:
        self._target, self._loop = target, loop

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute
        method: Callable[..., Coroutine[Any, Any, Any]] = attribute

        async def on_loop(*args: Any, **kwargs: Any) -> Any:
            future = asyncio.run_coroutine_threadsafe(method(*args, **kwargs), self._loop.loop)
            return await asyncio.wrap_future(future)

        return on_loop


def market_id(symbol: Symbol) -> str:
    """Binance's id for a spot symbol (``BTCUSDT``)."""
    return f"{symbol.base}{symbol.quote}"


class CcxtSandboxHarness:
    """``CcxtExchange`` (real ccxt, real HTTP) against an in-process emulator on 127.0.0.1 speaking ``venue``'s
    API (``binance`` or ``gemini``)."""

    name = "ccxt"

    def __init__(self, venue: str = "binance", symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")) -> None:
        self._context = running_sandbox(balances={}, symbols=symbols, history=50, commission_rate=FEE_RATE,
                                         venue=venue)
        self.sandbox: Sandbox = self._context.__enter__()
        self.clock = SystemClock()
        self.exchange = CcxtExchange.create(
            venue, clock=self.clock, api_key=self.sandbox.api_key, secret=self.sandbox.secret,
            base_url=self.sandbox.url, options={"enableRateLimit": False, "timeout": 5000},
        )
        self.loop = LoopThread()
        self.venue = cast(Trading, OnLoop(self.exchange, self.loop))
        self.market = cast(MarketData, OnLoop(self.exchange, self.loop))
        for symbol, price in START_PRICES.items():
            self.sandbox.set_price(market_id(symbol), price)

    async def move_price_to(self, symbol: Symbol, price: Decimal) -> None:
        """Walk the emulator's last price to ``price``: resting orders and stops it crosses execute."""
        self.sandbox.set_price(market_id(symbol), price)

    def fund(self, asset: Asset, amount: Decimal) -> None:
        """Credit the emulated account."""
        free, _locked = self.sandbox.balances().get(asset.code, (Decimal(0), Decimal(0)))
        self.sandbox.set_balances({asset.code: free + amount})

    def close(self) -> None:
        """Close the adapter's session and stop the emulator."""
        self.loop.run(self.exchange.close())
        self.loop.stop()
        self._context.__exit__(None, None, None)


def testnet_credentials_or_skip() -> tuple[str, str]:
    """The testnet key and secret from the environment, or skip the test saying which variables to set."""
    key, secret = os.environ.get(TESTNET_KEY_VARIABLE), os.environ.get(TESTNET_SECRET_VARIABLE)
    if not key or not secret:
        pytest.skip(TESTNET_SKIP_REASON)
    return key, secret


class CcxtTestnetHarness:
    """``CcxtExchange`` against the real Binance spot testnet (sandbox mode, no base URL).

    Prices cannot be moved and the account cannot be funded at will: tests that need either are skipped
    by :meth:`move_price_to` and :meth:`fund`, so only what a real venue allows runs here.
    """

    name = "testnet"

    def __init__(self, api_key: str, secret: str) -> None:
        self.clock = SystemClock()
        self.exchange = CcxtExchange.create("binance", clock=self.clock, api_key=api_key, secret=secret, sandbox=True)
        self.loop = LoopThread()
        self.venue = cast(Trading, OnLoop(self.exchange, self.loop))
        self.market = cast(MarketData, OnLoop(self.exchange, self.loop))
        self.symbol = BTC

    async def move_price_to(self, symbol: Symbol, price: Decimal) -> None:
        """A real market cannot be moved."""
        pytest.skip(f"the testnet's {symbol} price cannot be moved to {price}")

    def fund(self, asset: Asset, amount: Decimal) -> None:
        """A real account cannot be funded on demand."""
        pytest.skip(f"the testnet account cannot be credited {amount} {asset} on demand")

    def close(self) -> None:
        """Close the adapter's session."""
        self.loop.run(self.exchange.close())
        self.loop.stop()
