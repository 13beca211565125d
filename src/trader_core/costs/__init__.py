"""LLM cost accounting: the cost of each model call, the running spend, the budget and net PnL (pure)."""

from trader_core.costs.tracker import (
    BudgetState,
    CostTracker,
    LlmBudget,
    LlmRates,
    LlmSpend,
    LlmUsage,
    budget_status,
    call_cost,
    estimated_usage,
    net_pnl,
    spend_of,
)

__all__ = [
    "BudgetState",
    "CostTracker",
    "LlmBudget",
    "LlmRates",
    "LlmSpend",
    "LlmUsage",
    "budget_status",
    "call_cost",
    "estimated_usage",
    "net_pnl",
    "spend_of",
]
