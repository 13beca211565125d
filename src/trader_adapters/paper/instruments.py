"""Default trading rules for simulated venues, close to Binance spot's filters for common pairs."""

from __future__ import annotations

import functools
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from trader_core.model.ids import Symbol
from trader_core.model.instrument import InstrumentRules

__all__ = ["default_rules", "to_tick"]

# (tick size, step size, minimum quantity, minimum notional in the quote asset)
_KNOWN: dict[str, tuple[str, str, str, str]] = {
    "BTC/USDT": ("0.01", "0.00001", "0.00001", "5"),
    "ETH/USDT": ("0.01", "0.0001", "0.0001", "5"),
    "SOL/USDT": ("0.01", "0.001", "0.001", "5"),
}
_STABLE_QUOTES = frozenset({"USDT", "USDC", "FDUSD", "BUSD", "TUSD", "DAI"})
# Any other pair quoted in a stablecoin: a fine tick and a coarse-enough step to trade anything priced
# from ~0.01 to ~10^5 with a 5-unit minimum notional, like Binance's usual filters.
_STABLE_FALLBACK = ("0.0001", "0.001", "0.001", "5")
# Quoted in a coin (ETH/BTC...): satoshi ticks and a tiny minimum notional.
_COIN_FALLBACK = ("0.00000001", "0.001", "0.001", "0.0001")


@functools.lru_cache(maxsize=1024)  # called per quote and per order on the replay hot path
def default_rules(symbol: Symbol) -> InstrumentRules:
    """Rules for ``symbol``: BTC, ETH and SOL against USDT as on Binance spot; any other pair quoted in a
    stablecoin gets tick 0.0001, step 0.001, min quantity 0.001, min notional 5; any other quote gets
    tick 1e-8, step 0.001, min quantity 0.001, min notional 0.0001. Never raises: listing symbols is the
    market's business, not the rules'."""
    if str(symbol) in _KNOWN:
        tick, step, min_qty, min_notional = _KNOWN[str(symbol)]
    elif symbol.quote.code in _STABLE_QUOTES:
        tick, step, min_qty, min_notional = _STABLE_FALLBACK
    else:
        tick, step, min_qty, min_notional = _COIN_FALLBACK
    return InstrumentRules(
        symbol=symbol, tick_size=Decimal(tick), step_size=Decimal(step),
        min_quantity=Decimal(min_qty), min_notional=Decimal(min_notional),
    )


def to_tick(price: Decimal, tick: Decimal, *, up: bool) -> Decimal:
    """``price`` on a multiple of ``tick``, rounded up or down (never below one tick).

    Simulated venues round adversely: up for what a buyer pays, down for what a seller gets.
    """
    ticks = (price / tick).to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR)
    # No normalize(): 60000.00 must stay 60000.00, not become 6E+4.
    return max(ticks, Decimal(1)) * tick
