"""One exchange with a chat model, as plain values: the request sent and the reply received.

``ChatModel`` is the port the LLM strategy talks to: the ``openai`` SDK adapter (``openai_chat``) and the
cassette (``cassette``) both implement it. Requests and replies are JSON-able, so a cassette can key an
exchange by a hash of its request and store its reply as one JSON line.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol

import attrs

from trader_core.costs import LlmUsage

__all__ = ["ChatFailedError", "ChatModel", "ChatReply", "ChatRequest", "ToolCall"]


class ChatFailedError(Exception):
    """The model gave no usable reply (timeout, refused connection, HTTP error, unreadable body).
    ``retry_after_s`` is the server's Retry-After when it sent one; ``billable``: how many of the call's attempts
    (the SDK retries some) reached the server and lost their answer (a timeout, a connection dropped after
    sending, an unreadable body), so the provider may have billed them (``True`` is one)."""

    def __init__(self, reason: str, retry_after_s: float | None = None, *, billable: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s
        self.billable = billable


@attrs.frozen
class ToolCall:
    """One function call the model asked for: its id, the function's name and its JSON arguments (text)."""

    call_id: str
    name: str
    arguments: str


@attrs.frozen(kw_only=True)
class ChatRequest:
    """What is sent: the model, the messages (OpenAI's shape), the tools offered and whether the answer is
    asked for as structured output (a JSON schema through ``response_format``)."""

    model: str
    messages: tuple[dict[str, Any], ...]
    tools: tuple[dict[str, Any], ...] = ()
    structured: bool = True

    def as_json(self) -> dict[str, Any]:
        """The request as one JSON object (what a cassette hashes)."""
        return {"model": self.model, "messages": list(self.messages), "tools": list(self.tools),
                "structured": self.structured}

    def key(self) -> str:
        """The hash of the model and the request: equal requests, equal keys."""
        text = json.dumps(self.as_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@attrs.frozen(kw_only=True)
class ChatReply:
    """What came back: the answer text (None with only tool calls or a refusal), the tool calls, the
    provider-reported usage (None: not reported), a refusal, the finish reason and the latency."""

    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    usage: LlmUsage | None = None
    refusal: str | None = None
    finish_reason: str = "stop"
    latency_ms: int = 0
    # Earlier attempts of this call (the SDK's retries) that reached the server and lost their answer: the
    # provider may have billed each. Not part of a cassette's answer (a replay sends nothing).
    lost_attempts: int = 0

    def as_json(self) -> dict[str, Any]:
        """The reply as one JSON object (a cassette line's answer)."""
        return {"content": self.content, "tool_calls": [[c.call_id, c.name, c.arguments] for c in self.tool_calls],
                "usage": None if self.usage is None else [self.usage.tokens_in, self.usage.tokens_out],
                "refusal": self.refusal, "finish_reason": self.finish_reason, "latency_ms": self.latency_ms}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChatReply:
        """The reply :meth:`as_json` wrote; raises ``ValueError``/``KeyError``/``TypeError`` when malformed."""
        usage = data["usage"]
        return cls(content=data["content"], tool_calls=tuple(ToolCall(str(a), str(b), str(c))
                                                              for a, b, c in data["tool_calls"]),
                   usage=None if usage is None else LlmUsage(int(usage[0]), int(usage[1])),
                   refusal=data.get("refusal"), finish_reason=str(data.get("finish_reason", "stop")),
                   latency_ms=int(data.get("latency_ms", 0)))


class ChatModel(Protocol):
    """A chat model: one request, one reply (or ``ChatFailedError``)."""

    async def complete(self, request: ChatRequest) -> ChatReply:
        """Send ``request``; the reply, or ``ChatFailedError`` with the reason."""
        ...
