"""The signal-source port: the strategy (an LLM may sit behind it, hence async)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Protocol

import attrs

from trader_core.model.ids import Symbol
from trader_core.model.instrument import InstrumentRules
from trader_core.model.market import Candle, Quote
from trader_core.model.plans import Plan
from trader_core.model.signals import Signal

__all__ = ["DecisionContext", "SignalSource"]


@attrs.frozen(kw_only=True)
class DecisionContext:
    """What the strategy may know at ``now``: nothing from after it.

    ``candles`` holds the candles that closed since the previous decision, per symbol, oldest first.
    ``positions`` is the bot's own holding per symbol (base quantity). ``may_enter`` lists the symbols
    that may take new entries this tick (fresh, liquid, trading active). ``rules`` are the venue's order rules
    per symbol. Ask :meth:`holds` whether the bot is in a position: a quantity alone can be dust a base-asset
    fee left behind, which nobody can sell.
    """

    now: datetime
    candles: tuple[tuple[Symbol, tuple[Candle, ...]], ...] = ()
    quotes: tuple[Quote, ...] = ()
    positions: tuple[tuple[Symbol, Decimal], ...] = ()
    plans: tuple[Plan, ...] = ()
    may_enter: frozenset[Symbol] = frozenset()
    rules: tuple[tuple[Symbol, InstrumentRules], ...] = ()

    def position(self, symbol: Symbol) -> Decimal:
        """The bot's quantity held in ``symbol`` (zero when flat)."""
        for held_symbol, quantity in self.positions:
            if held_symbol == symbol:
                return quantity
        return Decimal(0)

    def holds(self, symbol: Symbol) -> bool:
        """Whether the bot is in a position in ``symbol``: it has an active plan there (an entry working or
        filled), or it holds a quantity the venue would let it sell (at least the minimum quantity and, at the
        latest price, the minimum notional). Dust is not a position."""
        if any(plan.symbol == symbol and plan.status.is_active for plan in self.plans):
            return True
        quantity = self.position(symbol)
        if quantity <= 0:
            return False
        rules = next((r for s, r in self.rules if s == symbol), None)
        if rules is None:
            return True  # without the venue's rules any quantity may be tradable
        price = self.last_price(symbol)
        return quantity >= rules.min_quantity and (price is None or quantity * price >= rules.min_notional)

    def last_price(self, symbol: Symbol) -> Decimal | None:
        """The latest known price of ``symbol``: its quote's last price, else the close of its newest candle."""
        for quote in self.quotes:
            if quote.symbol == symbol:
                return quote.last
        for candle_symbol, candles in self.candles:
            if candle_symbol == symbol and candles:
                return candles[-1].close
        return None


class SignalSource(Protocol):
    """A strategy: given what is known now, what does it want done?"""

    async def decide(self, context: DecisionContext) -> tuple[Signal, ...]:
        """Signals for this tick (empty for 'nothing'). May raise any ``TraderError``; the caller
        counts it against the strategy circuit and carries on."""
        ...
