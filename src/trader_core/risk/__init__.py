"""RiskManager: entry limits on the bot's own book, loss limits that survive restarts."""

from __future__ import annotations

from trader_core.risk.manager import (
    LOSS_LIMITS_KEY,
    RiskManager,
)
from trader_core.risk.rules import (
    Allowed,
    Denied,
    LossBreach,
    LossLimitKind,
    LossLimitPolicy,
    LossLimitState,
    PendingOrder,
    Position,
    RiskBook,
    RiskPolicy,
    RiskVerdict,
    bot_equity,
    check_entry,
    check_exit,
    loss_at_stop,
    observe_equity,
)

__all__ = [
    "LOSS_LIMITS_KEY",
    "Allowed",
    "Denied",
    "LossBreach",
    "LossLimitKind",
    "LossLimitPolicy",
    "LossLimitState",
    "PendingOrder",
    "Position",
    "RiskBook",
    "RiskManager",
    "RiskPolicy",
    "RiskVerdict",
    "bot_equity",
    "check_entry",
    "check_exit",
    "loss_at_stop",
    "observe_equity",
]
