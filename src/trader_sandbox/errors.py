"""Binance error answers: the exception the handlers raise and the exact message texts ccxt matches on."""

from __future__ import annotations

__all__ = [
    "ApiError",
    "bad_param",
    "filter_failure",
    "mandatory",
]

# Exact Binance texts: ccxt matches ``msg`` before ``code`` (e.g. InsufficientFunds), so wording matters.
INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
DUPLICATE_ORDER = "Duplicate order sent."
ORDER_NOT_EXIST = "Order does not exist."
UNKNOWN_ORDER = "Unknown order sent."
API_KEY_FORMAT = "API-key format invalid."
INVALID_API_KEY = "Invalid API-key, IP, or permissions for action."
BAD_SIGNATURE = "Signature for this request is not valid."
TS_AHEAD = "Timestamp for this request was 1000ms ahead of the server's time."
TS_OUTSIDE = "Timestamp for this request is outside of the recvWindow."
RECV_WINDOW_MAX = "recvWindow must be less than 60000."
INVALID_SYMBOL = "Invalid symbol."
CLIENT_ID_ILLEGAL = (
    "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'."
)
WOULD_TAKE = "Order would immediately match and take."
STOP_WOULD_TRIGGER = "Stop price would trigger immediately."
UNKNOWN_ORDER_LIST = "Order list does not exist."


class ApiError(Exception):
    """An error answer: HTTP ``status`` with body ``{"code": code, "msg": msg}``."""

    def __init__(self, status: int, code: int, msg: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code} {msg}")
        self.status = status
        self.code = code
        self.msg = msg
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        """The JSON body Binance sends."""
        return {"code": self.code, "msg": self.msg}


def mandatory(name: str) -> ApiError:
    """-1102: a required parameter is missing or empty."""
    return ApiError(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


DECIMAL_RANGE = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"
INTEGER_RANGE = "^[0-9]{1,20}$"


def bad_param(name: str, legal: str = DECIMAL_RANGE) -> ApiError:
    """-1100: a parameter has characters or a form Binance does not accept."""
    return ApiError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'.")


def filter_failure(name: str) -> ApiError:
    """-1013: an exchange filter (LOT_SIZE, PRICE_FILTER, NOTIONAL, ...) rejected the order."""
    return ApiError(400, -1013, f"Filter failure: {name}")
