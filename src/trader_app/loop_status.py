"""What the loop last saw, stored under ``status.loop`` in the bot's values for ``trader-app status``.

Written by the orchestrator at the end of a tick (not in replays; at most every few seconds, and after
every tick that lagged). JSON with Decimals as strings and times as ISO-8601 UTC.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from trader_core.model import ZERO, InvalidValueError, Symbol
from trader_core.model.health import CircuitName

if TYPE_CHECKING:
    from trader_core.health import ExchangeHealthManager
    from trader_core.portfolio import PortfolioTracker

__all__ = ["STATUS_KEY", "LoopStatus", "capture_loop_status", "protection_form", "seconds"]

STATUS_KEY = "status.loop"


def seconds(duration: timedelta) -> Decimal:
    """``duration`` in seconds, to the millisecond."""
    return (Decimal(duration.days * 86400 + duration.seconds) + Decimal(duration.microseconds) / 10**6).quantize(
        Decimal("0.001"))


@attrs.frozen(kw_only=True)
class LoopStatus:
    """The last tick: when, how long, how late; circuits, trading state, last prices, data ages, exposure."""

    at: datetime
    ticks: int
    duration_s: Decimal
    lag_s: Decimal
    interval_s: Decimal
    trading_state: str
    circuits: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    prices: Mapping[str, Decimal] = attrs.field(factory=dict)
    data_age_s: Mapping[str, Decimal | None] = attrs.field(factory=dict)
    exposure: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    protection: str = ""  # how the venue protects open plans (``protection_form``); "" when not recorded

    def to_json(self) -> str:
        """The stored text."""
        return json.dumps({
            "at": self.at.isoformat(), "ticks": self.ticks, "duration_s": str(self.duration_s),
            "lag_s": str(self.lag_s), "interval_s": str(self.interval_s), "trading_state": self.trading_state,
            "circuits": {k: dict(v) for k, v in self.circuits.items()},
            "prices": {k: str(v) for k, v in self.prices.items()},
            "data_age_s": {k: None if v is None else str(v) for k, v in self.data_age_s.items()},
            "exposure": str(self.exposure), "realized_pnl": str(self.realized_pnl), "protection": self.protection,
        }, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> LoopStatus:
        """Read the stored text; ``InvalidValueError`` when it is not a loop status."""
        try:
            raw = json.loads(text)
            return cls(
                at=datetime.fromisoformat(raw["at"]), ticks=int(raw["ticks"]),
                duration_s=Decimal(raw["duration_s"]), lag_s=Decimal(raw["lag_s"]),
                interval_s=Decimal(raw["interval_s"]), trading_state=str(raw["trading_state"]),
                circuits={str(k): dict(v) for k, v in raw.get("circuits", {}).items()},
                prices={str(k): Decimal(v) for k, v in raw.get("prices", {}).items()},
                data_age_s={str(k): None if v is None else Decimal(v) for k, v in raw.get("data_age_s", {}).items()},
                exposure=Decimal(raw.get("exposure", "0")), realized_pnl=Decimal(raw.get("realized_pnl", "0")),
                protection=str(raw.get("protection", "")),
            )
        except (ValueError, KeyError, TypeError, ArithmeticError, AttributeError) as exc:
            raise InvalidValueError(f"stored {STATUS_KEY} is not a loop status: {exc}") from exc


def protection_form(*, holds_exits: bool, holds_stops: bool) -> str:
    """How open plans are protected on the venue, in words: the strongest form it offers."""
    if holds_exits:
        return "venue-held stop and target (OCO)"
    if holds_stops:
        return "venue-held stop; target held by the bot"
    return "stop and target held by the bot alone"


def capture_loop_status(
    *, at: datetime, ticks: int, duration: timedelta, lag: timedelta, interval: timedelta,
    health: ExchangeHealthManager, tracker: PortfolioTracker, prices: Mapping[Symbol, Decimal],
    symbols: tuple[Symbol, ...], protection: str = "",
) -> LoopStatus:
    """Read the loop's status from the services (no store or venue call)."""
    circuits = {}
    for name in CircuitName:
        state = health.circuit(name)
        circuits[name.value] = {"health": state.health.value, "streak": state.streak, "last_error": state.last_error}
    ages: dict[str, Decimal | None] = {}
    for symbol in symbols:
        fresh = health.freshness(symbol)
        ages[str(symbol)] = None if fresh is None or fresh.age is None else seconds(fresh.age)
    exposure = sum((h.quantity * prices.get(h.symbol, ZERO) for h in tracker.holdings()), ZERO)
    return LoopStatus(
        at=at, ticks=ticks, duration_s=seconds(duration), lag_s=seconds(lag), interval_s=seconds(interval),
        trading_state=health.status.state.value, circuits=circuits,
        prices={str(s): p for s, p in prices.items()}, data_age_s=ages, exposure=exposure,
        realized_pnl=tracker.stats.net_realized, protection=protection,
    )
