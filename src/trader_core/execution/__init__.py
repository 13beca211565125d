"""OrderExecutor (intent first, then the venue; outcomes resolved by client order id), the in-memory
trading book, and the sizing rules every order goes through."""

from __future__ import annotations

from trader_core.execution.book import (
    TradingBook,
)
from trader_core.execution.client_ids import (
    INCARNATION_KEY,
    IdBlocks,
    attempt_of,
    client_order_id,
    is_own,
    new_incarnation,
    next_attempt,
)
from trader_core.execution.executor import (
    RETRYABLE_ROLES,
    OrderExecutor,
    intent_status,
)
from trader_core.execution.sizing import (
    MakerPreference,
    SizedOrder,
    SizingPolicy,
    SlippageVerdict,
    Trim,
    buffer_order_value,
    exit_quantity,
    liquidity_problems,
    maker_price,
    parse_maker_overrides,
    passes_reward_risk,
    round_entry,
    size_entry,
    slippage_cap_pct,
    slippage_verdict,
    stacking_blocked,
    top_of_book_notional,
    volatility_factor,
    volatility_scaled,
)

__all__ = [
    "INCARNATION_KEY",
    "RETRYABLE_ROLES",
    "IdBlocks",
    "MakerPreference",
    "OrderExecutor",
    "SizedOrder",
    "SizingPolicy",
    "SlippageVerdict",
    "TradingBook",
    "Trim",
    "attempt_of",
    "buffer_order_value",
    "client_order_id",
    "exit_quantity",
    "intent_status",
    "is_own",
    "liquidity_problems",
    "maker_price",
    "new_incarnation",
    "next_attempt",
    "parse_maker_overrides",
    "passes_reward_risk",
    "round_entry",
    "size_entry",
    "slippage_cap_pct",
    "slippage_verdict",
    "stacking_blocked",
    "top_of_book_notional",
    "volatility_factor",
    "volatility_scaled",
]
