"""The HTTP side: a keep-alive ``ThreadingHTTPServer`` on loopback that routes ``/api/v3/...`` to the
emulated exchange (with faults, weight limits and signatures) and ``/sandbox/...`` to the controls."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from trader_sandbox import auth, errors
from trader_sandbox.api import ROUTES
from trader_sandbox.controls import handle_control
from trader_sandbox.faults import Fault
from trader_sandbox.state import Exchange

__all__ = ["SandboxHTTPServer"]

LOOPBACK = ("127.0.0.1", "::1", "localhost")
NOT_FOUND_HTML = "<html><body><h1>404 Not Found</h1></body></html>"


class SandboxHTTPServer(ThreadingHTTPServer):
    """The server; remembers its connections so :meth:`close_all` can end keep-alive ones on stop."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], exchange: Exchange, handler: type[Handler] | None = None) -> None:
        self.exchange = exchange
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler or Handler)

    def close_all(self) -> None:
        """Shut every open client connection."""
        with self.connections_lock:
            conns = list(self.connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    """One client connection (HTTP/1.1 keep-alive; every answer carries Content-Length)."""

    protocol_version = "HTTP/1.1"
    server: SandboxHTTPServer

    def setup(self) -> None:
        """Turn on TCP_NODELAY (small JSON answers would otherwise wait for delayed ACKs)."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        """Forget the connection; a client that already hung up is not an error."""
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def handle(self) -> None:
        """Serve requests; a client that went away mid-answer is not an error."""
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is kept in the exchange, not on stderr."""

    def do_GET(self) -> None:
        """GET."""
        self._dispatch()

    def do_POST(self) -> None:
        """POST."""
        self._dispatch()

    def do_DELETE(self) -> None:
        """DELETE."""
        self._dispatch()

    def do_PUT(self) -> None:
        """PUT."""
        self._dispatch()

    # -- plumbing ------------------------------------------------------------------------------------

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None, raw: bool = False) -> None:
        data = (body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))).encode()
        try:
            self.send_response(status)
            ctype = "text/html" if raw else "application/json;charset=UTF-8"
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True

    def _drop(self) -> None:
        """Close the connection without an answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        method = self.command
        if url.path.startswith("/sandbox/"):
            self._control(method, url.path, url.query, raw_body)
            return
        ex = self.server.exchange
        pairs = parse_qsl(url.query, keep_blank_values=True)
        if raw_body and "json" not in (self.headers.get("Content-Type") or ""):
            pairs += parse_qsl(raw_body, keep_blank_values=True)
        params = self._request_params(dict(pairs))
        fault = ex.faults.take(method, url.path)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.apply_after is not None:
            self._answer_now_run_later(fault, method, url.path, params, request_headers=self.headers,
                                       raw_query=url.query, raw_body=raw_body, n_pairs=len(pairs))
            return
        if fault is not None and not fault.apply and (fault.drop or fault.status):
            self._fault_answer(fault, method, url.path, params, applied=False)
            return
        status, body, headers, raw = self._api(method, url.path, raw_query=url.query, raw_body=raw_body,
                                                     params=params, n_pairs=len(pairs), request_headers=self.headers)
        if fault is not None and fault.apply:
            ex.record(method, url.path, params, None if fault.drop else fault.status or 503,
                      f"applied ({status}) then failed")
            self._fault_answer(fault, method, url.path, params, applied=True)
            return
        ex.record(method, url.path, params, status)
        self._send(status, body, headers, raw)

    def _request_params(self, params: dict[str, str]) -> dict[str, Any]:
        """The request's parameters as logged (Binance: its query and form body)."""
        return params

    def _answer_now_run_later(self, fault: Fault, method: str, path: str, params: dict[str, str],
                              **request: Any) -> None:
        """Fail the request as ``fault`` says (dropped, or its status) and run it ``fault.apply_after`` seconds later;
        the log has it once, when it ran, with both outcomes."""
        ex = self.server.exchange
        after = fault.apply_after or 0.0
        answered = None if fault.drop else fault.status or 503

        def run_late() -> None:
            status = self._api(method, path, params=params, **request)[0]
            ex.record(method, path, params, answered,
                      f"answered {answered or 'dropped'} at once, run {after:g} s later ({status})")

        timer = threading.Timer(after, run_late)
        timer.daemon = True
        timer.start()
        if fault.drop:
            self._drop()
        else:
            self._fault_answer(fault, method, path, params, applied=True)

    def _api(self, method: str, path: str, *, raw_query: str, raw_body: str, params: dict[str, str],
             n_pairs: int, request_headers: Message) -> tuple[int, Any, dict[str, str], bool]:
        """Answer one exchange request; a request run later keeps its own ``request_headers``."""
        ex = self.server.exchange
        route = ROUTES.get((method, path))
        used, limited, retry_after = ex.limiter.charge(route.cost(params) if route else 1, time.time())
        headers = {"X-MBX-USED-WEIGHT-1M": str(used)}
        if limited is not None:
            headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))
            if limited == "429":
                msg = (f"Too much request weight used; current limit is {ex.limiter.limit} request weight per 1 "
                       "MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.")
                return 429, {"code": -1003, "msg": msg}, headers, False
            until = int((time.time() + retry_after) * 1000)
            msg = (f"Way too much request weight used; IP banned until {until}. Please use WebSocket Streams for "
                   "live updates to avoid bans.")
            return 418, {"code": -1003, "msg": msg}, headers, False
        if route is None:
            return 404, NOT_FOUND_HTML, headers, True
        try:
            if n_pairs != len(params):
                raise errors.ApiError(400, -1101, "Duplicate values for a parameter detected.")
            with ex.lock:
                ex.drive()  # the market is up to the market clock when the request is answered
                if route.signed:
                    auth.verify(request_headers.get("X-MBX-APIKEY"), ex.keys, raw_query=raw_query, raw_body=raw_body,
                                p=params, server_time=ex.server_time(), speed=ex.clock.speed or 1.0)
                    if method in ("POST", "DELETE") and not ex.settings.key_trading:  # a key without spot trading
                        raise errors.ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
                if not route.orders:
                    return 200, route.handler(ex, params), headers, False
                now = time.time()
                _check_order_room(ex, route.orders, now)
                answer = route.handler(ex, params)
                ex.order_times.extend([now] * route.orders)  # an order the venue accepted counts
                headers["X-MBX-ORDER-COUNT-10S"] = str(len(ex.order_times))
                return 200, answer, headers, False
        except errors.ApiError as exc:
            headers.update(exc.headers)
            return exc.status, exc.body(), headers, False

    def _fault_answer(self, fault: Fault, method: str, path: str, params: dict[str, str], applied: bool) -> None:
        ex = self.server.exchange
        if fault.drop:
            if not applied:
                ex.record(method, path, params, None, "dropped")
            self._drop()
            return
        status = fault.status or 503
        if not applied:
            ex.record(method, path, params, status, "injected")
        if fault.code is not None:
            self._send(status, {"code": fault.code, "msg": fault.msg or ""}, fault.headers)
        else:
            self._send(status, fault.body or "", fault.headers, raw=True)

    def _control(self, method: str, path: str, raw_query: str, raw_body: str) -> None:
        if self.client_address[0] not in LOOPBACK:
            self._send(403, {"error": "controls are loopback only"})
            return
        try:
            body = json.loads(raw_body) if raw_body.strip() else {}
        except ValueError:
            self._send(400, {"error": "body must be JSON"})
            return
        status, answer = handle_control(self.server.exchange, method, path, body, dict(parse_qsl(raw_query)))
        self._send(status, answer)


def _check_order_room(ex: Exchange, new: int, now: float) -> None:
    """Refuse, with Binance's 429 -1015, a request whose ``new`` orders would pass the account's ORDERS limit (the
    orders placed in the last 10 s); nothing of it is placed."""
    ex.order_times = [t for t in ex.order_times if t > now - 10.0]
    limit = ex.settings.order_limit_10s
    if len(ex.order_times) + new > limit:
        retry = max(1, int(ex.order_times[0] + 10.0 - now + 0.999)) if ex.order_times else 1
        raise errors.ApiError(429, -1015, f"Too many new orders; current limit is {limit} orders per 10 SECOND.",
                              headers={"Retry-After": str(retry), "X-MBX-ORDER-COUNT-10S": str(len(ex.order_times))})
