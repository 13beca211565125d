"""The pure accounting rules: how one fill changes a holding (average cost, realized PnL, fees).

Cost basis is the quote paid for the units still held; a fee paid in the base asset is expensed at the
fill price (not folded into the cost), so for any closed round trip
``realized - fees == cash received - cash spent`` holds exactly.

Arithmetic runs at 60 significant digits; a partial disposal takes its share of the cost rounded to
1e-18 quote and a full disposal takes the rest, so every sum is exact and a round trip's totals do not
depend on how the venue split its fills.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, FloatOperation, InvalidOperation, localcontext

import attrs

from trader_core.model import ZERO, Fill, InvalidValueError, Side
from trader_core.model.stats import Holding

__all__ = ["EXACT", "Booking", "Holding", "apply_fill", "apply_fill_exact", "fee_in_quote"]

EXACT = Context(prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, FloatOperation])
_COST_QUANTUM = Decimal("1e-18")


@attrs.frozen
class Booking:
    """What booking one fill produced. ``excess`` > 0 means the venue sold more than the bot held."""

    realized_pnl: Decimal
    fee_quote: Decimal
    cash_delta: Decimal
    excess: Decimal = ZERO


def fee_in_quote(fill: Fill, rate: Decimal | None = None) -> Decimal:
    """The fill's fee valued in the quote asset.

    A base-asset fee is valued at the fill price; a third-asset fee needs ``rate`` (quote per unit of
    the fee asset, taken at fill time).
    """
    asset = fill.fee.asset
    if asset == fill.symbol.quote:
        return fill.fee.amount
    if asset == fill.symbol.base:
        return fill.fee.amount * fill.price.value
    if fill.fee.amount == ZERO:
        return ZERO
    if rate is None:
        raise InvalidValueError(f"fill {fill.trade_id}: a fee in {asset} needs a {asset}/{fill.symbol.quote} rate")
    return fill.fee.amount * rate


def apply_fill(holding: Holding, fill: Fill, fee_rate: Decimal | None = None) -> tuple[Holding, Booking]:
    """Book ``fill`` against ``holding``: the new holding and what the booking produced. Pure."""
    with localcontext(EXACT):
        return apply_fill_exact(holding, fill, fee_rate)


def apply_fill_exact(holding: Holding, fill: Fill, fee_rate: Decimal | None) -> tuple[Holding, Booking]:
    """``apply_fill`` for a caller already inside ``localcontext(EXACT)`` (a replay of many fills)."""
    price, quantity = fill.price.value, fill.quantity.value
    fee, symbol = fill.fee, fill.symbol
    code = fee.asset.code  # codes compare faster than the attrs values, on the path that replays millions
    if code == symbol.quote.code:
        fee_quote = quote_cash_fee = fee.amount
        base_fee = ZERO
    elif code == symbol.base.code:
        fee_quote, base_fee, quote_cash_fee = fee.amount * price, fee.amount, ZERO
    else:
        fee_quote = quote_cash_fee = fee_in_quote(fill, fee_rate)
        base_fee = ZERO
    if fill.side is Side.BUY:
        acquired = quantity - base_fee
        new = Holding(holding.symbol, holding.quantity + acquired, holding.cost + acquired * price)
        return new, Booking(ZERO, fee_quote, -(quantity * price) - quote_cash_fee)
    disposed = quantity + base_fee
    cash = quantity * price - quote_cash_fee
    held = holding.quantity
    excess = max(ZERO, disposed - held)
    disposed -= excess
    # Closing the whole holding uses the remaining cost exactly: round trips telescope without residue.
    cost_out = holding.cost if disposed == held else (holding.cost * disposed / held).quantize(_COST_QUANTUM)
    realized = disposed * price - cost_out
    new = Holding(holding.symbol, held - disposed, holding.cost - cost_out)
    return new, Booking(realized, fee_quote, cash, excess)
