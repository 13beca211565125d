"""Column types that keep money exact and time in UTC on both SQLite and PostgreSQL.

Values are checked on the way in: a float, a non-finite Decimal or a naive datetime never reaches a row.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import String
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["DecimalText", "UtcDateTime"]

# Width of ``datetime.isoformat(timespec="microseconds")`` for an aware UTC time: fixed, so that
# comparing the text compares the times.
_UTC_TEXT_WIDTH = len("2025-05-20T00:01:00.000000+00:00")


class DecimalText(TypeDecorator[Decimal]):
    """A ``Decimal`` stored as its exact text (``str(d)``), so no binary float or SQL rounding touches it.

    Only ``Decimal`` values are accepted; never compare or do arithmetic on such a column in SQL.
    """

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:  # noqa: ARG002 - TypeDecorator API
        """Decimal -> canonical text."""
        if value is None:
            return None
        if type(value) is not Decimal:
            raise TypeError(f"expected a Decimal, got {type(value).__name__} {value!r}")
        if not value.is_finite():
            raise ValueError(f"refusing to store non-finite Decimal {value!r}")
        return str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:  # noqa: ARG002
        """Canonical text -> the same Decimal (same digits, same exponent)."""
        if value is None:
            return None
        try:
            return Decimal(value)
        except InvalidOperation as exc:
            raise ValueError(f"stored value {value!r} is not a decimal number") from exc


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC ``datetime``: ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL, fixed-width ISO text elsewhere.

    Naive datetimes and non-UTC offsets are refused; values come back aware in UTC.
    """

    impl = String(_UTC_TEXT_WIDTH)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """The native type on PostgreSQL, text anywhere else."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(TIMESTAMP(timezone=True))
        return dialect.type_descriptor(String(_UTC_TEXT_WIDTH))

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | str | None:
        """Check the time is aware UTC; render it as text unless the database has a native type."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__} {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"refusing naive datetime {value.isoformat()}: times must be aware UTC")
        if value.utcoffset() != timedelta(0):
            raise ValueError(f"refusing datetime {value.isoformat()}: times must be in UTC")
        utc: datetime = value.astimezone(UTC)
        if dialect.name == "postgresql":
            return utc
        return utc.isoformat(timespec="microseconds")

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        """Stored time -> aware UTC datetime."""
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"stored time {value!r} is not an aware datetime")
        return value.astimezone(UTC)
