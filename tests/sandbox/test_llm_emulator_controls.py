"""The LLM emulator's test-only control ``POST /sandbox/script``: a malformed script is answered 400 with a JSON
error naming the problem, never a 500 or a dropped connection, and the script in use stays as it was."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from trader_sandbox.llm import LlmSandbox, start_llm_sandbox

SCRIPTED = {"content": "scripted answer", "usage": [1, 1]}
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def emulator() -> Iterator[LlmSandbox]:
    sandbox = start_llm_sandbox(script=[SCRIPTED])
    try:
        yield sandbox
    finally:
        sandbox.stop()


def _post(sandbox: LlmSandbox, path: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    url = urlsplit(sandbox.url)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)
    try:
        connection.request("POST", path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        connection.close()


def _answer_text(sandbox: LlmSandbox) -> str:
    status, answer = _post(sandbox, "/v1/chat/completions", json.dumps(CHAT).encode())
    assert status == 200, answer
    text: str = answer["choices"][0]["message"]["content"]
    return text


@pytest.mark.parametrize(("body", "says"), [
    ({"status": 500}, "the script must be a JSON list of entries, got dict"),
    ("drop", "the script must be a JSON list of entries, got str"),
    ([{"json": {}}, "oops"], "entry 2: each entry must be a JSON object, got 'oops'"),
    ([{"status": "abc"}], "entry 1: status must be an HTTP status 100 to 599, got 'abc'"),
    ([{"delay_s": -5}], "entry 1: delay_s must be a number of seconds >= 0, got -5"),
    ([{"json": {}}, {"stauts": 500}], "entry 2: unknown key 'stauts'"),
    ([{"usage": "lots"}], "entry 1: usage must be false or [prompt_tokens, completion_tokens], got 'lots'"),
])
def test_a_malformed_script_is_a_400_naming_the_problem_and_changes_nothing(
        emulator: LlmSandbox, body: Any, says: str) -> None:
    status, answer = _post(emulator, "/sandbox/script", json.dumps(body).encode())
    assert status == 400
    assert answer["error"]["type"] == "invalid_request_error"
    assert answer["error"]["message"].startswith(f"script not replaced: {says}")
    assert _answer_text(emulator) == "scripted answer", "the script in use was not replaced"


def test_a_content_length_that_is_no_number_is_a_400(emulator: LlmSandbox) -> None:
    status, answer = _post(emulator, "/sandbox/script", b"[]", {"Content-Length": "abc"})
    assert status == 400
    assert "Content-Length must be a whole number of bytes" in answer["error"]["message"]
    assert _answer_text(emulator) == "scripted answer"


def test_a_valid_script_replaces_the_one_in_use(emulator: LlmSandbox) -> None:
    status, answer = _post(emulator, "/sandbox/script", json.dumps([{"content": "new"}]).encode())
    assert (status, answer) == (200, {"entries": 1})
    assert _answer_text(emulator) == "new"


def test_the_in_process_control_refuses_the_same_scripts(emulator: LlmSandbox) -> None:
    with pytest.raises(ValueError, match="entry 1: status must be an HTTP status"):
        emulator.script([{"status": "abc"}])
    assert _answer_text(emulator) == "scripted answer"
