"""TradeActionHandler: every signal action through the sizing and risk guards."""

from __future__ import annotations

from trader_core.trading.actions import (
    ActionOutcome,
    ActionPolicy,
    ActionStatus,
    TradeActionHandler,
)

__all__ = [
    "ActionOutcome",
    "ActionPolicy",
    "ActionStatus",
    "TradeActionHandler",
]
