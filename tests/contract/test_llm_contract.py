"""The ``openai`` SDK adapter against the project's OpenAI-compatible emulator (loopback, real SDK, real HTTP)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from trader_adapters.llm.chat import ChatFailedError, ChatReply, ChatRequest
from trader_adapters.llm.openai_chat import FormatRefusedError, OpenAiChat
from trader_core.costs import LlmUsage
from trader_sandbox.llm import LlmSandbox, start_llm_sandbox

REQUEST = ChatRequest(model="emu-1", messages=({"role": "user", "content": "decide"},))


@pytest.fixture
def emulator() -> Iterator[LlmSandbox]:
    sandbox = start_llm_sandbox()
    yield sandbox
    sandbox.stop()


def _ask(sandbox: LlmSandbox, script: list[dict[str, Any]], request: ChatRequest = REQUEST, *,
         timeout_s: float = 5.0, max_retries: int = 0) -> ChatReply:
    sandbox.script(script)

    async def go() -> ChatReply:
        chat = OpenAiChat(base_url=sandbox.url, api_key="sk-test-secret", timeout_s=timeout_s, max_retries=max_retries)
        try:
            return await chat.complete(request)
        finally:
            await chat.close()

    return asyncio.run(go())


def test_an_answer_comes_back_with_its_usage_and_the_request_carries_the_schema(emulator: LlmSandbox) -> None:
    reply = _ask(emulator, [{"json": {"signals": [{"action": "HOLD", "symbol": "BTC/USDT"}]}, "usage": [120, 7]}])
    assert json.loads(reply.content or "") == {"signals": [{"action": "HOLD", "symbol": "BTC/USDT"}]}
    assert reply.usage == LlmUsage(120, 7)
    assert reply.tool_calls == ()
    sent = emulator.requests[-1]
    assert sent["model"] == "emu-1"
    assert sent["messages"] == [{"role": "user", "content": "decide"}]
    assert sent["response_format"]["type"] == "json_schema"


def test_no_usage_reported_gives_none_and_a_text_request_has_no_response_format(emulator: LlmSandbox) -> None:
    reply = _ask(emulator, [{"content": "HOLD please", "usage": False}],
                 ChatRequest(model="emu-1", messages=REQUEST.messages, structured=False))
    assert reply.content == "HOLD please"
    assert reply.usage is None
    assert "response_format" not in emulator.requests[-1]


def test_tool_calls_come_back_with_their_arguments(emulator: LlmSandbox) -> None:
    tools = ({"type": "function", "function": {"name": "get_quote", "parameters": {"type": "object"}}},)
    reply = _ask(emulator, [{"tool_calls": [{"name": "get_quote", "arguments": {"symbol": "BTC/USDT"}}]}],
                 ChatRequest(model="emu-1", messages=REQUEST.messages, tools=tools))
    assert reply.content is None
    assert [(c.name, json.loads(c.arguments)) for c in reply.tool_calls] == [("get_quote", {"symbol": "BTC/USDT"})]
    assert reply.finish_reason == "tool_calls"
    assert emulator.requests[-1]["tools"][0]["function"]["name"] == "get_quote"


def test_a_refusal_is_reported(emulator: LlmSandbox) -> None:
    reply = _ask(emulator, [{"refusal": "I cannot help with trading"}])
    assert reply.refusal == "I cannot help with trading"
    assert reply.content is None


def test_a_429_is_retried_by_the_sdk_after_retry_after(emulator: LlmSandbox) -> None:
    reply = _ask(emulator, [{"status": 429, "retry_after": 0}, {"content": "{}"}], max_retries=1)
    assert reply.content == "{}"
    assert len(emulator.requests) == 2


def test_token_counts_past_belief_are_unknown_usage_not_a_number_too_large_to_store(emulator: LlmSandbox) -> None:
    reply = _ask(emulator, [{"content": "{}", "usage": [10**20, 1]}])
    assert reply.usage is None


def test_a_429_without_retries_left_fails_with_its_retry_after(emulator: LlmSandbox) -> None:
    with pytest.raises(ChatFailedError, match="429") as caught:
        _ask(emulator, [{"status": 429, "retry_after": 7}])
    assert caught.value.retry_after_s == 7


@pytest.mark.parametrize(("entry", "reason", "billable"), [
    ({"status": 500}, "HTTP 500", 0),
    ({"drop": True}, "connection failed", 1),  # dropped after the request was read
    ({"malformed": True}, "unreadable", 1),
    ({"delay_s": 1.5}, "timed out after 0.5 s", 1),
])
def test_failures_become_one_reason_without_the_key(emulator: LlmSandbox, entry: dict[str, Any], reason: str,
                                                    billable: int) -> None:
    with pytest.raises(ChatFailedError) as caught:
        _ask(emulator, [entry], timeout_s=0.5)
    assert reason in caught.value.reason
    assert "sk-test-secret" not in caught.value.reason
    assert caught.value.billable == billable, "whether the provider may have billed the lost answer"


def test_each_retry_the_sdk_made_after_a_lost_answer_is_counted_as_billable(emulator: LlmSandbox) -> None:
    # The SDK retries a timed-out call by itself: the provider may have billed every attempt, not only the last.
    with pytest.raises(ChatFailedError, match="timed out") as caught:
        _ask(emulator, [{"delay_s": 1.5}] * 3, timeout_s=0.5, max_retries=2)
    assert len(emulator.requests) == 3
    assert caught.value.billable == 3
    reply = _ask(emulator, [{"delay_s": 1.5}, {"status": 500}, {"content": "{}", "usage": [100, 5]}],
                 timeout_s=0.5, max_retries=2)
    assert reply.usage == LlmUsage(100, 5)
    assert reply.lost_attempts == 1, "the timed-out attempt before the answer, not the 500"


def test_a_refused_connection_reached_no_server_and_is_not_billable() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def go() -> None:
        chat = OpenAiChat(base_url=f"http://127.0.0.1:{port}/v1", api_key="", timeout_s=2, max_retries=0)
        try:
            await chat.complete(REQUEST)
        finally:
            await chat.close()

    with pytest.raises(ChatFailedError, match="connection failed") as caught:
        asyncio.run(go())
    assert caught.value.billable == 0


@pytest.mark.parametrize("status", [401, 400, 503])
def test_a_server_that_repeats_the_key_in_its_error_does_not_carry_it_into_the_reason(
        emulator: LlmSandbox, status: int) -> None:
    # Some servers' 401 says "Incorrect API key provided: <the key>": that reason reaches the log, the telemetry,
    # the cassette and the traces table.
    with pytest.raises(ChatFailedError) as caught:
        _ask(emulator, [{"status": status, "echo_key": True}])
    assert "sk-test-secret" not in caught.value.reason
    assert "Incorrect API key provided: ***" in caught.value.reason


def test_a_server_without_structured_output_is_told_apart(emulator: LlmSandbox) -> None:
    with pytest.raises(FormatRefusedError):
        _ask(emulator, [{"reject_response_format": True}])
    reply = _ask(emulator, [{"reject_response_format": True, "content": "{}"}],
                 ChatRequest(model="emu-1", messages=REQUEST.messages, structured=False))
    assert reply.content == "{}"


def test_the_api_key_is_sent_as_a_bearer_token_only(emulator: LlmSandbox) -> None:
    _ask(emulator, [{"content": "{}"}])
    assert "sk-test-secret" not in json.dumps(emulator.requests)
