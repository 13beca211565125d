"""Ports: the Protocols the core depends on. Each method's docstring is its contract."""

from trader_core.ports.clock import Clock
from trader_core.ports.exchange import MarketData, Trading
from trader_core.ports.store import (
    FillRepository,
    OrderRepository,
    PlanRepository,
    RunRepository,
    SequenceRepository,
    Store,
    UnitOfWork,
)
from trader_core.ports.strategy import DecisionContext, SignalSource
from trader_core.ports.telemetry import Telemetry

__all__ = [
    "Clock",
    "DecisionContext",
    "FillRepository",
    "MarketData",
    "OrderRepository",
    "PlanRepository",
    "RunRepository",
    "SequenceRepository",
    "SignalSource",
    "Store",
    "Telemetry",
    "Trading",
    "UnitOfWork",
]
