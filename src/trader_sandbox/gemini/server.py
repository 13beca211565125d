"""The Gemini face of the emulator's HTTP server: the same connection handling, faults, controls and request
log as the Binance one, with Gemini's routes, authentication and error payloads."""

from __future__ import annotations

import base64
import binascii
import json
import time
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl

from trader_sandbox.gemini import api, auth
from trader_sandbox.gemini.errors import GeminiError
from trader_sandbox.server import Handler

__all__ = ["GeminiHandler"]


class GeminiHandler(Handler):
    """One client connection to the Gemini emulator."""

    def _request_params(self, params: dict[str, str]) -> dict[str, Any]:
        """A private request's decoded payload (it holds no secret), else the query, for the request log."""
        raw = self.headers.get("X-GEMINI-PAYLOAD")
        if not raw:
            return params
        try:
            decoded = json.loads(base64.b64decode(raw))
        except (binascii.Error, ValueError):
            return params
        return decoded if isinstance(decoded, dict) else params

    def _api(self, method: str, path: str, *, raw_query: str, raw_body: str, params: dict[str, str],
             n_pairs: int, request_headers: Message) -> tuple[int, Any, dict[str, str], bool]:
        """Answer one Gemini request (the payload header, not the parsed body, carries a private one's fields)."""
        del raw_body, params, n_pairs
        ex = self.server.exchange
        _used, limited, retry_after = ex.limiter.charge(1, time.time())
        if limited is not None:
            error = GeminiError(429, "RateLimit", "Requests were made too frequently")
            return 429, error.body(), {"Retry-After": str(max(1, int(retry_after + 0.999)))}, False
        group = ex.group_rates.get("public" if method == "GET" else "private")
        if group is not None:
            allowed, wait = group.charge(time.time())
            if not allowed:
                error = GeminiError(429, "RateLimit", "Requests were made too frequently")
                return 429, error.body(), {"Retry-After": str(max(1, int(wait + 0.999)))}, False
            if wait:
                time.sleep(wait)  # queued: answered once the group's rate allows it
        try:
            with ex.lock:
                if method == "GET":
                    return 200, api.public(ex, path, dict(parse_qsl(raw_query))), {}, False
                handler = api.PRIVATE.get(path)
                if method != "POST" or handler is None:
                    raise GeminiError(404, "EndpointNotFound", f"API entry point `{path}` not found")
                payload = auth.verify(request_headers, path, ex.keys, ex.nonces, ex.wall_time())
                if path.startswith("/v1/order/") and path != "/v1/order/status" and not ex.settings.key_trading:
                    raise GeminiError(403, "MissingRole", "To access this endpoint, you need to log in to the website "
                                      "and go to the settings page to assign one of these roles [Trader] to API key "
                                      f"{request_headers.get('X-GEMINI-APIKEY')} which currently has roles [Auditor]")
                return 200, handler(ex, payload), {}, False
        except GeminiError as exc:
            return exc.status, exc.body(), {}, False
