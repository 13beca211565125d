"""Private-request checks as Gemini does them: the API key, the base64 JSON payload, its HMAC-SHA384 signature
(hex, over the base64 text), the endpoint named in the payload, and a nonce greater than the last one used
with the key (a time-based nonce also within 30 seconds of the server's clock)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from trader_sandbox.gemini.errors import GeminiError

__all__ = ["NONCE_WINDOW_MS", "sign", "verify"]

NONCE_WINDOW_MS = 30_000


def sign(secret: str, payload_b64: str) -> str:
    """Hex HMAC-SHA384 of the base64 payload, as clients sign."""
    return hmac.new(secret.encode(), payload_b64.encode(), hashlib.sha384).hexdigest()


def _bad(reason: str, message: str) -> GeminiError:
    return GeminiError(400, reason, message)


def _nonce_ms(nonce: int) -> int | None:
    """A nonce that reads as a Unix time (seconds or milliseconds) in ms; None for a plain counter."""
    if nonce >= 10**12:
        return nonce
    if nonce >= 10**9:
        return nonce * 1000
    return None


def verify(headers: Any, path: str, keys: dict[str, str], nonces: dict[str, int], server_time: int) -> dict[str, Any]:
    """Check one private request; return its decoded payload (the request's parameters) or raise."""
    api_key = headers.get("X-GEMINI-APIKEY")
    if not api_key:
        raise _bad("MissingApikeyHeader", "The X-GEMINI-APIKEY header was missing")
    payload_b64 = headers.get("X-GEMINI-PAYLOAD")
    if not payload_b64:
        raise _bad("MissingPayloadHeader", "The X-GEMINI-PAYLOAD header was missing")
    given = headers.get("X-GEMINI-SIGNATURE")
    if not given:
        raise _bad("MissingSignatureHeader", "The X-GEMINI-SIGNATURE header was missing")
    secret = keys.get(api_key)
    if secret is None:
        raise _bad("InvalidApiKey", "Invalid API key")
    if not hmac.compare_digest(sign(secret, payload_b64).encode(), given.lower().encode()):
        raise _bad("InvalidSignature", f"InvalidSignature: signature {given} does not match the payload")
    try:
        payload = json.loads(base64.b64decode(payload_b64, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise _bad("InvalidJson", "The JSON payload is invalid") from exc
    if not isinstance(payload, dict):
        raise _bad("InvalidJson", "The JSON payload must be an object")
    endpoint = payload.get("request")
    if not endpoint:
        raise _bad("EndpointNotFound", "No endpoint was specified in the payload")
    if endpoint != path:
        raise _bad("EndpointMismatch", f"EndpointMismatch: payload names {endpoint}, request went to {path}")
    try:
        nonce = int(str(payload.get("nonce")))
    except ValueError as exc:
        raise _bad("InvalidNonce", "Nonce must be an integer") from exc
    last = nonces.get(api_key)
    if last is not None and nonce <= last:
        raise _bad("InvalidNonce", f"Nonce '{nonce}' has not increased since your last call to the Gemini API.")
    as_time = _nonce_ms(nonce)
    if as_time is not None and abs(as_time - server_time) > NONCE_WINDOW_MS:
        raise _bad("InvalidNonce", f"Nonce '{nonce}' is not within 30 seconds of the server's time.")
    nonces[api_key] = nonce
    return payload
