"""The tools the model may call (function calls), answered from the market-data port.

``get_candles(symbol, timeframe, limit)``: closed candles of another timeframe (at most 100);
``get_quote(symbol)``: bid, ask and last. Each request passes the ``ToolThrottle`` (rate limit and
de-duplication within a window); what was not run is answered with a short refusal the model can read, and
reported as one ``ToolCallsThrottled`` event. A bad request (unknown tool or symbol, malformed arguments)
is answered with the error, never raised.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from trader_adapters.llm.chat import ToolCall
from trader_adapters.llm.tools import ToolThrottle
from trader_core.model import Symbol, Timeframe, TraderError
from trader_core.model.events import ToolCallsThrottled
from trader_core.ports import MarketData, Telemetry

__all__ = ["TOOL_DEFINITIONS", "answer_tool_calls"]

_MAX_CANDLES = 100

TOOL_DEFINITIONS: tuple[dict[str, Any], ...] = (
    {"type": "function", "function": {
        "name": "get_candles", "description": "Closed OHLCV candles of a symbol in another timeframe, oldest first.",
        "parameters": {"type": "object", "properties": {
            "symbol": {"type": "string"}, "timeframe": {"type": "string", "description": "1m, 5m, 15m, 1h, 4h, 1d"},
            "limit": {"type": "integer", "minimum": 1, "maximum": _MAX_CANDLES}},
            "required": ["symbol", "timeframe"]}}},
    {"type": "function", "function": {
        "name": "get_quote", "description": "The current bid, ask and last price of a symbol.",
        "parameters": {"type": "object", "properties": {"symbol": {"type": "string"}}, "required": ["symbol"]}}},
)


async def answer_tool_calls(calls: Sequence[ToolCall], symbols: Collection[Symbol], throttle: ToolThrottle,
                            now: datetime, *, market: MarketData | None, telemetry: Telemetry | None) -> list[str]:
    """One answer (text) per call, in order."""
    requests = [(c.name, _canonical(c.arguments)) for c in calls]
    admission = throttle.admit(requests, now)
    cached = dict(admission.cached)
    answers: dict[tuple[str, str], str] = {}
    for request in admission.run:
        answers[request] = await _run(request, market, symbols)
        throttle.remember(request, answers[request], now)
    if (admission.rate_limited or admission.cached) and telemetry is not None:
        telemetry.emit(ToolCallsThrottled(
            at=now, rate_limited=tuple(f"{t}:{a}" for t, a in admission.rate_limited),
            deduplicated=tuple(f"{t}:{a}" for (t, a), _ in admission.cached),
            window_s=str(int(throttle.window.total_seconds()))))
    return [answers.get(r) or cached.get(r) or json.dumps({"error": "rate limited: ask again later"})
            for r in requests]


def _canonical(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), sort_keys=True, separators=(",", ":"))
    except (ValueError, RecursionError):
        return arguments


async def _run(request: tuple[str, str], market: MarketData | None, symbols: Collection[Symbol]) -> str:
    name, raw = request
    try:
        args = json.loads(raw)
        if not isinstance(args, dict):
            raise ValueError("arguments must be an object")
        symbol = Symbol.parse(str(args.get("symbol", "")))
        if symbol not in symbols:
            raise ValueError(f"unknown symbol {symbol}")
        if market is None:
            raise ValueError("no market data available")
        if name == "get_quote":
            quote = await market.fetch_quote(symbol)
            return json.dumps({"symbol": str(symbol), "bid": str(quote.bid), "ask": str(quote.ask),
                               "last": str(quote.last)})
        if name == "get_candles":
            limit = min(max(int(args.get("limit", 50)), 1), _MAX_CANDLES)
            candles = await market.fetch_candles(symbol, Timeframe(str(args.get("timeframe", ""))), limit=limit)
            return json.dumps({"symbol": str(symbol), "candles": [
                [c.open_time.isoformat(), str(c.open), str(c.high), str(c.low), str(c.close), str(c.volume)]
                for c in candles]})
        raise ValueError(f"unknown tool {name!r}")
    except (TraderError, ValueError, TypeError, RecursionError) as exc:
        return json.dumps({"error": str(exc)[:200] or type(exc).__name__})
