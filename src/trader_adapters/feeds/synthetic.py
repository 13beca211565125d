"""Seeded synthetic candles: trend and chop regimes, clustered volatility, wicks and volume.

Deterministic: the same arguments always give the same candles (``random.Random`` seeded with the
seed and the symbol, so two symbols differ). Floats are internal only; prices leave as tick Decimals.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from decimal import Decimal

from trader_core.model.errors import ConfigError
from trader_core.model.ids import Symbol
from trader_core.model.market import Candle, Timeframe, require_utc

__all__ = ["candles_per_days", "generate_candles", "starting_price"]

_START_PRICES = {"BTC": 60000, "ETH": 3000, "SOL": 150}
_DEFAULT_START = 100
_VOLUME_STEP = Decimal("0.001")

# Regimes: drift per bar in units of the base sigma, mean reversion strength, volatility multiplier.
_TREND_UP, _TREND_DOWN, _CHOP = 0, 1, 2
_DRIFT = {_TREND_UP: 0.04, _TREND_DOWN: -0.04, _CHOP: 0.0}
_REVERSION = {_TREND_UP: 0.0, _TREND_DOWN: 0.0, _CHOP: 0.02}
_VOL_MULT = {_TREND_UP: 1.0, _TREND_DOWN: 1.3, _CHOP: 0.8}
_SWITCH_PROB = 1 / 250  # mean regime length ~250 bars: regimes persist


def starting_price(symbol: Symbol) -> int:
    """The synthetic series' first price for ``symbol``'s base asset (BTC 60000, ETH 3000, SOL 150, else 100)."""
    return _START_PRICES.get(symbol.base.code, _DEFAULT_START)


def candles_per_days(timeframe: Timeframe, days: int) -> int:
    """How many whole candles of ``timeframe`` a synthetic feed of ``days`` days holds."""
    return int(timedelta(days=days) / timeframe.duration)


def generate_candles(
    symbol: Symbol, timeframe: Timeframe, start: datetime, count: int, seed: int
) -> tuple[Candle, ...]:
    """``count`` consecutive candles of ``symbol`` from ``start`` (the first open time).

    Close-to-close returns follow a GARCH(1,1)-like variance scaled per regime (trend up, trend down,
    mean-reverting chop) that switches with persistence; each bar opens at the previous close; wicks
    extend beyond the body; volume grows with the absolute return. Prices are on a 0.01 tick
    (0.0001 below a starting price of 10).
    """
    require_utc(start, "start")
    if count < 0:
        raise ConfigError(f"candle count cannot be negative, got {count}")
    # Not for secrets (S311); str seeds are hashed stably (sha512), not per process.
    rng = random.Random(f"{seed}:{symbol}")  # noqa: S311
    gauss, rand = rng.gauss, rng.random
    first = starting_price(symbol)
    tick = Decimal("0.01") if first >= 10 else Decimal("0.0001")
    tick_f = float(tick)
    step = timeframe.duration
    minutes = step.total_seconds() / 60
    base_sigma = min(0.0009 * math.sqrt(minutes), 0.08)  # ~0.09% per minute, capped for long bars
    base_volume = 200_000.0 / first * max(minutes, 1 / 60)  # ~200k quote units traded per minute

    # GARCH(1,1) with long-run variance base_sigma**2: omega + (alpha + beta) * var == var.
    alpha, beta = 0.08, 0.9
    omega = base_sigma**2 * (1 - alpha - beta)
    variance = base_sigma**2
    regime = rng.choice((_TREND_UP, _TREND_DOWN, _CHOP))
    anchor = math.log(first)
    log_price = anchor
    open_ticks = max(1, round(first / tick_f))
    last_shock = 0.0
    max_variance = (8 * base_sigma) ** 2
    candles: list[Candle] = []
    open_time = start
    for _ in range(count):
        if rand() < _SWITCH_PROB:
            regime = rng.choice((_TREND_UP, _TREND_DOWN, _CHOP))
            anchor = log_price  # chop oscillates around where it began
        # The GARCH recursion sees only its own shock (not drift or the regime multiplier), which
        # keeps it stationary; the cap stops a freak run of shocks from exploding the path.
        variance = min(omega + alpha * last_shock**2 + beta * variance, max_variance)
        last_shock = math.sqrt(variance) * gauss(0.0, 1.0)
        sigma = math.sqrt(variance) * _VOL_MULT[regime]
        drift = _DRIFT[regime] * base_sigma - _REVERSION[regime] * (log_price - anchor)
        ret = drift + last_shock * _VOL_MULT[regime]
        log_price += ret
        close_ticks = max(1, round(math.exp(log_price) / tick_f))
        body_high, body_low = max(open_ticks, close_ticks), min(open_ticks, close_ticks)
        ref = body_high * tick_f
        high_ticks = body_high + round(ref * abs(gauss(0.0, 0.6)) * sigma / tick_f)
        low_ticks = max(1, body_low - round(ref * abs(gauss(0.0, 0.6)) * sigma / tick_f))
        shock = abs(ret) / base_sigma
        volume = base_volume * (0.4 + 0.6 * shock) * math.exp(gauss(0.0, 0.35))
        candles.append(
            Candle(
                symbol=symbol, timeframe=timeframe, open_time=open_time,
                open=Decimal(open_ticks) * tick, high=Decimal(high_ticks) * tick,
                low=Decimal(low_ticks) * tick, close=Decimal(close_ticks) * tick,
                volume=Decimal(max(1, round(volume / float(_VOLUME_STEP)))) * _VOLUME_STEP,
            )
        )
        open_ticks = close_ticks
        log_price = math.log(close_ticks * tick_f)  # keep the model on the rounded price path
        open_time = open_time + step
    return tuple(candles)
