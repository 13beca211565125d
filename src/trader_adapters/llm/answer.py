"""A model's answer as signals: the scripted signals format (docs/signals.md), parsed by the same parser.

Anything the model says becomes valid signals or one HOLD with the reason: never an exception. The answer
is one JSON object or a list of them (or ``{"signals": [...]}``, the structured-output envelope), possibly
inside a Markdown code fence; ``at`` is ignored (a decision
is for now). A symbol the bot does not trade, a malformed or empty answer gives HOLD and ``failed`` True
(it counts on the tool circuit); a well-formed HOLD is not a failure.
"""

from __future__ import annotations

import json
from collections.abc import Collection

import attrs

from trader_adapters.strategies.scripted import parse_signal_record
from trader_core.model import Action, ConfigError, Signal, Symbol

__all__ = ["ParsedAnswer", "hold", "parse_answer"]

_MAX_SIGNALS = 10  # more in one answer is taken as a malformed answer


@attrs.frozen
class ParsedAnswer:
    """The signals of one answer; ``failed`` when the answer was unusable (the signals are then one HOLD)."""

    signals: tuple[Signal, ...]
    failed: bool = False
    reason: str = ""


def hold(symbol: Symbol, reason: str, *, failed: bool) -> ParsedAnswer:
    """One HOLD on ``symbol`` with ``reason``."""
    return ParsedAnswer((Signal(action=Action.HOLD, symbol=symbol, reason=reason[:200]),), failed, reason[:200])


def parse_answer(raw: bytes | str, symbols: Collection[Symbol], default: Symbol) -> ParsedAnswer:  # noqa: PLR0911
    """The answer ``raw`` as signals on ``symbols`` only; HOLD on ``default`` when it is unusable."""
    try:
        text = _unfence((raw.decode("utf-8") if isinstance(raw, bytes) else raw).strip())
        decoded = json.loads(text)
    except UnicodeDecodeError:
        return hold(default, "LLM answer: not UTF-8", failed=True)
    except (ValueError, RecursionError) as exc:
        return hold(default, f"LLM answer: not JSON ({type(exc).__name__})", failed=True)
    if isinstance(decoded, dict) and set(decoded) == {"signals"} and isinstance(decoded["signals"], list):
        # The structured-output envelope ({"signals": [...]}); an empty list is a well-formed "nothing to do".
        if not decoded["signals"]:
            return hold(default, "LLM answer: no signal", failed=False)
        decoded = decoded["signals"]
    if decoded == []:  # a bare empty list: "nothing to do", as the envelope's is
        return hold(default, "LLM answer: no signal", failed=False)
    records = decoded if isinstance(decoded, list) else [decoded]
    if not records or len(records) > _MAX_SIGNALS:
        return hold(default, f"LLM answer: {len(records)} signals (1-{_MAX_SIGNALS} expected)", failed=True)
    signals = []
    for record in records:
        try:
            _, signal = parse_signal_record(record, require_at=False)
        except (ConfigError, RecursionError) as exc:
            return hold(default, f"LLM answer: {exc}", failed=True)
        if signal.symbol not in symbols:
            return hold(default, f"LLM answer: unknown symbol {signal.symbol}", failed=True)
        signals.append(signal)
    return ParsedAnswer(tuple(signals))


def _unfence(text: str) -> str:
    """The body of a Markdown code fence (```json ... ```), or ``text`` unchanged."""
    if text.startswith("```") and text.endswith("```") and len(text) >= 6:
        body = text[3:-3]
        first, _, rest = body.partition("\n")
        return (rest if first.strip().isalpha() or not first.strip() else body).strip()
    return text
