"""The LLM emulator: ``POST /v1/chat/completions`` answered from a script, one entry per request, in order.

A script entry (one JSON object per line of the ``--script`` file) says how to answer:

* ``content`` (text) or ``json`` (any JSON value, sent as its text): the answer; default ``{"signals": []}``;
* ``tool_calls``: ``[{"name": ..., "arguments": {...}}]`` (a tool-call answer, ``finish_reason`` tool_calls);
* ``refusal``: a refusal text; ``usage``: false to report no usage, or ``[prompt_tokens, completion_tokens]``
  (default: about a token per 4 bytes of the messages and of the answer);
* ``delay_s``: wait before answering; ``status``: an HTTP error (429 with ``retry_after``, 500, ...);
* ``drop``: close the connection without an answer; ``malformed``: a body that is not JSON;
* ``reject_response_format``: 400 when the request asks for ``response_format``;
* ``echo_key``: with ``status``, the error message repeats the request's bearer token (as some servers' 401 does).

When the script is used up every request gets the default answer. ``GET /sandbox/requests`` lists the
requests received (``count`` and bodies); ``POST /sandbox/script`` replaces the script (a JSON list of entries,
checked as a script file's are: a bad one is answered 400 naming it, and the script in use stays);
``GET /v1/models`` lists one model.
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["LlmSandbox", "load_script", "script_problem", "start_llm_sandbox"]

_DEFAULT: dict[str, Any] = {"json": {"signals": []}}


def load_script(path: Path) -> list[dict[str, Any]]:
    """The entries of a script file (blank and ``#`` lines skipped); ``ValueError`` naming a bad line."""
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"script {path}, line {number}: not JSON ({exc})") from None
        if not isinstance(entry, dict):
            raise ValueError(f"script {path}, line {number}: each entry must be a JSON object")
        problem = _entry_problem(entry)
        if problem:
            raise ValueError(f"script {path}, line {number}: {problem}")
        entries.append(entry)
    return entries


_FLAGS = ("drop", "malformed", "reject_response_format", "echo_key")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_duration(value: Any) -> bool:
    return _is_number(value) and math.isfinite(value) and value >= 0


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_usage(value: Any) -> bool:
    return isinstance(value, bool) or (isinstance(value, list) and len(value) == 2 and all(map(_is_count, value)))


def _is_tool_calls(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(c, dict) and isinstance(c.get("name"), str) and isinstance(c.get("arguments", {}), dict)
        for c in value)


def _is_status(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599


_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {  # key: (valid?, the rule); "json" takes any value
    "content": (lambda v: isinstance(v, str), "must be text"),
    "refusal": (lambda v: isinstance(v, str), "must be text"),
    **{flag: (lambda v: isinstance(v, bool), "must be true or false") for flag in _FLAGS},
    "delay_s": (_is_duration, "must be a number of seconds >= 0"),
    "retry_after": (_is_duration, "must be a number of seconds >= 0"),
    "status": (_is_status, "must be an HTTP status 100 to 599"),
    "usage": (_is_usage, "must be false or [prompt_tokens, completion_tokens]"),
    "tool_calls": (_is_tool_calls, 'must be a list of {"name": text, "arguments": object}'),
}
_KEYS = {"json", *_CHECKS}


def script_problem(entries: Any) -> str | None:
    """What is wrong with a script given as a decoded JSON value (a list of entries), or None."""
    if not isinstance(entries, list):
        return f"the script must be a JSON list of entries, got {type(entries).__name__}"
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            return f"entry {number}: each entry must be a JSON object, got {entry!r}"[:300]
        problem = _entry_problem(entry)
        if problem:
            return f"entry {number}: {problem}"[:300]
    return None


def _entry_problem(entry: dict[str, Any]) -> str | None:
    """What is wrong with a script entry, or None."""
    for key, value in entry.items():
        if key not in _KEYS:
            return f"unknown key {key!r} (known: {', '.join(sorted(_KEYS))})"
        valid, rule = _CHECKS.get(key, (lambda _v: True, ""))
        if not valid(value):
            return f"{key} {rule}, got {value!r}"
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], script: Sequence[dict[str, Any]]) -> None:
        self.lock = threading.Lock()
        self.script = list(script)
        self.requests: list[Any] = []
        super().__init__(address, _Handler)

    def next_entry(self, body: Any) -> dict[str, Any]:
        with self.lock:
            self.requests.append(body)
            return self.script.pop(0) if self.script else dict(_DEFAULT)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def setup(self) -> None:
        """Turn on TCP_NODELAY (small JSON answers would otherwise wait for delayed ACKs)."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        """Serve; a client that went away is not an error."""
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            super().handle()

    def do_GET(self) -> None:
        """GET: models, the request log."""
        if self.path.startswith("/sandbox/requests"):
            with self.server.lock:
                self._send(200, {"count": len(self.server.requests), "requests": list(self.server.requests)})
        elif self.path.rstrip("/").endswith("/models"):
            self._send(200, {"object": "list", "data": [{"id": "emulated", "object": "model", "owned_by": "sandbox"}]})
        else:
            self._send(404, _error("not found", "not_found"))

    def do_POST(self) -> None:
        """POST: chat completions, the script control."""
        length = (self.headers.get("Content-Length") or "0").strip()
        if not (length.isascii() and length.isdigit()):
            self.close_connection = True  # the body's end is unknown: nothing after it can be read
            self._send(400, _error(f"Content-Length must be a whole number of bytes, got {length!r}",
                                   "invalid_request_error"))
            return
        raw = self.rfile.read(int(length)) if int(length) else b""
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            self._send(400, _error("body is not JSON", "invalid_request_error"))
            return
        if self.path.startswith("/sandbox/script"):
            problem = script_problem(body)
            if problem is not None:
                self._send(400, _error(f"script not replaced: {problem}", "invalid_request_error"))
                return
            with self.server.lock:
                self.server.script = list(body)
            self._send(200, {"entries": len(body)})
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, _error("not found", "not_found"))
            return
        if not isinstance(body, dict) or not body.get("model") or not isinstance(body.get("messages"), list):
            self._send(400, _error("model and messages are required", "invalid_request_error"))
            return
        self._answer(body, self.server.next_entry(body))

    def _answer(self, body: dict[str, Any], entry: dict[str, Any]) -> None:
        if entry.get("delay_s"):
            time.sleep(float(entry["delay_s"]))
        if entry.get("drop"):
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if entry.get("malformed"):
            self._send(200, '{"id": "chatcmpl-x", "choices": [')
            return
        if entry.get("reject_response_format") and "response_format" in body:
            self._send(400, _error("response_format is not supported", "invalid_request_error"))
            return
        status = int(entry.get("status", 200))
        if status != 200:
            headers = {"Retry-After": str(entry["retry_after"])} if "retry_after" in entry else {}
            message = f"emulated HTTP {status}"
            if entry.get("echo_key"):
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                message = f"Incorrect API key provided: {token}"
            self._send(status, _error(message, "rate_limit_exceeded" if status == 429 else "server_error"), headers)
            return
        self._send(200, _completion(body, entry))

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": kind}}


def _completion(body: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    calls = entry.get("tool_calls") or []
    content = None if calls or entry.get("refusal") else (
        entry["content"] if "content" in entry else json.dumps(entry.get("json", _DEFAULT["json"])))
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": entry.get("refusal")}
    if calls:
        message["tool_calls"] = [{"id": f"call_{i}", "type": "function", "function": {
            "name": c.get("name", ""), "arguments": json.dumps(c.get("arguments", {}))}} for i, c in enumerate(calls)]
    answer: dict[str, Any] = {
        "id": "chatcmpl-emulated", "object": "chat.completion", "created": 0, "model": body["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}]}
    usage = entry.get("usage", True)
    if usage is not False:
        if isinstance(usage, list):
            prompt, completion = int(usage[0]), int(usage[1])
        else:
            prompt = len(json.dumps(body["messages"]).encode()) // 4
            completion = len((content or json.dumps(message.get("tool_calls"))).encode()) // 4
        answer["usage"] = {"prompt_tokens": prompt, "completion_tokens": completion,
                           "total_tokens": prompt + completion}
    return answer


class LlmSandbox:
    """A running emulator; ``url`` is the base URL the SDK takes (``.../v1``)."""

    def __init__(self, server: _Server, thread: threading.Thread) -> None:
        self._server, self._thread = server, thread
        self.url = f"http://127.0.0.1:{server.server_address[1]}/v1"

    @property
    def requests(self) -> list[Any]:
        """The chat requests received so far."""
        with self._server.lock:
            return list(self._server.requests)

    def script(self, entries: Sequence[dict[str, Any]]) -> None:
        """Replace the remaining script; a bad entry is a ``ValueError`` naming it (the script in use stays)."""
        checked = _checked(entries)
        with self._server.lock:
            self._server.script = checked

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _checked(entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    script = list(entries)
    problem = script_problem(script)
    if problem is not None:
        raise ValueError(f"script: {problem}")
    return script


def start_llm_sandbox(port: int = 0, script: Sequence[dict[str, Any]] = ()) -> LlmSandbox:
    """Serve on 127.0.0.1:``port`` (0: a free port) in a background thread; a bad script entry is a
    ``ValueError`` naming it."""
    server = _Server(("127.0.0.1", port), _checked(script))
    thread = threading.Thread(target=server.serve_forever, name="llm-sandbox", daemon=True)
    thread.start()
    return LlmSandbox(server, thread)
