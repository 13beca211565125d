"""The health rules, pure functions ``(state, input, now) -> (new state, events)``.

* :func:`record_failure` / :func:`record_clean_tick`: one circuit. ok -> degraded on a failure;
  degraded -> tripped when the streak reaches the threshold (a pause window starts, the streak resets);
  tripped -> degraded on a further failure; degraded or tripped -> ok after a tick with no failure on it.
* :func:`request_pause`, :func:`halt`, :func:`resume`, :func:`expire`: the trading state. Pause windows
  merge by maximum: no request shortens a pause in force, whoever asks; only an operator's
  :func:`resume` ends one early (the original's 5d3a5bf overwrote it: a defect).
* :func:`assess_freshness`: one symbol's market data at ``now``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from trader_core.model import (
    Symbol,
    Timeframe,
)
from trader_core.model.events import (
    CircuitDegraded,
    CircuitRecovered,
    CircuitTripped,
    Event,
    PauseRequested,
    TradingStateChanged,
)
from trader_core.model.health import (
    CircuitHealth,
    CircuitPolicy,
    CircuitState,
    Freshness,
    HealthPolicy,
    TradingState,
    TradingStatus,
)

__all__ = [
    "CANDLE_BASIS",
    "CircuitStep",
    "assess_freshness",
    "candle_max_age",
    "expire",
    "format_ms",
    "halt",
    "record_clean_tick",
    "record_failure",
    "request_pause",
    "resume",
]

CANDLE_BASIS = "last closed candle's close time (the venue gives no quote time) and fetch latency"


# --- circuits --------------------------------------------------------------------------------------


@attrs.frozen
class CircuitStep:
    """A circuit after one failure: its new state, the pause a trip asks for (or None), the events."""

    circuit: CircuitState
    pause_until: datetime | None
    events: tuple[Event, ...]


def record_failure(circuit: CircuitState, policy: CircuitPolicy, now: datetime, site: str, error: str) -> CircuitStep:
    """One failure at ``site``. The streak grows; reaching ``policy.threshold`` trips the circuit, asks for
    a pause of ``policy.pause`` and resets the streak."""
    streak = circuit.streak + 1
    events: list[Event] = []
    if circuit.health is not CircuitHealth.DEGRADED:
        events.append(CircuitDegraded(at=now, circuit=circuit.name.value, site=site, error=error, streak=streak))
    if streak >= policy.threshold:
        until = now + policy.pause
        events.append(CircuitTripped(at=now, circuit=circuit.name.value, site=site, error=error,
                                     threshold=policy.threshold, paused_until=until))
        tripped = attrs.evolve(circuit, health=CircuitHealth.TRIPPED, streak=0, last_site=site, last_error=error)
        return CircuitStep(tripped, until, tuple(events))
    degraded = attrs.evolve(circuit, health=CircuitHealth.DEGRADED, streak=streak, last_site=site, last_error=error)
    return CircuitStep(degraded, None, tuple(events))


def record_clean_tick(circuit: CircuitState, now: datetime) -> tuple[CircuitState, tuple[Event, ...]]:
    """A tick completed with no failure on this circuit: back to ok (nothing to do when already ok)."""
    if circuit.health is CircuitHealth.OK and circuit.streak == 0:
        return circuit, ()
    recovered = attrs.evolve(circuit, health=CircuitHealth.OK, streak=0)
    return recovered, (CircuitRecovered(at=now, circuit=circuit.name.value, previous=circuit.health.value),)


# --- the trading state -----------------------------------------------------------------------------


def _changed(previous: TradingStatus, status: TradingStatus, now: datetime) -> TradingStateChanged:
    return TradingStateChanged(at=now, previous=previous.state.value, state=status.state.value, reason=status.reason,
                               source=status.source, until=status.until)


def expire(status: TradingStatus, now: datetime) -> tuple[TradingStatus, tuple[Event, ...]]:
    """A REDUCING pause whose window has passed becomes ACTIVE."""
    if status.state is TradingState.REDUCING and status.until is not None and now >= status.until:
        active = TradingStatus.active(now, reason=f"pause ended ({status.reason})", source=status.source)
        return active, (_changed(status, active, now),)
    return status, ()


def request_pause(
    status: TradingStatus, now: datetime, until: datetime | None, reason: str, source: str
) -> tuple[TradingStatus, tuple[Event, ...]]:
    """Ask for no new entries until ``until`` (None: until an operator resumes).

    The pause in force afterwards ends at the later of the two (indefinite beats any time): a request
    never shortens a pause, whoever asks. A HALTED bot stays halted.
    """
    status, events = expire(status, now)
    requested = now if until is None else until

    def asked(after: TradingStatus, extended: bool) -> PauseRequested:
        return PauseRequested(at=now, source=source, reason=reason, requested_until=requested,
                              until=after.until if after.state is TradingState.REDUCING else None, extended=extended)

    if status.state is TradingState.HALTED or (until is not None and until <= now):
        return status, (*events, asked(status, False))
    if status.state is TradingState.ACTIVE:
        paused = TradingStatus(state=TradingState.REDUCING, since=now, reason=reason, source=source, until=until)
        return paused, (*events, asked(paused, True), _changed(status, paused, now))
    current = status.until
    if current is None or (until is not None and until <= current):
        return status, (*events, asked(status, False))
    longer = attrs.evolve(status, until=until, reason=reason, source=source)
    return longer, (*events, asked(longer, True))


def halt(status: TradingStatus, now: datetime, reason: str, source: str) -> tuple[TradingStatus, tuple[Event, ...]]:
    """No new orders of any kind until an operator resumes (the first halt's reason is kept)."""
    if status.state is TradingState.HALTED:
        return status, ()
    halted = TradingStatus(state=TradingState.HALTED, since=now, reason=reason, source=source)
    return halted, (_changed(status, halted, now),)


def resume(status: TradingStatus, now: datetime, operator: str) -> tuple[TradingStatus, tuple[Event, ...]]:
    """An operator's resume: ACTIVE now, whatever was in force (the only way to end a pause early)."""
    if status.state is TradingState.ACTIVE:
        return status, ()
    active = TradingStatus.active(now, reason="resumed by an operator", source=f"operator:{operator}")
    return active, (_changed(status, active, now),)


# --- market data freshness -------------------------------------------------------------------------


def candle_max_age(timeframe: Timeframe, policy: HealthPolicy) -> timedelta:
    """The oldest a symbol's last closed candle may be: ``max_data_age_timeframes`` timeframes plus the
    offset (one missed candle, and the venue's delay in publishing one, are tolerated)."""
    return timeframe.duration * policy.max_data_age_timeframes + policy.data_age_offset


def assess_freshness(
    symbol: Symbol, now: datetime, venue_time: datetime | None, latency: timedelta, *,
    max_age: timedelta, max_latency: timedelta, basis: str = CANDLE_BASIS,
) -> Freshness:
    """Stale when the fetch took longer than ``max_latency`` (checked first), when nothing was ever
    seen, or when ``now - venue_time`` (the freshest venue time known) exceeds ``max_age``."""
    age = None if venue_time is None else max(now - venue_time, timedelta(0))
    reason = ""
    if latency > max_latency:
        reason = f"latency {format_ms(latency)} ms above {format_ms(max_latency)} ms"
    elif age is None:
        reason = "no market data seen yet"
    elif age > max_age:
        reason = f"age {age.total_seconds()} s above {max_age.total_seconds()} s"
    return Freshness(symbol=symbol, at=now, stale=bool(reason), reason=reason, age=age, latency=latency, basis=basis)


def format_ms(duration: timedelta) -> str:
    return str(duration // timedelta(milliseconds=1))
