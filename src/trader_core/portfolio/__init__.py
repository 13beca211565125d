"""PortfolioTracker: the fill ledger, holdings, realized PnL, fees in their own currency, balances."""

from __future__ import annotations

from trader_core.portfolio.balances import (
    BalanceCheck,
    BalanceLine,
    balance_lines,
)
from trader_core.portfolio.fees import (
    FeePolicy,
    QuoteFeeRates,
    estimate_fee,
    exceeds_sanity_bound,
    needs_rate,
)
from trader_core.portfolio.ledger import (
    EXACT,
    Booking,
    Holding,
    apply_fill,
    apply_fill_exact,
    fee_in_quote,
)
from trader_core.portfolio.ledger_state import (
    AssetFlow,
    FillKey,
    LedgerChange,
    LedgerState,
    PlanResult,
    stored_rate,
)
from trader_core.portfolio.tracker import (
    LedgerPolicy,
    PortfolioStats,
    PortfolioTracker,
    day_zone,
)

__all__ = [
    "EXACT",
    "AssetFlow",
    "BalanceCheck",
    "BalanceLine",
    "Booking",
    "FeePolicy",
    "FillKey",
    "Holding",
    "LedgerChange",
    "LedgerPolicy",
    "LedgerState",
    "PlanResult",
    "PortfolioStats",
    "PortfolioTracker",
    "QuoteFeeRates",
    "apply_fill",
    "apply_fill_exact",
    "balance_lines",
    "day_zone",
    "estimate_fee",
    "exceeds_sanity_bound",
    "fee_in_quote",
    "needs_rate",
    "stored_rate",
]
