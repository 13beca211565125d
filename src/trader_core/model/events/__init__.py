"""Telemetry events: typed, past-tense records. The class name is the message.

They stay in the model, beside the vocabulary they speak: every capability emits them, the orchestrator and the
telemetry and metrics adapters consume them all, and one capability's events are often emitted by another
(a fill by the resync service, a pause by the action handler). One module per capability keeps each short.
"""

from __future__ import annotations

from trader_core.model.events.base import (
    Event,
)
from trader_core.model.events.health import (
    CircuitDegraded,
    CircuitRecovered,
    CircuitTripped,
    ExchangeReconnected,
    ExchangeReconnectFailed,
    MarketDataFresh,
    MarketDataStale,
    PauseRequested,
    TradingStateChanged,
    TradingStateRestored,
    VenueAuthenticationFailed,
    VenueCallsResumed,
    VenueCallsSuspended,
    VenueReadRetried,
)
from trader_core.model.events.ledger import (
    BalanceMismatchDetected,
    BalancesReconciled,
    DuplicateFillIgnored,
    FeeAboveSanityBound,
    FeeRateUnavailable,
    FillRecorded,
    ForeignFillIgnored,
    LedgerAnomalyDetected,
    LedgerCacheLoaded,
    LedgerRebuilt,
    OrderFeesReconciled,
)
from trader_core.model.events.llm import (
    LlmCallCompleted,
    LlmUsageMissing,
    ToolCallsThrottled,
)
from trader_core.model.events.market import (
    CandleCaptureFailed,
    DataGap,
    LiquidityChanged,
    MarketDataRejected,
)
from trader_core.model.events.orders import (
    CancelOutcomeUnknown,
    ConcludedOrderFoundOpen,
    OrderAcknowledged,
    OrderClosed,
    OrderFailed,
    OrderLost,
    OrderOutcomeUnknown,
    OrderRanAfterAll,
    OrderRejected,
    OrderSubmitted,
    ProtectionOutlivedItsPlan,
    ReconciliationReported,
)
from trader_core.model.events.plans import (
    PlanCancelled,
    PlanClosed,
    PlanOpened,
    ProtectionBesideDoubt,
    ProtectionFailed,
    ProtectionPlaced,
    SignalHandled,
)
from trader_core.model.events.run import (
    CommandHandled,
    LoopLagged,
    OrderWithheld,
    RunFinished,
    RunStarted,
    TickFailed,
)

__all__ = [
    "BalanceMismatchDetected",
    "BalancesReconciled",
    "CancelOutcomeUnknown",
    "CandleCaptureFailed",
    "CircuitDegraded",
    "CircuitRecovered",
    "CircuitTripped",
    "CommandHandled",
    "ConcludedOrderFoundOpen",
    "DataGap",
    "DuplicateFillIgnored",
    "Event",
    "ExchangeReconnectFailed",
    "ExchangeReconnected",
    "FeeAboveSanityBound",
    "FeeRateUnavailable",
    "FillRecorded",
    "ForeignFillIgnored",
    "LedgerAnomalyDetected",
    "LedgerCacheLoaded",
    "LedgerRebuilt",
    "LiquidityChanged",
    "LlmCallCompleted",
    "LlmUsageMissing",
    "LoopLagged",
    "MarketDataFresh",
    "MarketDataRejected",
    "MarketDataStale",
    "OrderAcknowledged",
    "OrderClosed",
    "OrderFailed",
    "OrderFeesReconciled",
    "OrderLost",
    "OrderOutcomeUnknown",
    "OrderRanAfterAll",
    "OrderRejected",
    "OrderSubmitted",
    "OrderWithheld",
    "PauseRequested",
    "PlanCancelled",
    "PlanClosed",
    "PlanOpened",
    "ProtectionBesideDoubt",
    "ProtectionFailed",
    "ProtectionOutlivedItsPlan",
    "ProtectionPlaced",
    "ReconciliationReported",
    "RunFinished",
    "RunStarted",
    "SignalHandled",
    "TickFailed",
    "ToolCallsThrottled",
    "TradingStateChanged",
    "TradingStateRestored",
    "VenueAuthenticationFailed",
    "VenueCallsResumed",
    "VenueCallsSuspended",
    "VenueReadRetried",
]
