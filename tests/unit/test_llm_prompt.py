"""The prompt: within the byte budget, deterministic, oldest candles dropped first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from trader_adapters.llm.prompt import PromptInputs, build_prompt
from trader_core.model import Candle, Symbol, Timeframe

T0 = datetime(2025, 1, 1, tzinfo=UTC)
SYMBOLS = [Symbol.parse(s) for s in ("BTC/USDT", "ETH/USDT", "SOL/USDT")]


def _candles(symbol: Symbol, count: int) -> tuple[Candle, ...]:
    return tuple(Candle(symbol=symbol, timeframe=Timeframe("1m"), open_time=T0 + timedelta(minutes=i),
                        open=Decimal(100 + i), high=Decimal(101 + i), low=Decimal(99 + i), close=Decimal(100 + i),
                        volume=Decimal(i)) for i in range(count))


inputs_st = st.builds(
    lambda counts, rejections: PromptInputs(
        now=T0.isoformat(), candles={s: _candles(s, n) for s, n in zip(SYMBOLS, counts, strict=False)},
        rejections=rejections),
    st.lists(st.integers(0, 60), min_size=1, max_size=3), st.lists(st.text(max_size=30), max_size=3))


@given(inputs_st, st.integers(200, 8000))
def test_the_prompt_fits_the_budget_and_the_same_context_gives_the_same_bytes(
        inputs: PromptInputs, budget: int) -> None:
    prompt = build_prompt(inputs, budget)
    assert len(prompt.encode()) <= budget
    assert build_prompt(inputs, budget).encode() == prompt.encode()


@given(inputs_st, st.integers(1500, 8000))
def test_only_the_oldest_candles_are_dropped(inputs: PromptInputs, budget: int) -> None:
    prompt = build_prompt(inputs, budget)
    for symbol, candles in inputs.candles.items():
        if not candles:
            continue
        block = prompt.split(f"candles {symbol} t,o,h,l,c,v")[1].split("\ncandles ")[0]
        kept = [line for line in block.splitlines() if line]
        assert len(kept) <= len(candles)
        # What is kept is the newest candles, in order (a suffix of the series).
        assert kept == [line for line in build_prompt(inputs, 10**9).split(
            f"candles {symbol} t,o,h,l,c,v")[1].split("\ncandles ")[0].splitlines() if line][len(candles) - len(kept):]
