"""ExchangeHealthManager: holds the circuits, the trading state and the market-data verdicts.

It persists the trading state through the store (a pause or halt in force survives a restart), emits the
events, and reconnects through the optional ``Reconnectable`` port at most once per cooldown. The decisions
are the pure rules of :mod:`trader_core.health.rules`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import attrs

from trader_core.health.rules import (
    assess_freshness,
    candle_max_age,
    expire,
    format_ms,
    halt,
    record_clean_tick,
    record_failure,
    request_pause,
    resume,
)
from trader_core.model import (
    AuthenticationError,
    Candle,
    ExchangeError,
    ExchangeUnavailableError,
    OutcomeUnknownError,
    RateLimitedError,
    Symbol,
    Timeframe,
)
from trader_core.model.events import (
    Event,
    ExchangeReconnected,
    ExchangeReconnectFailed,
    MarketDataFresh,
    MarketDataStale,
    TradingStateRestored,
    VenueAuthenticationFailed,
    VenueCallsResumed,
    VenueCallsSuspended,
    VenueReadRetried,
)
from trader_core.model.health import (
    CircuitName,
    CircuitState,
    Freshness,
    HealthPolicy,
    TradingState,
    TradingStatus,
)
from trader_core.ports import Clock, Reconnectable, Store, Telemetry

__all__ = ["ExchangeHealthManager", "HealthSnapshot"]

# Failures after which a new connection may help.
_CONNECTION_ERRORS = (ExchangeUnavailableError, OutcomeUnknownError)



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
    _credentials_refused: str | None = attrs.field(default=None, init=False)

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
        authentication failure refuses every order from now on (``credentials_refused``) instead of counting.
        Reporting the same exception twice counts once."""
        if any(error is seen for seen in self._reported):
            return
        self._reported.append(error)
        if isinstance(error, RateLimitedError):
            self.suspend_venue(site, error.retry_after, str(error))
            return
        if isinstance(error, AuthenticationError):
            self._refuse_credentials(site, error)
            return
        if isinstance(error, _CONNECTION_ERRORS):
            self._tick_connection_failures += 1
        self._fail(CircuitName.EXCHANGE, site, error)

    @property
    def credentials_refused(self) -> str | None:
        """Why the venue refused the bot's credentials (the first authentication failure), or None. Once set it
        stays for the process: keys need the operator, and the loop stops on it."""
        return self._credentials_refused

    def report_retried_read(self, site: str, error: BaseException) -> None:
        """A read at ``site`` met a passing failure and its retry was answered: seen, not a circuit failure."""
        self.telemetry.emit(VenueReadRetried(at=self.clock.now(), site=site, error=_text(error)[:500]))

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
        if self._credentials_refused is not None:
            return self._credentials_refused
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
        """False while HALTED or once the venue refused the credentials: no new orders of any kind (exits and
        protection included)."""
        return self._credentials_refused is None and self.status.state is not TradingState.HALTED

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

    def _refuse_credentials(self, site: str, error: BaseException) -> None:
        """The first authentication failure: one event; no order goes out after it. Not a trading state: nothing
        is stored, so a restart with working keys trades at once (and one with the same keys is refused at
        start-up, before the store is touched)."""
        if self._credentials_refused is not None:
            return
        self._credentials_refused = f"authentication failed at {site}: {_text(error)}"[:500]
        self.telemetry.emit(VenueAuthenticationFailed(at=self.clock.now(), site=site, error=_text(error)))

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
                               latency_ms=format_ms(verdict.latency), basis=verdict.basis)
    return MarketDataFresh(
        at=verdict.at, symbol=str(verdict.symbol), age_s=age, latency_ms=format_ms(verdict.latency)
    )
