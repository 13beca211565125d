"""The prompt: the decision context as compact text, clamped to a byte budget deterministically.

Sections: the task and the answer format (docs/signals.md), trading state and exposure headroom, each
symbol's quote and the bot's position, its plans (with plan usage ``SYM:n/cap``), the last rejection
reasons and execution results, then the recent closed candles per symbol (``time,open,high,low,close,
volume``, oldest first). Over the budget, the oldest candle of the symbol with the most candles is dropped
first (ties: symbol order), until it fits; the same inputs always give the same bytes.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from decimal import Decimal

import attrs

from trader_core.model import Candle, Plan, Quote, Symbol

__all__ = ["PromptInputs", "build_prompt"]

_TASK = (
    "You decide for a spot crypto trading bot. Answer with ONE JSON object or a JSON list of objects, nothing "
    "else. Each object: {\"action\": BUY|SELL|HOLD|CANCEL|UPDATE_PLAN|PARTIAL_CLOSE|CLOSE_POSITION|"
    "PAUSE_TRADING, \"symbol\": \"BASE/QUOTE\", optional quantity, notional, stop, target, stop_pct, "
    "target_pct, plan_id, client_order_id, fraction, size_factor, minutes, reason, regime}. "
    "Only the symbols listed below. Every signal still passes the bot's risk guards."
)


@attrs.frozen(kw_only=True)
class PromptInputs:
    """What one decision may tell the model."""

    now: str
    candles: Mapping[Symbol, Sequence[Candle]]
    quotes: Sequence[Quote] = ()
    positions: Mapping[Symbol, Decimal] = attrs.Factory(dict)
    plans: Sequence[Plan] = ()
    plan_cap: int = 1
    exposure_headroom: Decimal | None = None
    max_trade_loss: Decimal | None = None  # what one entry may lose at its stop (None: no cap, and no line)
    trading_state: str = "active"
    rejections: Sequence[str] = ()
    results: Sequence[str] = ()


@functools.lru_cache(maxsize=8192)  # a candle is in ~60 prompts in a row: render it once
def _candle(c: Candle) -> str:
    t = c.open_time
    return f"{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d},{c.open},{c.high},{c.low},{c.close},{c.volume}"


def _head(inputs: PromptInputs) -> list[str]:
    symbols = sorted(inputs.candles, key=str)
    lines = [_TASK, f"now {inputs.now}", f"trading_state {inputs.trading_state}",
             f"exposure_headroom {'unlimited' if inputs.exposure_headroom is None else inputs.exposure_headroom}"]
    if inputs.max_trade_loss is not None:
        lines.append(f"max_trade_loss {inputs.max_trade_loss} (an entry is cut to quantity x (price - stop) plus "
                     "the fees of its buy and its sell at the stop <= this; without a stop, to quantity x price plus "
                     "the buy's fee)")
    quotes = {q.symbol: q for q in inputs.quotes}
    for symbol in symbols:
        quote = quotes.get(symbol)
        book = "" if quote is None else f" bid {quote.bid} ask {quote.ask} last {quote.last}"
        count = sum(1 for p in inputs.plans if p.symbol == symbol)
        lines.append(f"symbol {symbol}{book} position {inputs.positions.get(symbol, Decimal(0))} "
                     f"plans {symbol}:{count}/{inputs.plan_cap}")
    for plan in inputs.plans:
        lines.append(f"plan {plan.plan_id} {plan.symbol} {plan.status.value} qty {plan.entry_filled.value} "
                     f"entry {plan.entry_price} stop {plan.stop_price} target {plan.target_price}")
    lines.extend(f"rejected {reason}" for reason in inputs.rejections[-5:])
    lines.extend(f"result {result}" for result in inputs.results[-5:])
    return lines


def build_prompt(inputs: PromptInputs, byte_budget: int) -> str:
    """The prompt, at most ``byte_budget`` UTF-8 bytes (oldest candles dropped first)."""
    head = "\n".join(_head(inputs))
    series = {s: [_candle(c) for c in inputs.candles[s]] for s in sorted(inputs.candles, key=str)}
    start = dict.fromkeys(series, 0)
    size = len(head.encode()) + sum(len(f"\ncandles {s} t,o,h,l,c,v".encode()) for s in series)
    size += sum(len(line.encode()) + 1 for lines in series.values() for line in lines)
    while size > byte_budget:
        left = {s: len(lines) - start[s] for s, lines in series.items() if len(lines) > start[s]}
        if not left:
            break
        longest = max(left.values())
        symbol = next(s for s in series if left.get(s) == longest)
        size -= len(series[symbol][start[symbol]].encode()) + 1
        start[symbol] += 1
    parts = [head]
    for symbol, lines in series.items():
        parts.append(f"candles {symbol} t,o,h,l,c,v")
        parts.extend(lines[start[symbol]:])
    text = "\n".join(parts)
    raw = text.encode()
    return text if len(raw) <= byte_budget else raw[:byte_budget].decode("utf-8", "ignore")
