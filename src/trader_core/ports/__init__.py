"""Ports: the Protocols the core depends on. Each method's docstring is its contract."""

from trader_core.ports.clock import Clock
from trader_core.ports.exchange import (
    ExecutionListener,
    ExecutionReports,
    MarketData,
    OrderIdMemory,
    Reconnectable,
    Trading,
)
from trader_core.ports.fees import FeeRates
from trader_core.ports.store import (
    CandleRepository,
    FillRepository,
    LeaseRepository,
    LedgerRepository,
    OrderRepository,
    PlanRepository,
    RunRepository,
    SequenceRepository,
    Store,
    TradingStateRepository,
    UnitOfWork,
    ValueRepository,
)
from trader_core.ports.strategy import DecisionContext, SignalSource
from trader_core.ports.telemetry import Telemetry

__all__ = [
    "CandleRepository",
    "Clock",
    "DecisionContext",
    "ExecutionListener",
    "ExecutionReports",
    "FeeRates",
    "FillRepository",
    "LeaseRepository",
    "LedgerRepository",
    "MarketData",
    "OrderIdMemory",
    "OrderRepository",
    "PlanRepository",
    "Reconnectable",
    "RunRepository",
    "SequenceRepository",
    "SignalSource",
    "Store",
    "Telemetry",
    "Trading",
    "TradingStateRepository",
    "UnitOfWork",
    "ValueRepository",
]
