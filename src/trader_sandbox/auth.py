"""Signed-request checks as Binance does them: API key header, recvWindow, HMAC-SHA256 over the raw query
plus raw body (signature removed), and the timestamp window."""

from __future__ import annotations

import hashlib
import hmac

from trader_sandbox import errors
from trader_sandbox.params import Params, integer

__all__ = ["DEFAULT_RECV_WINDOW", "MAX_RECV_WINDOW", "sign", "strip_signature", "verify"]

DEFAULT_RECV_WINDOW = 5000
MAX_RECV_WINDOW = 60000


def strip_signature(raw: str) -> str:
    """``raw`` (still URL-encoded) without its ``signature=`` pair; everything else stays byte for byte."""
    return "&".join(part for part in raw.split("&") if part and not part.startswith("signature="))


def sign(secret: str, payload: str) -> str:
    """Hex HMAC-SHA256 of ``payload`` with ``secret``, as clients sign."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def verify(api_key: str | None, keys: dict[str, str], *, raw_query: str, raw_body: str, p: Params,
           server_time: int, speed: float = 1.0) -> str:
    """Check one signed request; return the account's API key or raise the Binance error.

    ``speed``: how fast the market clock runs. The window guards against network delay, which is real time,
    so the 1 s allowed ahead and ``recvWindow`` are real milliseconds: ``speed`` times as many market ones."""
    if not api_key:
        raise errors.ApiError(401, -2014, errors.API_KEY_FORMAT)
    secret = keys.get(api_key)
    if secret is None:
        raise errors.ApiError(401, -2015, errors.INVALID_API_KEY)
    recv_window = integer(p, "recvWindow", DEFAULT_RECV_WINDOW)
    if recv_window is None or not 0 < recv_window <= MAX_RECV_WINDOW:
        raise errors.ApiError(400, -1131, errors.RECV_WINDOW_MAX)
    timestamp = integer(p, "timestamp")
    if timestamp is None:
        raise errors.mandatory("timestamp")
    given = p.get("signature", "")
    if not given:
        raise errors.mandatory("signature")
    expected = sign(secret, strip_signature(raw_query) + strip_signature(raw_body))
    if not hmac.compare_digest(expected.encode(), given.lower().encode()):
        raise errors.ApiError(400, -1022, errors.BAD_SIGNATURE)
    if timestamp >= server_time + 1000 * speed:
        raise errors.ApiError(400, -1021, errors.TS_AHEAD)
    if server_time - timestamp > recv_window * speed:
        raise errors.ApiError(400, -1021, errors.TS_OUTSIDE)
    return api_key
