"""Events of fills, the ledger and balances (PortfolioTracker)."""

from __future__ import annotations

from datetime import datetime

import attrs

from trader_core.model.events.base import Event

__all__ = [
    "BalanceMismatchDetected",
    "BalancesReconciled",
    "CapitalAboveAccount",
    "DuplicateFillIgnored",
    "FeeAboveSanityBound",
    "FeeRateUnavailable",
    "FillRecorded",
    "ForeignFillIgnored",
    "LedgerAnomalyDetected",
    "LedgerCacheLoaded",
    "LedgerRebuilt",
    "OrderFeesReconciled",
]


# --- fills and the ledger --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class FillRecorded(Event):
    """A venue fill was booked into the ledger (``at``: when booked; ``fill_time``: the venue's time)."""

    trade_id: str
    fill_time: datetime
    client_order_id: str | None
    symbol: str
    side: str
    price: str
    quantity: str
    fee: str
    fee_asset: str
    realized_pnl: str
    plan_id: str | None


@attrs.frozen(kw_only=True)
class DuplicateFillIgnored(Event):
    """A fill already booked was reported again and ignored."""

    trade_id: str
    symbol: str


@attrs.frozen(kw_only=True)
class ForeignFillIgnored(Event):
    """A fill of an order that is not the bot's was seen and not booked."""

    trade_id: str
    symbol: str


@attrs.frozen(kw_only=True)
class LedgerAnomalyDetected(Event):
    """The venue reported something the ledger refuses to book as is (e.g. selling more than held)."""

    symbol: str
    detail: str


@attrs.frozen(kw_only=True)
class FeeRateUnavailable(Event):
    """A fill's fee is in a third asset and no rate to value it was available: the fill was not booked
    now and will be tried again on the next sync (its trade is not skipped)."""

    trade_id: str
    symbol: str
    fee_asset: str
    detail: str


@attrs.frozen(kw_only=True)
class FeeAboveSanityBound(Event):
    """A booked fill's fee exceeds the sanity bound (a share of its notional): likely a parsing error
    at the venue edge. The fill is booked as reported; this flags it for a person to check."""

    trade_id: str
    symbol: str
    fee_quote: str
    notional: str
    bound_pct: str


@attrs.frozen(kw_only=True)
class OrderFeesReconciled(Event):
    """An order completed: the fee estimated at submission against the fees its fills actually cost
    (both in quote; ``difference`` = actual - estimated; ``estimated`` None when no estimate was made)."""

    client_order_id: str
    symbol: str
    estimated: str | None
    actual: str
    difference: str | None


@attrs.frozen(kw_only=True)
class LedgerRebuilt(Event):
    """Holdings and stats of a ledger scope were replayed from the stored fills and the cache rewritten."""

    scope: str
    fills: int
    reason: str


@attrs.frozen(kw_only=True)
class LedgerCacheLoaded(Event):
    """A ledger scope started from its cached holdings and stats (no replay was needed)."""

    scope: str
    fills: int


@attrs.frozen(kw_only=True)
class BalancesReconciled(Event):
    """The sanity report against the venue's balances found every residue within tolerance."""

    assets: int


@attrs.frozen(kw_only=True)
class CapitalAboveAccount(Event):
    """Health, at start-up: the bot's capital (its ``balance`` setting plus its realized PnL net of fees) is more
    than the account holds for it (``asset`` on the venue plus the bot's holdings at cost). The loss limits in
    percent count from that capital, so they are looser than they read: set ``balance`` to the bot's capital."""

    asset: str
    capital: str
    account: str


@attrs.frozen(kw_only=True)
class BalanceMismatchDetected(Event):
    """Health: the venue's balance of ``asset`` differs from what the bot's fills explain by more than the
    tolerance (``residue`` is what neither the bot's fills, its fees nor the known outside activity explain)."""

    asset: str
    expected: str
    venue: str
    outside: str
    residue: str
    tolerance: str
