"""ExchangeHealthManager: circuits, the persisted trading state, pause windows, stale data; and the
exchange ports wrapped so every venue failure reaches it."""

from __future__ import annotations

from trader_core.health.manager import (
    ExchangeHealthManager,
    HealthSnapshot,
)
from trader_core.health.monitored import (
    MonitoredMarketData,
    MonitoredTrading,
)
from trader_core.health.rules import (
    CANDLE_BASIS,
    CircuitStep,
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
    "format_ms",
    "halt",
    "record_clean_tick",
    "record_failure",
    "request_pause",
    "resume",
]
