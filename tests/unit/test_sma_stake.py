"""``--stake`` means the stake: the built-in SMA strategy tags no volatility flag unless asked."""

from __future__ import annotations

from trader_adapters.strategies.loader import load_strategy
from trader_adapters.strategies.sma_cross import SmaCross


def test_the_built_in_sma_sets_no_volatility_flag_by_default() -> None:
    strategy = load_strategy("sma", {"fast": 2, "slow": 3})
    assert isinstance(strategy, SmaCross)
    assert strategy.volatility_sizing is False


def test_volatility_sizing_is_passed_through_when_asked() -> None:
    strategy = load_strategy("sma", {"fast": 2, "slow": 3, "volatility_sizing": True})
    assert isinstance(strategy, SmaCross)
    assert strategy.volatility_sizing is True
