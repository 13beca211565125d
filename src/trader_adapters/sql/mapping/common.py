"""What the row mappings share: text of optional values, cached parsers of repeated cells."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from trader_core.model.errors import InvalidValueError
from trader_core.model.money import Price
from trader_core.model.orders import Liquidity, Side
from trader_core.model.records import OrderRole

__all__ = [
    "CACHE_LIMIT",
    "LIQUIDITIES",
    "ROLES",
    "SIDES",
    "cached",
    "decimal_from",
    "enum_reader",
    "price_text",
    "text_or_none",
    "utc_from",
]


_K = TypeVar("_K")


_V = TypeVar("_V")


def text_or_none(value: object | None) -> str | None:
    return None if value is None else str(value)


def price_text(value: Price | None) -> Any:
    return None if value is None else value.value


SIDES = {side.value: side for side in Side}


LIQUIDITIES = {liquidity.value: liquidity for liquidity in Liquidity}


ROLES = {role.value: role for role in OrderRole}


CACHE_LIMIT = 4096


def cached(make: Callable[[_K], _V]) -> Callable[[_K], _V]:
    """``make`` memoised over a bounded dict: ids and assets repeat across the rows of one read."""
    memo: dict[_K, _V] = {}

    def get(key: _K) -> _V:
        value = memo.get(key)
        if value is None:
            if len(memo) >= CACHE_LIMIT:
                memo.clear()
            value = memo[key] = make(key)
        return value

    return get


def enum_reader(values: dict[str, _V], kind: str) -> Callable[[str], _V]:
    def get(text: str) -> _V:
        try:
            return values[text]
        except KeyError:
            raise InvalidValueError(f"stored {kind} {text!r} is not one of {sorted(values)}") from None

    return get


def decimal_from(text: Any) -> Decimal:
    """A stored decimal's text as the exact ``Decimal`` (what ``DecimalText`` reads)."""
    if type(text) is not str:
        raise InvalidValueError(f"stored value {text!r} is not decimal text")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise InvalidValueError(f"stored value {text!r} is not a decimal number") from None


def utc_from(value: Any) -> datetime:
    """A stored time as an aware UTC datetime (what ``UtcDateTime`` reads): ISO text, or a native value."""
    if type(value) is str:
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidValueError(f"stored time {value!r} is not an aware datetime")
    return value if value.tzinfo is UTC else value.astimezone(UTC)
