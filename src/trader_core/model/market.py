"""Market values: timeframes, candles and quotes.

Candles and quotes hold plain ``Decimal`` fields checked together at construction: they are created
once per bar on the replay hot path, and one validator is much cheaper than five wrapper objects.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from trader_core.model.errors import ConfigError, InvalidDataError
from trader_core.model.ids import Symbol
from trader_core.model.numbers import ZERO

__all__ = ["Candle", "MalformedCandlesError", "Quote", "Timeframe", "require_utc", "utc"]

# Units as ccxt's parse_timeframe defines them (a month is 30 days there, and here).
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2592000, "y": 31536000}
_TIMEFRAME = re.compile(r"^([1-9][0-9]*)([smhdwMy])$")


def require_utc(value: datetime, name: str = "time") -> datetime:
    """Return ``value`` if it is an aware UTC datetime; raise otherwise."""
    if type(value) is datetime and value.tzinfo is UTC:
        return value  # the common case, without the cost of utcoffset()
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() != timedelta(0):
        raise InvalidDataError(f"{name} must be an aware UTC datetime, got {value!r}")
    return value


def utc(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """attrs validator: an aware UTC datetime (None passes: optional times)."""
    if value is not None:
        require_utc(value, attribute.name)  # type: ignore[arg-type]  # require_utc checks the type itself


@attrs.frozen(order=True)
class Timeframe:
    """A candle period written as ccxt writes it (``1m``, ``5m``, ``1h``, ``1d``, ``1w``, ``1M``)."""

    text: str
    _duration: timedelta = attrs.field(init=False, eq=False, order=False, repr=False)

    def __attrs_post_init__(self) -> None:
        match = _TIMEFRAME.match(self.text) if isinstance(self.text, str) else None
        if match is None:
            raise ConfigError(
                f"unknown timeframe {self.text!r}: use a number and one of s m h d w M y, e.g. 1m, 4h, 1d"
            )
        # Computed once: candles ask for their close time on every tick.
        object.__setattr__(self, "_duration", timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)]))

    @classmethod
    def from_seconds(cls, seconds: int) -> Timeframe:
        """The shortest spelling of ``seconds`` (60 -> ``1m``)."""
        for unit in ("y", "M", "w", "d", "h", "m", "s"):
            size = _UNIT_SECONDS[unit]
            if seconds > 0 and seconds % size == 0:
                return cls(f"{seconds // size}{unit}")
        raise ConfigError(f"no timeframe spans {seconds} s")

    @property
    def duration(self) -> timedelta:
        """The period as a ``timedelta`` (parsed once, at construction)."""
        return self._duration

    def __str__(self) -> str:
        return self.text


@attrs.frozen(kw_only=True)
class Candle:
    """One OHLCV bar. ``open_time`` is the start of the bar; the bar is closed at ``close_time``."""

    symbol: Symbol
    timeframe: Timeframe
    open_time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    def __attrs_post_init__(self) -> None:
        require_utc(self.open_time, "open_time")
        for name in ("open", "high", "low", "close", "volume"):
            value = getattr(self, name)
            if type(value) is not Decimal or not value.is_finite():
                raise InvalidDataError(f"candle {name} must be a finite Decimal, got {value!r}")
        if min(self.open, self.high, self.low, self.close) <= ZERO:
            raise InvalidDataError(f"candle prices must be positive at {self.open_time.isoformat()}")
        if self.high < max(self.open, self.close, self.low) or self.low > min(self.open, self.close):
            raise InvalidDataError(f"candle high/low inconsistent at {self.open_time.isoformat()}")
        if self.volume < ZERO:
            raise InvalidDataError(f"candle volume negative at {self.open_time.isoformat()}")

    @property
    def close_time(self) -> datetime:
        """When the bar closes (the next bar's open time)."""
        return self.open_time + self.timeframe.duration


class MalformedCandlesError(InvalidDataError):
    """Some candles of a venue's answer are malformed; ``usable`` holds the well-formed ones (oldest first), so the
    reader can go past the bad ones rather than ask for the same range, and meet them, for ever."""

    def __init__(self, message: str, usable: tuple[Candle, ...]) -> None:
        super().__init__(message)
        self.usable = usable


@attrs.frozen(kw_only=True)
class Quote:
    """Top of book and last price for one symbol, as observed by us.

    ``venue_time`` is the venue's own time for the data when it gives one (Binance's depth has none);
    ``observed_at`` is when we received it; ``latency`` is how long the fetch took.
    """

    symbol: Symbol
    bid: Decimal
    ask: Decimal
    last: Decimal
    bid_size: Decimal
    ask_size: Decimal
    observed_at: datetime
    venue_time: datetime | None = None
    latency: timedelta = timedelta(0)

    def __attrs_post_init__(self) -> None:
        require_utc(self.observed_at, "observed_at")
        if self.venue_time is not None:
            require_utc(self.venue_time, "venue_time")
        for name in ("bid", "ask", "last", "bid_size", "ask_size"):
            value = getattr(self, name)
            if type(value) is not Decimal or not value.is_finite():
                raise InvalidDataError(f"quote {name} must be a finite Decimal, got {value!r}")
        if min(self.bid, self.ask, self.last) <= ZERO:
            raise InvalidDataError(f"quote prices must be positive for {self.symbol}")
        if self.bid > self.ask:
            raise InvalidDataError(f"quote bid {self.bid} above ask {self.ask} for {self.symbol}")
        if min(self.bid_size, self.ask_size) < ZERO:
            raise InvalidDataError(f"quote sizes negative for {self.symbol}")

    @property
    def mid(self) -> Decimal:
        """Midpoint of bid and ask."""
        return (self.bid + self.ask) / 2

    @property
    def spread_pct(self) -> Decimal:
        """Spread as a percent of the mid."""
        return (self.ask - self.bid) / self.mid * 100

    @property
    def age(self) -> timedelta | None:
        """Observation time minus venue time, when the venue gave a time."""
        return None if self.venue_time is None else self.observed_at - self.venue_time



