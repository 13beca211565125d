"""Events of health: circuits, trading state, pauses, venue suspensions, market-data freshness."""

from __future__ import annotations

from datetime import datetime

import attrs

from trader_core.model.events.base import Event

__all__ = [
    "CircuitDegraded",
    "CircuitRecovered",
    "CircuitTripped",
    "ExchangeReconnectFailed",
    "ExchangeReconnected",
    "MarketDataFresh",
    "MarketDataStale",
    "PauseRequested",
    "TradingStateChanged",
    "TradingStateRestored",
    "VenueAuthenticationFailed",
    "VenueCallsResumed",
    "VenueCallsSuspended",
    "VenueReadRetried",
]


# --- health: circuits, trading state, pauses, venue suspensions, market data --------------------------


@attrs.frozen(kw_only=True)
class CircuitDegraded(Event):
    """A circuit (``exchange`` or ``tool``) met a failure and is now degraded; ``site`` is the call."""

    circuit: str
    site: str
    error: str
    streak: int


@attrs.frozen(kw_only=True)
class CircuitTripped(Event):
    """A circuit's failure streak reached its threshold: entries pause until ``paused_until``."""

    circuit: str
    site: str
    error: str
    threshold: int
    paused_until: datetime


@attrs.frozen(kw_only=True)
class CircuitRecovered(Event):
    """A tick completed with no failure on a degraded or tripped circuit: it is ok again."""

    circuit: str
    previous: str


@attrs.frozen(kw_only=True)
class PauseRequested(Event):
    """Someone asked for a pause of entries; ``until`` is the pause in force afterwards (the maximum of
    the request and any pause already in force; None: indefinite), ``extended`` whether it grew."""

    source: str
    reason: str
    requested_until: datetime
    until: datetime | None
    extended: bool


@attrs.frozen(kw_only=True)
class TradingStateChanged(Event):
    """The trading state changed (``active``, ``reducing``, ``halted``)."""

    previous: str
    state: str
    reason: str
    source: str
    until: datetime | None


@attrs.frozen(kw_only=True)
class TradingStateRestored(Event):
    """At start-up, the trading state stored by an earlier run was found still in force."""

    state: str
    reason: str
    source: str
    until: datetime | None


@attrs.frozen(kw_only=True)
class VenueCallsSuspended(Event):
    """The venue rate-limited or banned us: non-essential calls wait until ``until``."""

    site: str
    until: datetime
    detail: str


@attrs.frozen(kw_only=True)
class VenueAuthenticationFailed(Event):
    """The venue refused the bot's credentials at ``site`` (a wrong, revoked or under-privileged API key): no
    order goes out any more and the bot stops, leaving what rests at the venue (protection included) in place.
    Emitted once per process; ``error`` never carries a credential."""

    site: str
    error: str


@attrs.frozen(kw_only=True)
class VenueCallsResumed(Event):
    """A venue suspension ended."""


@attrs.frozen(kw_only=True)
class ExchangeReconnected(Event):
    """The venue connection was rebuilt after failures."""

    after_failures: int


@attrs.frozen(kw_only=True)
class ExchangeReconnectFailed(Event):
    """Rebuilding the venue connection failed; it is tried again after the cooldown."""

    error: str


@attrs.frozen(kw_only=True)
class MarketDataStale(Event):
    """A symbol's market data became stale: entries in it stop (exits and protection go on)."""

    symbol: str
    reason: str
    age_s: str | None
    latency_ms: str
    basis: str


@attrs.frozen(kw_only=True)
class MarketDataFresh(Event):
    """A symbol's market data is fresh again (or for the first time)."""

    symbol: str
    age_s: str | None
    latency_ms: str


@attrs.frozen(kw_only=True)
class VenueReadRetried(Event):
    """A read met a passing failure (a 5xx, a dropped connection) and its one retry was answered: no circuit
    failure, but seen."""

    site: str
    error: str
