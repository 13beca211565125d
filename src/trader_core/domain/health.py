"""ExchangeHealthManager: circuits, the trading state, pause windows, venue suspensions, stale data.

The rules are pure functions ``(state, input, now) -> (new state, events)``:

* :func:`record_failure` / :func:`record_clean_tick`: one circuit. ok -> degraded on a failure;
  degraded -> tripped when the streak reaches the threshold (a pause window starts, the streak resets);
  tripped -> degraded on a further failure; degraded or tripped -> ok after a tick with no failure on it.
* :func:`request_pause`, :func:`halt`, :func:`resume`, :func:`expire`: the trading state. Pause windows
  merge by maximum: no request shortens a pause in force, whoever asks; only an operator's
  :func:`resume` ends one early (the original's 5d3a5bf overwrote it: a defect).
* :func:`assess_freshness`: one symbol's market data at ``now``.

:class:`ExchangeHealthManager` holds the state, persists the trading state through the store (a pause
or halt in force survives a restart), emits the events, and reconnects through the optional
``Reconnectable`` port at most once per cooldown. :class:`MonitoredMarketData` and
:class:`MonitoredTrading` wrap the exchange ports so that every venue failure reaches the circuit,
whichever service made the call and whether or not it turned the error into a value.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from datetime import datetime, timedelta
from typing import TypeVar

import attrs

from trader_core.model import (
    AuthenticationError,
    Candle,
    ClientOrderId,
    ExchangeError,
    ExchangeUnavailableError,
    InstrumentRules,
    InvalidDataError,
    OutcomeUnknownError,
    RateLimitedError,
    Symbol,
    Timeframe,
)
from trader_core.model.events import (
    CircuitDegraded,
    CircuitRecovered,
    CircuitTripped,
    Event,
    ExchangeReconnected,
    ExchangeReconnectFailed,
    MarketDataFresh,
    MarketDataStale,
    PauseRequested,
    TradingStateChanged,
    TradingStateRestored,
    VenueCallsResumed,
    VenueCallsSuspended,
)
from trader_core.model.health import (
    CircuitHealth,
    CircuitName,
    CircuitPolicy,
    CircuitState,
    Freshness,
    HealthPolicy,
    TradingState,
    TradingStatus,
)
from trader_core.model.market import Quote
from trader_core.model.orders import Balance, ExitBracket, Fill, Order, OrderRequest
from trader_core.ports import Clock, MarketData, Reconnectable, Store, Telemetry, Trading

__all__ = [
    "CANDLE_BASIS",
    "CircuitStep",
    "ExchangeHealthManager",
    "HealthSnapshot",
    "MonitoredMarketData",
    "MonitoredTrading",
    "assess_freshness",
    "candle_max_age",
    "expire",
    "halt",
    "record_clean_tick",
    "record_failure",
    "request_pause",
    "resume",
]

_T = TypeVar("_T")

# Venue errors that say something about the venue's health. A rejection, an unknown order or an unknown
# symbol is the venue answering, not failing.
_HEALTH_ERRORS = (ExchangeUnavailableError, OutcomeUnknownError, AuthenticationError, InvalidDataError)
# Failures after which a new connection may help.
_CONNECTION_ERRORS = (ExchangeUnavailableError, OutcomeUnknownError)

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
        reason = f"latency {_ms(latency)} ms above {_ms(max_latency)} ms"
    elif age is None:
        reason = "no market data seen yet"
    elif age > max_age:
        reason = f"age {age.total_seconds()} s above {max_age.total_seconds()} s"
    return Freshness(symbol=symbol, at=now, stale=bool(reason), reason=reason, age=age, latency=latency, basis=basis)


def _ms(duration: timedelta) -> str:
    return str(duration // timedelta(milliseconds=1))


# --- the manager -----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class HealthSnapshot:
    """What the run summary shows: the trading state and each circuit's health."""

    trading_state: str
    reason: str
    until: datetime | None
    exchange_circuit: str
    tool_circuit: str


@attrs.define
class ExchangeHealthManager:
    """Holds the circuits, the trading state and the market-data verdicts; the loop asks it before entries.

    ``durable``: the trading state is loaded from and written to the store (False for a replay, whose
    runs are independent of each other and of a live bot sharing its id).
    """

    store: Store
    clock: Clock
    telemetry: Telemetry
    policy: HealthPolicy = attrs.Factory(HealthPolicy)
    reconnector: Reconnectable | None = None
    durable: bool = True
    _circuits: dict[CircuitName, CircuitState] = attrs.field(init=False)
    _status: TradingStatus | None = attrs.field(default=None, init=False)
    _status_at: datetime | None = attrs.field(default=None, init=False)
    _suspended_until: datetime | None = attrs.field(default=None, init=False)
    _last_reconnect: datetime | None = attrs.field(default=None, init=False)
    _freshness: dict[Symbol, Freshness] = attrs.field(factory=dict, init=False)
    _last_close: dict[Symbol, datetime] = attrs.field(factory=dict, init=False)
    _tick_failures: dict[CircuitName, int] = attrs.field(factory=dict, init=False)
    _tick_connection_failures: int = attrs.field(default=0, init=False)
    _reported: list[BaseException] = attrs.field(factory=list, init=False)

    def __attrs_post_init__(self) -> None:
        self._circuits = {name: CircuitState(name=name) for name in CircuitName}

    # -- state -------------------------------------------------------------------------------------

    def load(self) -> TradingStatus:
        """Start-up: take over the stored trading state when it is still in force."""
        now = self.clock.now()
        stored = None
        if self.durable:
            with self.store.unit_of_work() as uow:
                stored = uow.trading_state.find()
        if stored is not None and stored.in_force(now):
            self._status = stored
            self.telemetry.emit(TradingStateRestored(at=now, state=stored.state.value, reason=stored.reason,
                                                     source=stored.source, until=stored.until))
        else:
            self._status = TradingStatus.active(now)
        return self._status

    @property
    def status(self) -> TradingStatus:
        """The trading state in force now (an expired pause has ended)."""
        now = self.clock.now()
        if self._status_at == now and self._status is not None:
            return self._status  # asked several times per tick: nothing can expire within one instant
        self._apply(expire(self._current(), now))
        self._status_at = now
        return self._current()

    def circuit(self, name: CircuitName) -> CircuitState:
        """The state of circuit ``name``."""
        return self._circuits[name]

    def freshness(self, symbol: Symbol) -> Freshness | None:
        """The latest market-data verdict for ``symbol`` (None before the first assessment)."""
        return self._freshness.get(symbol)

    def snapshot(self) -> HealthSnapshot:
        """Trading state and circuits, for the run summary."""
        status = self.status
        return HealthSnapshot(
            trading_state=status.state.value, reason=status.reason, until=status.until,
            exchange_circuit=self._circuits[CircuitName.EXCHANGE].health.value,
            tool_circuit=self._circuits[CircuitName.TOOL].health.value,
        )

    # -- the tick ----------------------------------------------------------------------------------

    def begin_tick(self) -> None:
        """A tick starts: nothing failed yet; an expired pause or venue suspension ends."""
        self._tick_failures = {}
        self._tick_connection_failures = 0
        self._reported = []
        now = self.clock.now()
        _ = self.status
        if self._suspended_until is not None and now >= self._suspended_until:
            self._suspended_until = None
            self.telemetry.emit(VenueCallsResumed(at=now))

    async def end_tick(self, *, completed: bool) -> None:
        """A tick ends. When it ``completed``, each circuit with no failure in it recovers; after venue
        connection failures the connection is rebuilt (at most once per cooldown)."""
        now = self.clock.now()
        if completed:
            for name in CircuitName:
                if not self._tick_failures.get(name):
                    self._circuits[name], events = record_clean_tick(self._circuits[name], now)
                    self._emit(events)
        if self._tick_connection_failures:
            await self._maybe_reconnect(now)

    def report_exchange_failure(self, site: str, error: BaseException) -> None:
        """A venue call at ``site`` failed. A rate limit suspends venue calls instead of counting; an
        authentication failure also halts trading. Reporting the same exception twice counts once."""
        if any(error is seen for seen in self._reported):
            return
        self._reported.append(error)
        if isinstance(error, RateLimitedError):
            self.suspend_venue(site, error.retry_after, str(error))
            return
        if isinstance(error, _CONNECTION_ERRORS):
            self._tick_connection_failures += 1
        self._fail(CircuitName.EXCHANGE, site, error)
        if isinstance(error, AuthenticationError):
            self.halt(f"authentication failed at {site}: {_text(error)}", "exchange:authentication")

    def report_tool_failure(self, site: str, error: BaseException) -> None:
        """The strategy (or data it asked for) failed at ``site``."""
        if any(error is seen for seen in self._reported):
            return
        self._reported.append(error)
        self._fail(CircuitName.TOOL, site, error)

    def was_reported(self, error: BaseException) -> bool:
        """True when ``error`` already reached a circuit this tick."""
        return any(error is seen for seen in self._reported)

    def suspend_venue(self, site: str, retry_after: timedelta | None, detail: str = "") -> None:
        """Non-essential venue calls wait until ``retry_after`` from now (the policy's default without one).
        Never shortens a suspension in force."""
        now = self.clock.now()
        until = now + (retry_after if retry_after is not None else self.policy.rate_limit_wait)
        if self._suspended_until is not None and until <= self._suspended_until:
            return
        self._suspended_until = until
        self.telemetry.emit(VenueCallsSuspended(at=now, site=site, until=until, detail=detail[:500]))

    @property
    def suspended_until(self) -> datetime | None:
        """When non-essential venue calls may start again (None: not suspended)."""
        if self._suspended_until is not None and self.clock.now() >= self._suspended_until:
            return None
        return self._suspended_until

    def venue_suspended(self) -> bool:
        """True while a rate limit or ban is in force."""
        return self.suspended_until is not None

    # -- requests ------------------------------------------------------------------------------------

    def request_pause(self, duration: timedelta | None, reason: str, source: str) -> TradingStatus:
        """No new entries for ``duration`` (None: until an operator resumes). Merged by maximum."""
        now = self.clock.now()
        until = None if duration is None else now + max(duration, timedelta(0))
        return self._apply(request_pause(self._current(), now, until, reason, source))

    def halt(self, reason: str, source: str) -> TradingStatus:
        """No new orders of any kind until an operator resumes."""
        return self._apply(halt(self._current(), self.clock.now(), reason, source))

    def resume(self, operator: str) -> TradingStatus:
        """An operator's resume: trading ACTIVE now."""
        return self._apply(resume(self._current(), self.clock.now(), operator))

    # -- market data ---------------------------------------------------------------------------------

    def assess_market(
        self, candles: Iterable[tuple[Symbol, tuple[Candle, ...]]], timeframe: Timeframe, latency: timedelta
    ) -> frozenset[Symbol]:
        """Verdicts for each symbol fetched this tick (from the last closed candle seen and the fetch's
        latency); emits an event when a symbol turns stale or fresh. Returns the fresh symbols."""
        now = self.clock.now()
        max_age = candle_max_age(timeframe, self.policy)
        fresh = set()
        for symbol, new in candles:
            if new:
                self._last_close[symbol] = new[-1].close_time
            verdict = assess_freshness(symbol, now, self._last_close.get(symbol), latency, max_age=max_age,
                                       max_latency=self.policy.max_latency)
            before = self._freshness.get(symbol)
            self._freshness[symbol] = verdict
            if not verdict.stale:
                fresh.add(symbol)
            if before is None or before.stale != verdict.stale:
                self.telemetry.emit(_verdict_event(verdict))
        return frozenset(fresh)

    # -- questions -------------------------------------------------------------------------------------

    def entry_refusal(self, symbol: Symbol) -> str | None:
        """Why a new entry in ``symbol`` may not be sent now, or None when it may. A symbol with no verdict
        yet is not refused here (the strategy is only offered symbols known to be fresh)."""
        status = self.status
        if status.state is not TradingState.ACTIVE:
            until = "" if status.until is None else f" until {status.until.isoformat()}"
            return f"trading {status.state.value}{until}: {status.reason}"
        suspended = self.suspended_until
        if suspended is not None:
            return f"venue calls suspended until {suspended.isoformat()}"
        verdict = self._freshness.get(symbol)
        if verdict is not None and verdict.stale:
            return f"stale market data: {verdict.reason}"
        return None

    def entry_symbols(self, fresh: Iterable[Symbol]) -> frozenset[Symbol]:
        """Of ``fresh``, the symbols that may take new entries now (empty unless trading is ACTIVE)."""
        return frozenset(symbol for symbol in fresh if self.entry_refusal(symbol) is None)

    def may_send_orders(self) -> bool:
        """False while HALTED: no new orders of any kind (exits and protection included)."""
        return self.status.state is not TradingState.HALTED

    # -- internals -------------------------------------------------------------------------------------

    def _current(self) -> TradingStatus:
        if self._status is None:
            self._status = TradingStatus.active(self.clock.now())
        return self._status

    def _apply(self, step: tuple[TradingStatus, tuple[Event, ...]]) -> TradingStatus:
        status, events = step
        self._status_at = None
        if status != self._status:
            self._status = status
            if self.durable:
                with self.store.unit_of_work() as uow:
                    uow.trading_state.put(status)
                    uow.commit()
        self._emit(events)
        return status

    def _fail(self, name: CircuitName, site: str, error: BaseException) -> None:
        now = self.clock.now()
        self._tick_failures[name] = self._tick_failures.get(name, 0) + 1
        step = record_failure(self._circuits[name], self.policy.circuit(name), now, site, _text(error))
        self._circuits[name] = step.circuit
        self._emit(step.events)
        if step.pause_until is not None:
            self._apply(request_pause(self._current(), now, step.pause_until, f"{name.value} circuit tripped at {site}",
                                      f"circuit:{name.value}"))

    async def _maybe_reconnect(self, now: datetime) -> None:
        if self.reconnector is None:
            return
        if self._last_reconnect is not None and now - self._last_reconnect < self.policy.reconnect_cooldown:
            return
        self._last_reconnect = now
        try:
            await self.reconnector.reconnect()
        except ExchangeError as exc:
            self.telemetry.emit(ExchangeReconnectFailed(at=self.clock.now(), error=_text(exc)))
            return
        self.telemetry.emit(ExchangeReconnected(at=self.clock.now(), after_failures=self._tick_connection_failures))

    def _emit(self, events: Iterable[Event]) -> None:
        for event in events:
            self.telemetry.emit(event)


def _text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]


def _verdict_event(verdict: Freshness) -> Event:
    age = None if verdict.age is None else str(verdict.age.total_seconds())
    if verdict.stale:
        return MarketDataStale(at=verdict.at, symbol=str(verdict.symbol), reason=verdict.reason, age_s=age,
                               latency_ms=_ms(verdict.latency), basis=verdict.basis)
    return MarketDataFresh(at=verdict.at, symbol=str(verdict.symbol), age_s=age, latency_ms=_ms(verdict.latency))


# --- the exchange ports, reporting every failure ---------------------------------------------------


@attrs.define
class _Reporting:
    health: ExchangeHealthManager

    async def _call(self, site: str, call: Awaitable[_T]) -> _T:
        try:
            return await call
        except _HEALTH_ERRORS as exc:
            self.health.report_exchange_failure(site, exc)
            raise


@attrs.define
class MonitoredMarketData(_Reporting):
    """``MarketData`` that reports every venue failure to the health manager, then raises it as before."""

    inner: MarketData

    async def fetch_quote(self, symbol: Symbol) -> Quote:
        """As the inner port."""
        return await self._call(f"fetch_quote {symbol}", self.inner.fetch_quote(symbol))

    async def fetch_candles(
        self, symbol: Symbol, timeframe: Timeframe, *, since: datetime | None = None, limit: int = 500
    ) -> tuple[Candle, ...]:
        """As the inner port."""
        return await self._call(f"fetch_candles {symbol}",
                                self.inner.fetch_candles(symbol, timeframe, since=since, limit=limit))

    async def fetch_instrument(self, symbol: Symbol) -> InstrumentRules:
        """As the inner port."""
        return await self._call(f"fetch_instrument {symbol}", self.inner.fetch_instrument(symbol))

    async def close(self) -> None:
        """As the inner port."""
        await self.inner.close()


@attrs.define
class MonitoredTrading(_Reporting):
    """``Trading`` that reports every venue failure to the health manager, then raises it as before."""

    inner: Trading

    @property
    def venue(self) -> str:
        """The inner venue's name."""
        return self.inner.venue

    @property
    def holds_protective_exits(self) -> bool:
        """As the inner venue."""
        return self.inner.holds_protective_exits

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
        return await self._call(f"fetch_order {symbol}", self.inner.fetch_order(symbol, client_order_id))

    async def fetch_open_orders(self, symbol: Symbol) -> tuple[Order, ...]:
        """As the inner port."""
        return await self._call(f"fetch_open_orders {symbol}", self.inner.fetch_open_orders(symbol))

    async def fetch_fills(self, symbol: Symbol, *, since: datetime | None = None, limit: int = 500) -> tuple[Fill, ...]:
        """As the inner port."""
        return await self._call(f"fetch_fills {symbol}", self.inner.fetch_fills(symbol, since=since, limit=limit))

    async def fetch_balances(self) -> tuple[Balance, ...]:
        """As the inner port."""
        return await self._call("fetch_balances", self.inner.fetch_balances())

    async def close(self) -> None:
        """As the inner port."""
        await self.inner.close()
