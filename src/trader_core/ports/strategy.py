"""The signal-source port: the strategy (an LLM may sit behind it, hence async)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Protocol

import attrs

from trader_core.model.ids import Symbol
from trader_core.model.market import Candle, Quote
from trader_core.model.plans import Plan
from trader_core.model.signals import Signal

__all__ = ["DecisionContext", "SignalSource"]


@attrs.frozen(kw_only=True)
class DecisionContext:
    """What the strategy may know at ``now``: nothing from after it.

    ``candles`` holds the candles that closed since the previous decision, per symbol, oldest first.
    ``positions`` is the bot's own holding per symbol (base quantity). ``may_enter`` lists the symbols
    that may take new entries this tick (fresh, liquid, trading active).
    """

    now: datetime
    candles: tuple[tuple[Symbol, tuple[Candle, ...]], ...] = ()
    quotes: tuple[Quote, ...] = ()
    positions: tuple[tuple[Symbol, Decimal], ...] = ()
    plans: tuple[Plan, ...] = ()
    may_enter: frozenset[Symbol] = frozenset()

    def position(self, symbol: Symbol) -> Decimal:
        """The bot's quantity held in ``symbol`` (zero when flat)."""
        for held_symbol, quantity in self.positions:
            if held_symbol == symbol:
                return quantity
        return Decimal(0)


class SignalSource(Protocol):
    """A strategy: given what is known now, what does it want done?"""

    async def decide(self, context: DecisionContext) -> tuple[Signal, ...]:
        """Signals for this tick (empty for 'nothing'). May raise any ``TraderError``; the caller
        counts it against the strategy circuit and carries on."""
        ...
