"""Request parameter parsing with Binance's validation errors (-1102 missing, -1100 malformed, -1106 extra)."""

from __future__ import annotations

import re
import secrets
import string
from decimal import Decimal, InvalidOperation

from trader_sandbox import errors

__all__ = ["CLIENT_ID", "client_id", "decimal", "integer", "new_client_id", "optional_decimal", "required"]

Params = dict[str, str]
CLIENT_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
_DECIMAL = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
_INTEGER = re.compile(r"^-?[0-9]{1,20}$")
_ALPHABET = string.ascii_letters + string.digits


def required(p: Params, name: str) -> str:
    """The non-empty value of ``name`` or -1102."""
    value = p.get(name, "")
    if value == "":
        raise errors.mandatory(name)
    return value


def decimal(p: Params, name: str) -> Decimal:
    """A required non-negative decimal parameter."""
    return _parse_decimal(name, required(p, name))


def optional_decimal(p: Params, name: str) -> Decimal | None:
    """A decimal parameter, or None when absent or empty."""
    value = p.get(name, "")
    return None if value == "" else _parse_decimal(name, value)


def _parse_decimal(name: str, value: str) -> Decimal:
    if not _DECIMAL.match(value):
        raise errors.bad_param(name)
    try:
        return Decimal(value)
    except InvalidOperation as exc:  # pragma: no cover - the regex already rules these out
        raise errors.bad_param(name) from exc


def integer(p: Params, name: str, default: int | None = None) -> int | None:
    """An integer parameter, ``default`` when absent."""
    value = p.get(name, "")
    if value == "":
        return default
    if not _INTEGER.match(value):
        raise errors.bad_param(name, errors.INTEGER_RANGE)
    return int(value)


def client_id(p: Params, name: str) -> str | None:
    """A client order id parameter checked against Binance's pattern (-1100 when it does not match)."""
    value = p.get(name)
    if value is None:
        return None
    if not CLIENT_ID.match(value):
        raise errors.ApiError(400, -1100, errors.CLIENT_ID_ILLEGAL.replace("newClientOrderId", name))
    return value


def new_client_id() -> str:
    """A random 22-character id, like the ones Binance assigns."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(22))


def not_required(p: Params, *names: str) -> None:
    """-1106 for a parameter the order type does not take."""
    for name in names:
        if p.get(name, "") != "":
            raise errors.ApiError(400, -1106, f"Parameter '{name}' sent when not required.")
