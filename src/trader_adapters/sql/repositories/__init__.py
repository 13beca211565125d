"""The SQL store's repositories: one per record type, each working inside one unit of work."""

from __future__ import annotations

from trader_adapters.sql.repositories.base import UnitContext
from trader_adapters.sql.repositories.commands import (
    SqlCommandRepository,
)
from trader_adapters.sql.repositories.leases import SqlLeaseRepository
from trader_adapters.sql.repositories.ledger import (
    SqlLedgerRepository,
    SqlTradingStateRepository,
    SqlValueRepository,
)
from trader_adapters.sql.repositories.llm import SqlLlmCallRepository, SqlLlmTraceRepository
from trader_adapters.sql.repositories.market import (
    SqlCandleRepository,
)
from trader_adapters.sql.repositories.orders import (
    SqlFillRepository,
    SqlOrderRepository,
    SqlPlanRepository,
    SqlRunRepository,
    SqlSequenceRepository,
)

__all__ = [
    "SqlCandleRepository",
    "SqlCommandRepository",
    "SqlFillRepository",
    "SqlLeaseRepository",
    "SqlLedgerRepository",
    "SqlLlmCallRepository",
    "SqlLlmTraceRepository",
    "SqlOrderRepository",
    "SqlPlanRepository",
    "SqlRunRepository",
    "SqlSequenceRepository",
    "SqlTradingStateRepository",
    "SqlValueRepository",
    "UnitContext",
]
