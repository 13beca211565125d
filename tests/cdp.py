"""A small Chrome DevTools protocol client (stdlib only: a websocket over a socket) to drive the headless
Chromium of `scripts/ensure-chromium`: evaluate JavaScript, click, and answer the page's dialogs."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.browser import chromium

_LISTENING = re.compile(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/")


class Page:
    """One tab, over its websocket."""

    def __init__(self, ws_url: str) -> None:
        host_port, path = ws_url.removeprefix("ws://").split("/", 1)
        host, port = host_port.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                          .encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        assert b" 101 " in head.split(b"\r\n")[0], head
        self.next_id = 0
        self.dialogs: list[str] = []
        self.prompt_text = ""  # what a prompt is answered with

    def _send_frame(self, text: str) -> None:
        data = text.encode()
        mask = os.urandom(4)
        size = len(data)
        header = bytes([0x81]) + (bytes([0x80 | size]) if size < 126 else
                                  bytes([0x80 | 126]) + struct.pack("!H", size) if size < 65536 else
                                  bytes([0x80 | 127]) + struct.pack("!Q", size))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _exact(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            assert chunk, "the browser closed the connection"
            out += chunk
        return out

    def _receive(self) -> dict[str, Any]:
        payload = b""
        while True:
            first, second = self._exact(2)
            size = second & 0x7F
            if size == 126:
                size = struct.unpack("!H", self._exact(2))[0]
            elif size == 127:
                size = struct.unpack("!Q", self._exact(8))[0]
            payload += self._exact(size)
            if first & 0x80:
                message: dict[str, Any] = json.loads(payload)
                return message

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command and wait for its answer; dialogs opened meanwhile are accepted (prompts get
        ``prompt_text``)."""
        self.next_id += 1
        wanted = self.next_id
        self._send_frame(json.dumps({"id": wanted, "method": method, "params": params}))
        while True:
            message = self._receive()
            if message.get("method") == "Page.javascriptDialogOpening":
                self.dialogs.append(message["params"]["message"])
                self.next_id += 1
                self._send_frame(json.dumps({"id": self.next_id, "method": "Page.handleJavaScriptDialog",
                                             "params": {"accept": True, "promptText": self.prompt_text}}))
            elif message.get("id") == wanted:
                assert "error" not in message, message
                result: dict[str, Any] = message.get("result", {})
                return result

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        answer = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return answer["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 20) -> Any:
        """Poll until ``expression`` is truthy; its value."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            assert time.monotonic() < deadline, f"timed out waiting for {expression}"
            time.sleep(0.2)


@contextmanager
def browser_page(url: str) -> Iterator[Page]:
    """Headless Chromium showing ``url``, driven through the DevTools protocol."""
    # Chromium's helper processes may still be writing the profile when the browser is killed: a leftover
    # file must not fail the test.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--remote-debugging-port=0", "--window-size=1400,1000", url],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            port = None
            assert process.stderr is not None
            for line in process.stderr:
                found = _LISTENING.search(line)
                if found:
                    port = found.group(1)
                    break
            assert port, "Chromium did not open its DevTools port"
            threading.Thread(target=process.stderr.read, daemon=True).start()  # keep the pipe drained
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
                targets = json.load(answer)
            page = Page(next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page"))
            page.call("Page.enable")
            yield page
            page.sock.close()
        finally:
            process.kill()
            process.wait(10)
