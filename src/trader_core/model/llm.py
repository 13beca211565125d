"""A stored LLM call (what one model call cost and how long it took) and a decision's trace, linked by trace id."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import attrs

from trader_core.model.ids import RunId
from trader_core.model.market import utc
from trader_core.model.numbers import ZERO

__all__ = ["LlmCallRecord", "LlmTraceRecord"]


@attrs.frozen(kw_only=True)
class LlmCallRecord:
    """One model call. ``tokens_in``/``tokens_out`` None: the provider reported no usage (``cost`` is then
    estimated from the bytes sent and received; a call whose answer was lost is charged its input so).
    ``replayed``: answered from a cassette (its ``cost`` is what it cost when recorded, not charged)."""

    trace_id: str = attrs.field(validator=attrs.validators.min_len(1))
    run_id: RunId
    at: datetime = attrs.field(validator=utc)
    model: str
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: Decimal = ZERO
    latency_ms: int = 0
    replayed: bool = False


@attrs.frozen(kw_only=True)
class LlmTraceRecord:
    """One decision of the LLM strategy: the prompt, the raw answer, the signals parsed from it (JSON text),
    the reason of a HOLD it fell back to, its calls' tokens, cost and latency (summed over tool rounds), and
    later the outcome of its signals (JSON text, empty until known)."""

    trace_id: str = attrs.field(validator=attrs.validators.min_len(1))
    run_id: RunId
    at: datetime = attrs.field(validator=utc)
    model: str
    prompt: str
    answer: str = ""
    signals: str = "[]"
    reason: str = ""
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: Decimal = ZERO
    latency_ms: int = 0
    replayed: bool = False
    outcome: str = ""
