"""Telemetry events: typed, past-tense records. The class name is the message."""

from __future__ import annotations

from datetime import datetime

import attrs

__all__ = ["Event"]


@attrs.frozen(kw_only=True)
class Event:
    """Base of every telemetry event. ``at`` is the clock's time when it happened.

    Subclasses add typed fields; adapters render them (ids and money as strings). Secrets never
    belong in an event.
    """

    at: datetime

    @property
    def name(self) -> str:
        """The event's name: its class name."""
        return type(self).__name__


# --- run lifecycle -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RunStarted(Event):
    """A run began."""

    run_id: str
    mode: str
    symbols: tuple[str, ...]


@attrs.frozen(kw_only=True)
class RunFinished(Event):
    """A run ended; ``reason`` is the first shutdown reason recorded."""

    run_id: str
    reason: str


@attrs.frozen(kw_only=True)
class TickFailed(Event):
    """One loop tick raised; the loop backs off and carries on."""

    error: str


# --- orders ----------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class OrderSubmitted(Event):
    """An order intent was stored and is being sent to the venue."""

    client_order_id: str
    symbol: str
    side: str
    order_type: str
    quantity: str
    price: str | None
    role: str
    plan_id: str | None


@attrs.frozen(kw_only=True)
class OrderAcknowledged(Event):
    """The venue accepted an order."""

    client_order_id: str
    venue_order_id: str
    status: str


@attrs.frozen(kw_only=True)
class OrderRejected(Event):
    """The venue definitively refused an order."""

    client_order_id: str
    reason: str


@attrs.frozen(kw_only=True)
class OrderFailed(Event):
    """An order never reached the venue, or was proven absent after an unknown outcome."""

    client_order_id: str
    reason: str


@attrs.frozen(kw_only=True)
class OrderOutcomeUnknown(Event):
    """The venue may or may not have the order; it will be looked up by client order id."""

    client_order_id: str
    reason: str


@attrs.frozen(kw_only=True)
class OrderClosed(Event):
    """The venue reports an order as final (filled, canceled, rejected or expired)."""

    client_order_id: str
    status: str
    filled_quantity: str


# --- fills and the ledger --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class FillRecorded(Event):
    """A venue fill was booked into the ledger (``at``: when booked; ``fill_time``: the venue's time)."""

    trade_id: str
    fill_time: datetime
    client_order_id: str | None
    symbol: str
    side: str
    price: str
    quantity: str
    fee: str
    fee_asset: str
    realized_pnl: str
    plan_id: str | None


@attrs.frozen(kw_only=True)
class DuplicateFillIgnored(Event):
    """A fill already booked was reported again and ignored."""

    trade_id: str
    symbol: str


@attrs.frozen(kw_only=True)
class ForeignFillIgnored(Event):
    """A fill of an order that is not the bot's was seen and not booked."""

    trade_id: str
    symbol: str


@attrs.frozen(kw_only=True)
class LedgerAnomalyDetected(Event):
    """The venue reported something the ledger refuses to book as is (e.g. selling more than held)."""

    symbol: str
    detail: str


@attrs.frozen(kw_only=True)
class FeeRateUnavailable(Event):
    """A fill's fee is in a third asset and no rate to value it was available: the fill was not booked
    now and will be tried again on the next sync (its trade is not skipped)."""

    trade_id: str
    symbol: str
    fee_asset: str
    detail: str


@attrs.frozen(kw_only=True)
class FeeAboveSanityBound(Event):
    """A booked fill's fee exceeds the sanity bound (a share of its notional): likely a parsing error
    at the venue edge. The fill is booked as reported; this flags it for a person to check."""

    trade_id: str
    symbol: str
    fee_quote: str
    notional: str
    bound_pct: str


@attrs.frozen(kw_only=True)
class OrderFeesReconciled(Event):
    """An order completed: the fee estimated at submission against the fees its fills actually cost
    (both in quote; ``difference`` = actual - estimated; ``estimated`` None when no estimate was made)."""

    client_order_id: str
    symbol: str
    estimated: str | None
    actual: str
    difference: str | None


@attrs.frozen(kw_only=True)
class LedgerRebuilt(Event):
    """Holdings and stats of a ledger scope were replayed from the stored fills and the cache rewritten."""

    scope: str
    fills: int
    reason: str


@attrs.frozen(kw_only=True)
class LedgerCacheLoaded(Event):
    """A ledger scope started from its cached holdings and stats (no replay was needed)."""

    scope: str
    fills: int


@attrs.frozen(kw_only=True)
class BalancesReconciled(Event):
    """The sanity report against the venue's balances found every residue within tolerance."""

    assets: int


@attrs.frozen(kw_only=True)
class BalanceMismatchDetected(Event):
    """Health: the venue's balance of ``asset`` differs from what the bot's fills explain by more than the
    tolerance (``residue`` is what neither the bot's fills, its fees nor the known outside activity explain)."""

    asset: str
    expected: str
    venue: str
    outside: str
    residue: str
    tolerance: str


# --- plans and signals -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class PlanOpened(Event):
    """A plan's entry filled: it now holds a position."""

    plan_id: str
    symbol: str
    quantity: str
    entry_price: str
    stop_price: str | None
    target_price: str | None


@attrs.frozen(kw_only=True)
class PlanClosed(Event):
    """A plan's position was exited."""

    plan_id: str
    symbol: str
    exit_reason: str


@attrs.frozen(kw_only=True)
class PlanCancelled(Event):
    """A plan ended without a position (its entry never filled)."""

    plan_id: str
    symbol: str
    reason: str


@attrs.frozen(kw_only=True)
class ProtectionPlaced(Event):
    """The venue now holds a plan's stop and target."""

    plan_id: str
    quantity: str
    stop_price: str
    target_price: str


@attrs.frozen(kw_only=True)
class SignalHandled(Event):
    """A signal was processed; ``status`` is the outcome (the original's status vocabulary)."""

    action: str
    symbol: str
    status: str
    detail: str = ""


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


# --- recovery (OrderExecutor, ResyncService, StartupReconciler) ------------------------------------


@attrs.frozen(kw_only=True)
class OrderLost(Event):
    """An acknowledged order was answered "not found" at every lookup: its fate is unknown; a person looks."""

    client_order_id: str
    symbol: str
    detail: str


@attrs.frozen(kw_only=True)
class ReconciliationReported(Event):
    """Start-up reconciliation: the bot's stored view against the venue.

    ``adopted``: stored intents found at the venue; ``closed_while_away``: orders that ended while the bot
    was down; ``absent``: intents proven never to have reached the venue (failed); ``missing``: intents
    still unresolved; ``lost``: acknowledged orders the venue no longer knows; ``unexpected``: open orders
    with the bot's prefix and no stored intent; ``foreign``: other open orders (ignored, never touched);
    ``balance_issues``: assets the venue holds less of than the bot's own fills say. ``gate``: ``clean``,
    ``accepted`` (by the operator) or ``reducing`` (no new entries until clean or accepted)."""

    adopted: tuple[str, ...]
    closed_while_away: tuple[str, ...]
    absent: tuple[str, ...]
    missing: tuple[str, ...]
    lost: tuple[str, ...]
    unexpected: tuple[str, ...]
    foreign: int
    fills_booked: int
    balance_issues: tuple[str, ...]
    gate: str


# --- market data (MarketDataService) ---------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class MarketDataRejected(Event):
    """The venue sent market data the bot will neither store nor trade on (``kind``: candles or quote;
    ``reason``: invalid, future or out_of_order); the symbol's other data and the other symbols go on."""

    symbol: str
    kind: str
    reason: str
    detail: str


@attrs.frozen(kw_only=True)
class LiquidityChanged(Event):
    """A symbol's liquidity verdict changed: ``liquid`` False stops new entries in it (``problems`` say why)."""

    symbol: str
    liquid: bool
    problems: tuple[str, ...]


@attrs.frozen(kw_only=True)
class CandleCaptureFailed(Event):
    """Storing captured candles failed; capture is retried at the next due time (trading goes on)."""

    symbols: tuple[str, ...]
    error: str


# --- the loop (StrategyOrchestrator) ---------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class LoopLagged(Event):
    """A tick took longer than the loop's interval: the next one starts ``lag_s`` seconds late."""

    lag_s: str
    duration_s: str
    interval_s: str


# --- operator commands ----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CommandHandled(Event):
    """The loop handled an operator command: ``status`` executed, rejected or stale (queued before the run)."""

    command_id: str
    command: str
    status: str
    result: str


@attrs.frozen(kw_only=True)
class OrderWithheld(Event):
    """A dry run: the order was recorded and refused, never sent to the venue."""

    client_order_id: str
    symbol: str
    side: str
    order_type: str
    quantity: str
