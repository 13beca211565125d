"""The ``ChatModel`` over the official ``openai`` SDK (Chat Completions): OpenAI, Gemini's OpenAI-compatible
endpoint, DeepSeek, Groq, OpenRouter, Ollama, vLLM, llama.cpp... anything that speaks that API.

Every failure becomes ``ChatFailedError`` with a short reason (never the API key, never a traceback);
a server that refuses ``response_format`` (HTTP 400 while asking for structured output) is reported with
``format_refused`` so the caller can fall back to JSON parsed from the text.
"""

from __future__ import annotations

import math
import time
from typing import Any

import attrs
import httpx2
import openai

from trader_adapters.llm.chat import ChatFailedError, ChatReply, ChatRequest, ToolCall
from trader_core.costs import LlmUsage

__all__ = ["SIGNALS_SCHEMA", "FormatRefusedError", "OpenAiChat"]

# A token count beyond this is not believable (no model reads or writes a billion tokens in one call): the
# usage is then unknown (``LlmUsageMissing``), never a number too large to store.
_MOST_TOKENS = 1_000_000_000
_NUMBER = {"type": "number"}
_STRING = {"type": "string"}
# The answer as structured output: the scripted signals format (docs/signals.md) in a {"signals": [...]}
# envelope (a schema's top level must be an object).
SIGNALS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"signals": {"type": "array", "items": {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": ["BUY", "SELL", "HOLD", "CANCEL", "UPDATE_PLAN", "PARTIAL_CLOSE",
                                                  "CLOSE_POSITION", "PAUSE_TRADING"]},
            "symbol": _STRING, "quantity": _NUMBER, "notional": _NUMBER, "stop": _NUMBER, "target": _NUMBER,
            "stop_pct": _NUMBER, "target_pct": _NUMBER, "plan_id": _STRING, "client_order_id": _STRING,
            "fraction": _NUMBER, "size_factor": _NUMBER, "minutes": _NUMBER, "reason": _STRING,
        },
        "required": ["action", "symbol"],
        "additionalProperties": False,
    }}},
    "required": ["signals"],
    "additionalProperties": False,
}


class FormatRefusedError(ChatFailedError):
    """The server answered 400 to a request with ``response_format``: it does not support structured output."""


class OpenAiChat:
    """Chat Completions through ``openai.AsyncOpenAI``. ``max_retries`` is the SDK's own (it honours
    Retry-After on 429 and retries 5xx and dropped connections)."""

    def __init__(self, *, base_url: str, api_key: str, timeout_s: float, max_retries: int = 2) -> None:
        # A local server needs no key, but the SDK insists on one: any placeholder does.
        self._attempts = _LostAnswers()
        self._client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key or "unused", timeout=timeout_s,
                                          max_retries=max_retries,
                                          http_client=openai.DefaultAsyncHttpxClient(transport=self._attempts))
        self._timeout_s = timeout_s
        self._key = api_key

    async def close(self) -> None:
        """Release the HTTP connections."""
        await self._client.close()

    async def complete(self, request: ChatRequest) -> ChatReply:
        """One Chat Completions call."""
        kwargs: dict[str, Any] = {"model": request.model, "messages": list(request.messages)}
        if request.tools:
            kwargs["tools"] = list(request.tools)
        if request.structured:
            kwargs["response_format"] = {"type": "json_schema",
                                         "json_schema": {"name": "signals", "schema": SIGNALS_SCHEMA}}
        started = time.perf_counter()
        lost_before = self._attempts.lost
        try:
            completion = await self._client.chat.completions.create(**kwargs)
        except openai.APITimeoutError:
            raise ChatFailedError(f"LLM call timed out after {self._timeout_s:g} s",
                                  billable=self._attempts.lost - lost_before) from None
        except openai.RateLimitError as exc:
            raise ChatFailedError("LLM rate limited (HTTP 429)", _retry_after(exc.response),
                                  billable=self._attempts.lost - lost_before) from None
        except openai.BadRequestError as exc:
            if request.structured:
                raise FormatRefusedError(f"LLM refused the request (HTTP 400): {self._said(exc.message)}",
                                         billable=self._attempts.lost - lost_before) from None
            raise ChatFailedError(f"LLM refused the request (HTTP 400): {self._said(exc.message)}",
                                  billable=self._attempts.lost - lost_before) from None
        except openai.APIStatusError as exc:
            raise ChatFailedError(f"LLM call failed (HTTP {exc.status_code}): {self._said(exc.message)}",
                                  billable=self._attempts.lost - lost_before) from None
        except openai.APIConnectionError:
            raise ChatFailedError("LLM connection failed (refused or dropped)",
                                  billable=self._attempts.lost - lost_before) from None
        except (openai.OpenAIError, ValueError, TypeError, KeyError) as exc:
            raise ChatFailedError(f"LLM reply unreadable ({type(exc).__name__})",
                                  billable=self._attempts.lost - lost_before + 1) from None
        latency = int((time.perf_counter() - started) * 1000)
        return attrs.evolve(_reply(completion, latency), lost_attempts=self._attempts.lost - lost_before)

    def _said(self, message: str) -> str:
        """The server's error message, short, with the API key masked (some servers repeat it in a 401)."""
        return _short(self.mask(message))

    def mask(self, text: str) -> str:
        """``text`` with the API key masked."""
        return text.replace(self._key, "***") if self._key else text


def _reply(completion: Any, latency_ms: int) -> ChatReply:
    usage = getattr(completion, "usage", None)
    counted = None
    if usage is not None and all(isinstance(n, int) and 0 <= n <= _MOST_TOKENS
                                 for n in (usage.prompt_tokens, usage.completion_tokens)):
        counted = LlmUsage(usage.prompt_tokens, usage.completion_tokens)
    choices = getattr(completion, "choices", None) or []
    if not choices or getattr(choices[0], "message", None) is None:
        return ChatReply(content=None, usage=counted, finish_reason="no_choice", latency_ms=latency_ms)
    choice = choices[0]
    message = choice.message
    calls = tuple(ToolCall(str(c.id), str(c.function.name), str(c.function.arguments or "{}"))
                  for c in (message.tool_calls or ()) if getattr(c, "function", None) is not None)
    return ChatReply(content=message.content if isinstance(message.content, str) else None, tool_calls=calls,
                     usage=counted, refusal=getattr(message, "refusal", None),
                     finish_reason=str(choice.finish_reason or "stop"), latency_ms=latency_ms)


class _LostAnswers(httpx2.AsyncHTTPTransport):
    """The SDK's HTTP transport, counting the attempts that may have been billed without an answer: those that
    reached the server (a connection was made) and then failed (a read timeout, a dropped connection, the call
    cancelled). The SDK retries some failures itself; each such attempt is counted, not only the last."""

    def __init__(self) -> None:
        super().__init__(limits=httpx2.Limits(max_connections=100, max_keepalive_connections=20))
        self.lost = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        try:
            return await super().handle_async_request(request)
        except (httpx2.ConnectError, httpx2.ConnectTimeout):
            raise  # never reached the server
        except BaseException:
            self.lost += 1
            raise


def _retry_after(response: Any) -> float | None:
    try:
        seconds = float(response.headers.get("retry-after"))
    except (TypeError, ValueError, AttributeError):
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def _short(message: object) -> str:
    return " ".join(str(message).split())[:160]
