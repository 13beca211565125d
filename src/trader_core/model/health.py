"""Health values: circuits, the trading state (with reason, source and expiry), data freshness, policy.

All frozen; the decisions over them are pure functions in ``trader_core.health``.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from trader_core.model.errors import InvalidValueError
from trader_core.model.ids import Symbol
from trader_core.model.market import utc

__all__ = [
    "CircuitHealth",
    "CircuitName",
    "CircuitPolicy",
    "CircuitState",
    "Freshness",
    "HealthPolicy",
    "TradingState",
    "TradingStatus",
]


class CircuitName(enum.Enum):
    """The circuits: the venue, and the strategy's tools (the signal source and data it asks for)."""

    EXCHANGE = "exchange"
    TOOL = "tool"


class CircuitHealth(enum.Enum):
    """``ok`` -> ``degraded`` on a failure; ``degraded`` -> ``tripped`` at the threshold;
    ``tripped`` -> ``degraded`` on a further failure; either -> ``ok`` after a clean tick."""

    OK = "ok"
    DEGRADED = "degraded"
    TRIPPED = "tripped"


@attrs.frozen(kw_only=True)
class CircuitState:
    """One circuit: its health, the failure streak (reset on a trip and on a clean tick), and the call
    site and error of the last failure (detail only)."""

    name: CircuitName
    health: CircuitHealth = CircuitHealth.OK
    streak: int = 0
    last_site: str = ""
    last_error: str = ""

    def __attrs_post_init__(self) -> None:
        if self.streak < 0:
            raise InvalidValueError(f"a failure streak cannot be negative, got {self.streak}")


class TradingState(enum.Enum):
    """What the bot may do.

    * ACTIVE: everything.
    * REDUCING: no new entries; exits, cancels and plan protection go on (a pause, a tripped circuit,
      a loss limit, an unfinished reconciliation).
    * HALTED: no new orders of any kind, except an operator's close-all / cancel-all; venue-held
      protective orders stay (an invariant breach, an operator's halt).
    """

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


@attrs.frozen(kw_only=True)
class TradingStatus:
    """The trading state in force, why, who asked (``source``), since when and until when.

    ``until`` is the expiry of a REDUCING pause (None: until released or resumed by an operator);
    ACTIVE has none; a HALTED bot stays halted until an operator resumes it, so its ``until`` is None.
    """

    state: TradingState
    since: datetime = attrs.field(validator=utc)
    reason: str = ""
    source: str = ""
    until: datetime | None = attrs.field(default=None, validator=utc)

    def __attrs_post_init__(self) -> None:
        if self.state is not TradingState.REDUCING and self.until is not None:
            raise InvalidValueError(f"only a REDUCING state expires; {self.state.value} has until={self.until}")

    @classmethod
    def active(cls, at: datetime, reason: str = "", source: str = "") -> TradingStatus:
        """Everything allowed, from ``at``."""
        return cls(state=TradingState.ACTIVE, since=at, reason=reason, source=source)

    def in_force(self, now: datetime) -> bool:
        """True while this (non-ACTIVE) status still applies at ``now``."""
        if self.state is TradingState.ACTIVE:
            return False
        return self.until is None or now < self.until


@attrs.frozen(kw_only=True)
class Freshness:
    """The market-data verdict for one symbol at ``at``.

    ``age`` is ``at`` minus the freshest venue time known (the last closed candle's close time; a quote's
    venue time once quotes are used); None when nothing was seen. ``latency`` is the fetch's duration.
    ``basis`` says what the verdict rests on (e.g. that the venue gave no quote time).
    """

    symbol: Symbol
    at: datetime
    stale: bool
    reason: str
    age: timedelta | None
    latency: timedelta
    basis: str


@attrs.frozen(kw_only=True)
class CircuitPolicy:
    """A circuit trips after ``threshold`` failures in a row and pauses entries for ``pause``."""

    threshold: int = 3
    pause: timedelta = timedelta(seconds=60)

    def __attrs_post_init__(self) -> None:
        if self.threshold < 1:
            raise InvalidValueError(f"a circuit threshold must be at least 1, got {self.threshold}")
        if self.pause < timedelta(0):
            raise InvalidValueError("a circuit pause cannot be negative")


@attrs.frozen(kw_only=True)
class HealthPolicy:
    """Thresholds and windows of the ExchangeHealthManager (settings in ``docs/configuration.md``).

    * ``max_data_age_timeframes`` x the candle timeframe + ``data_age_offset``: the oldest a symbol's
      last closed candle may be (its close time against the clock) before entries in it stop.
    * ``max_latency``: a slower market-data fetch makes its symbols stale.
    * ``rate_limit_wait``: how long venue calls are suspended after a rate limit without a Retry-After.
    * ``signal_pause``: the pause of a PAUSE_TRADING signal that names no duration.
    """

    exchange: CircuitPolicy = CircuitPolicy()
    tool: CircuitPolicy = CircuitPolicy()
    reconnect_cooldown: timedelta = timedelta(seconds=30)
    max_data_age_timeframes: int = 2
    data_age_offset: timedelta = timedelta(seconds=10)
    max_latency: timedelta = timedelta(milliseconds=5000)
    rate_limit_wait: timedelta = timedelta(seconds=60)
    signal_pause: timedelta = timedelta(seconds=60)

    def __attrs_post_init__(self) -> None:
        if self.max_data_age_timeframes < 1:
            raise InvalidValueError("max_data_age_timeframes must be at least 1")
        for name in ("reconnect_cooldown", "data_age_offset", "max_latency", "rate_limit_wait", "signal_pause"):
            if getattr(self, name) < timedelta(0):
                raise InvalidValueError(f"{name} cannot be negative")

    def circuit(self, name: CircuitName) -> CircuitPolicy:
        """The policy of circuit ``name``."""
        return self.exchange if name is CircuitName.EXCHANGE else self.tool
