"""SMA cross: long when the fast average crosses above the slow one, out on the opposite cross."""

from __future__ import annotations

import math
from collections import deque
from decimal import Decimal

import attrs

from trader_core.model import Action, Candle, Signal, Symbol
from trader_core.ports import DecisionContext

__all__ = ["SmaCross"]

_ZERO = Decimal(0)


@attrs.define
class _Averages:
    """Running sums over the last ``fast`` and ``slow`` closes, O(1) per candle."""

    fast: int
    slow: int
    closes: deque[Decimal] = attrs.field(init=False)
    fast_sum: Decimal = _ZERO
    slow_sum: Decimal = _ZERO
    prev_diff: Decimal | None = None  # fast - slow on the previous closed candle
    returns: deque[float] = attrs.field(init=False)
    return_sum: float = 0.0
    return_squares: float = 0.0
    vol_mean: float | None = None

    def __attrs_post_init__(self) -> None:
        self.closes = deque(maxlen=self.slow)
        self.returns = deque(maxlen=self.slow)

    def push(self, close: Decimal) -> Decimal | None:
        """Add a close; return fast - slow once ``slow`` closes are in, else None."""
        closes = self.closes
        if closes:
            self._push_return(math.log(float(close) / float(closes[-1])))
        if len(closes) == self.slow:
            self.slow_sum -= closes[0]
        if len(closes) >= self.fast:
            self.fast_sum -= closes[-self.fast]
        closes.append(close)
        self.slow_sum += close
        self.fast_sum += close
        if len(closes) < self.slow:
            return None
        return self.fast_sum / self.fast - self.slow_sum / self.slow

    def _push_return(self, value: float) -> None:
        # Running sums keep the dispersion O(1) per candle; the baseline is an EWMA of it.
        returns = self.returns
        if len(returns) == returns.maxlen:
            old = returns[0]
            self.return_sum -= old
            self.return_squares -= old * old
        returns.append(value)
        self.return_sum += value
        self.return_squares += value * value
        sigma = self._sigma()
        self.vol_mean = sigma if self.vol_mean is None else self.vol_mean * 0.98 + sigma * 0.02

    def _sigma(self) -> float:
        n = len(self.returns)
        if n < 2:
            return 0.0
        variance = (self.return_squares - self.return_sum * self.return_sum / n) / (n - 1)
        return math.sqrt(max(variance, 0.0))

    def volatility(self) -> str:
        """'low', 'medium' or 'high': the window's return dispersion against its own running average."""
        if len(self.returns) < 2 or self.vol_mean is None:
            return "medium"
        sigma, baseline = self._sigma(), self.vol_mean
        if sigma > baseline * 1.25:
            return "high"
        if sigma < baseline * 0.8:
            return "low"
        return "medium"


@attrs.define
class SmaCross:
    """Enters long on a fast-over-slow cross between two consecutive closed candles, after a warm-up of
    ``slow`` candles, with a stop and a target as percent distances from the entry fill price; exits on
    the opposite cross. With ``volatility_sizing`` the signals carry a ``volatility`` regime flag (low,
    medium, high) that scales the entry size and the breakeven trail; without it (the default) they carry
    no flag, so an entry is bought at the full stake the user asked for."""

    fast: int = 10
    slow: int = 30
    stop_pct: Decimal | None = Decimal(2)
    target_pct: Decimal | None = Decimal(3)
    volatility_sizing: bool = False
    _state: dict[Symbol, _Averages] = attrs.field(factory=dict, init=False)

    def __attrs_post_init__(self) -> None:
        if not 0 < self.fast < self.slow:
            raise ValueError(f"need 0 < fast < slow, got fast={self.fast} slow={self.slow}")

    async def decide(self, context: DecisionContext) -> tuple[Signal, ...]:
        """Signals for the candles that closed since the last call."""
        signals: list[Signal] = []
        for symbol, candles in context.candles:
            signal = None
            for candle in candles:
                # Older candles in a batch (history on start-up, a catch-up after a pause) only warm the
                # averages: a cross that happened minutes ago is not a reason to trade now.
                signal = self._on_candle(symbol, candle, context)
            if signal is not None:
                signals.append(signal)
        return tuple(signals)

    def _on_candle(self, symbol: Symbol, candle: Candle, context: DecisionContext) -> Signal | None:
        averages = self._state.get(symbol)
        if averages is None:
            averages = self._state[symbol] = _Averages(self.fast, self.slow)
        diff = averages.push(candle.close)
        previous, averages.prev_diff = averages.prev_diff, diff
        if diff is None or previous is None:
            return None
        crossed_up, crossed_down = previous <= _ZERO < diff, previous >= _ZERO > diff
        if not (crossed_up or crossed_down):
            return None
        regime = (("volatility", averages.volatility()),) if self.volatility_sizing else ()
        held = context.holds(symbol)
        if crossed_up and not held and symbol in context.may_enter:
            return Signal(action=Action.BUY, symbol=symbol, stop_pct=self.stop_pct, target_pct=self.target_pct,
                          reason=f"SMA{self.fast} crossed above SMA{self.slow}", regime=regime)
        if crossed_down and held:
            return Signal(action=Action.SELL, symbol=symbol, reason=f"SMA{self.fast} crossed below SMA{self.slow}",
                          regime=regime)
        return None
