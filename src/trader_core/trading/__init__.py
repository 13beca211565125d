"""TradeActionHandler: every signal action through the sizing and risk guards."""

from __future__ import annotations

from trader_core.trading.actions import (
    TradeActionHandler,
)
from trader_core.trading.maker import (
    MakerOrders,
    limit_order,
    market_order,
)
from trader_core.trading.outcomes import (
    ORDER_STATUS,
    ORDERS_SENT,
    PROTECTION_MAY_BE_DOWN,
    ActionOutcome,
    ActionPolicy,
    ActionStatus,
)

__all__ = [
    "ORDERS_SENT",
    "ORDER_STATUS",
    "PROTECTION_MAY_BE_DOWN",
    "ActionOutcome",
    "ActionPolicy",
    "ActionStatus",
    "MakerOrders",
    "TradeActionHandler",
    "limit_order",
    "market_order",
]
