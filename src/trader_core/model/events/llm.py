"""Events of the LLM signal source: a call answered (with its usage and cost), a decision that failed, usage not
reported, tool requests throttled."""

from __future__ import annotations

import attrs

from trader_core.model.events.base import Event

__all__ = ["LlmCallCompleted", "LlmDecisionFailed", "LlmUsageMissing", "ToolCallsThrottled"]


@attrs.frozen(kw_only=True)
class LlmCallCompleted(Event):
    """The model answered a call: its reported tokens (None: not reported) and its cost in USD (``replayed``: the
    answer came from a cassette, so the cost was reported, not charged)."""

    model: str
    trace_id: str
    tokens_in: int | None
    tokens_out: int | None
    cost: str
    latency_ms: int
    replayed: bool


@attrs.frozen(kw_only=True)
class LlmDecisionFailed(Event):
    """A decision of the LLM strategy ended without a usable answer (the server down or refusing, a timeout, a
    malformed answer): it held, with ``reason``. ``streak``: failed decisions in a row, this one included."""

    model: str
    trace_id: str
    reason: str
    streak: int


@attrs.frozen(kw_only=True)
class LlmUsageMissing(Event):
    """The provider reported no token usage for a call: no cost was accrued for it."""

    model: str
    trace_id: str


@attrs.frozen(kw_only=True)
class ToolCallsThrottled(Event):
    """Some of the model's tool requests were not run: over the rate limit, or the same request again within
    the window (answered from the earlier result). Each entry is ``tool:key``."""

    rate_limited: tuple[str, ...] = ()
    deduplicated: tuple[str, ...] = ()
    window_s: str = ""
