"""Fee rules: valuing a third-asset fee, the sanity bound, and the estimate made at submission. Pure,
except ``QuoteFeeRates``, which asks the market for a rate (before any unit of work opens)."""

from __future__ import annotations

from decimal import Decimal, localcontext

import attrs

from trader_core.model import (
    ONE,
    ZERO,
    Asset,
    ExchangeError,
    Fill,
    InvalidDataError,
    OrderRequest,
    Symbol,
    UnknownSymbolError,
)
from trader_core.ports import MarketData

__all__ = ["FeePolicy", "QuoteFeeRates", "estimate_fee", "exceeds_sanity_bound", "needs_rate"]


@attrs.frozen(kw_only=True)
class FeePolicy:
    """Fee policy values. ``sanity_bound`` is the share of a fill's notional above which its fee is
    flagged as a likely parsing error (2 % by default); ``estimate_rate`` is the share of an order's
    notional expected as its fee at submission (the venue's taker rate, or the paper venue's rate)."""

    sanity_bound: Decimal = Decimal("0.02")
    estimate_rate: Decimal | None = None


def needs_rate(fill: Fill) -> bool:
    """True when the fee is in neither the base nor the quote asset and is not zero."""
    asset = fill.fee.asset
    return fill.fee.amount != ZERO and asset not in (fill.symbol.base, fill.symbol.quote)


def exceeds_sanity_bound(fill: Fill, fee_quote: Decimal, bound: Decimal) -> bool:
    """True when the fee, valued in quote, exceeds ``bound`` of the fill's notional."""
    return fee_quote > fill.notional * bound


def estimate_fee(request: OrderRequest, rate: Decimal | None, reference_price: Decimal | None = None) -> Decimal | None:
    """The fee expected for ``request`` in quote: quantity x price x rate. The price is the order's own
    (limit, target, stop), else ``reference_price`` (a market order); None when either is unknown."""
    if rate is None:
        return None
    price = request.price or request.stop_price
    value = price.value if price is not None else reference_price
    if value is None:
        return None
    return request.quantity.value * value * rate


@attrs.define
class QuoteFeeRates:
    """``FeeRates`` from the market's last price of ``ASSET/QUOTE`` (e.g. BNB/USDT for a BNB fee), or the inverse
    of ``QUOTE/ASSET``'s where the venue lists only that one."""

    market: MarketData
    source: str = "quote"

    async def rate(self, asset: Asset, quote: Asset) -> tuple[Decimal, str] | None:
        """The rate and where it came from; ``(0, why)`` when the venue lists neither pair (no market values
        the fee), None when the market cannot answer now."""
        for symbol, inverse in ((Symbol(asset, quote), False), (Symbol(quote, asset), True)):
            try:
                quote_now = await self.market.fetch_quote(symbol)
            except UnknownSymbolError:
                continue
            except (ExchangeError, InvalidDataError):
                return None
            last = quote_now.last
            if last <= ZERO:
                return None
            with localcontext() as exact:
                exact.prec = 28
                value = ONE / last if inverse else last
            return value, f"{self.source}:{symbol}{' inverted' if inverse else ''}@{quote_now.observed_at.isoformat()}"
        return ZERO, f"unvalued: the venue lists neither {asset}/{quote} nor {quote}/{asset}"
