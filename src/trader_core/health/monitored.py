"""The exchange ports wrapped so that every venue failure reaches the health manager.

Whichever service made the call, and whether or not it turned the error into a value, the circuit sees it.
A read that meets a passing failure (``TransientVenueError``: a 5xx, a dropped connection) is retried once at
once: a restarted bot's first tick must not fail, and leave a position unprotected, on one lost answer. A retry
that is answered is reported as such (``VenueReadRetried``), not as a circuit failure; one that fails counts both.
A write is never retried here (its outcome is resolved by client order id).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import ClassVar, TypeVar

import attrs

from trader_core.health.manager import ExchangeHealthManager
from trader_core.model import (
    AuthenticationError,
    Candle,
    ClientOrderId,
    ExchangeUnavailableError,
    InstrumentRules,
    InvalidDataError,
    OutcomeUnknownError,
    Symbol,
    Timeframe,
    TraderError,
    TransientVenueError,
)
from trader_core.model.market import Quote
from trader_core.model.orders import Balance, ExitBracket, Fill, Order, OrderRequest
from trader_core.ports import MarketData, Trading

__all__ = ["MonitoredMarketData", "MonitoredTrading"]

_T = TypeVar("_T")

# Venue errors that say something about the venue's health. A rejection, an unknown order or an unknown
# symbol is the venue answering, not failing.
_HEALTH_ERRORS = (ExchangeUnavailableError, OutcomeUnknownError, AuthenticationError, InvalidDataError)
# Market data: one symbol's quote or candles refused as malformed (a one-sided or crossed book, a bad candle) is the
# venue answering about that market; the service leaves the symbol out (MarketDataRejected), and counting it would
# trip the circuit every few ticks and pause entries in every other symbol. A venue sending nothing usable at all
# fails the whole refresh, and the tick, anyway.
_MARKET_HEALTH_ERRORS = (ExchangeUnavailableError, OutcomeUnknownError, AuthenticationError)


@attrs.define
class _Reporting:
    health: ExchangeHealthManager
    _counted: ClassVar[tuple[type[BaseException], ...]] = _HEALTH_ERRORS

    async def _call(self, site: str, call: Awaitable[_T]) -> _T:
        try:
            return await call
        except _HEALTH_ERRORS as exc:
            self.health.report_exchange_failure(site, exc)
            raise

    async def _read(self, site: str, call: Callable[[], Awaitable[_T]]) -> _T:
        """``call()``, retried once at once after a passing failure. A retry that is answered is reported as such
        (not a circuit failure); one that fails reports both failures."""
        try:
            return await call()
        except TransientVenueError as exc:
            first: TransientVenueError = exc
        except self._counted as exc:
            self.health.report_exchange_failure(site, exc)
            raise
        try:
            answer = await call()
        except self._counted as exc:
            self.health.report_exchange_failure(site, first)
            self.health.report_exchange_failure(site, exc)
            raise
        except TraderError:
            self.health.report_retried_read(site, first)  # answered, with a refusal (no such order...)
            raise
        self.health.report_retried_read(site, first)
        return answer


@attrs.define
class MonitoredMarketData(_Reporting):
    """``MarketData`` that reports every venue failure to the health manager, then raises it as before (a read
    retried once after a passing failure). Data refused as malformed is not a failure of the venue here."""

    inner: MarketData
    _counted: ClassVar[tuple[type[BaseException], ...]] = _MARKET_HEALTH_ERRORS

    async def fetch_quote(self, symbol: Symbol) -> Quote:
        """As the inner port."""
        return await self._read(f"fetch_quote {symbol}", lambda: self.inner.fetch_quote(symbol))

    async def fetch_candles(
        self, symbol: Symbol, timeframe: Timeframe, *, since: datetime | None = None, limit: int = 500
    ) -> tuple[Candle, ...]:
        """As the inner port."""
        return await self._read(f"fetch_candles {symbol}",
                                lambda: self.inner.fetch_candles(symbol, timeframe, since=since, limit=limit))

    async def fetch_instrument(self, symbol: Symbol) -> InstrumentRules:
        """As the inner port."""
        return await self._read(f"fetch_instrument {symbol}", lambda: self.inner.fetch_instrument(symbol))

    async def close(self) -> None:
        """As the inner port."""
        await self.inner.close()


@attrs.define
class MonitoredTrading(_Reporting):
    """``Trading`` that reports every venue failure to the health manager, then raises it as before (a read
    retried once after a passing failure; a write never)."""

    inner: Trading

    @property
    def venue(self) -> str:
        """The inner venue's name."""
        return self.inner.venue

    @property
    def holds_protective_exits(self) -> bool:
        """As the inner venue."""
        return self.inner.holds_protective_exits

    @property
    def holds_protective_stops(self) -> bool:
        """As the inner venue."""
        return self.inner.holds_protective_stops

    @property
    def acceptance_window(self) -> timedelta | None:
        """As the inner venue."""
        return self.inner.acceptance_window

    async def place_order(self, request: OrderRequest) -> Order:
        """As the inner port."""
        return await self._call(f"place_order {request.symbol}", self.inner.place_order(request))

    async def place_exit_bracket(self, bracket: ExitBracket) -> tuple[Order, Order]:
        """As the inner port."""
        return await self._call(f"place_exit_bracket {bracket.symbol}", self.inner.place_exit_bracket(bracket))

    async def cancel_order(self, symbol: Symbol, client_order_id: ClientOrderId) -> Order:
        """As the inner port."""
        return await self._call(f"cancel_order {symbol}", self.inner.cancel_order(symbol, client_order_id))

    async def fetch_order(self, symbol: Symbol, client_order_id: ClientOrderId) -> Order:
        """As the inner port."""
        return await self._read(f"fetch_order {symbol}", lambda: self.inner.fetch_order(symbol, client_order_id))

    async def fetch_open_orders(self, symbol: Symbol) -> tuple[Order, ...]:
        """As the inner port."""
        return await self._read(f"fetch_open_orders {symbol}", lambda: self.inner.fetch_open_orders(symbol))

    async def fetch_fills(self, symbol: Symbol, *, since: datetime | None = None, limit: int = 500) -> tuple[Fill, ...]:
        """As the inner port."""
        return await self._read(f"fetch_fills {symbol}",
                                lambda: self.inner.fetch_fills(symbol, since=since, limit=limit))

    async def fetch_balances(self) -> tuple[Balance, ...]:
        """As the inner port."""
        return await self._read("fetch_balances", self.inner.fetch_balances)

    async def close(self) -> None:
        """As the inner port."""
        await self.inner.close()
