"""User-given times read at the core's boundary (command-line options, settings, signals, API queries): ISO-8601
text to an aware UTC datetime, with a message that says what is wrong and what is accepted."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from trader_core.model.errors import InvalidValueError

__all__ = ["EXAMPLE_TIME", "parse_time"]

EXAMPLE_TIME = "2025-01-01T00:30:00Z"
_YEAR = re.compile(r"\s*(\d+)-")
# The UTC offset after a time of day: +02:00, -0530, +05 (a date alone carries none).
_OFFSET = re.compile(r"[Tt ]\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?"  # the time of day
                     r"([+-])(\d{2}):?(\d{2})?(?::?\d{2}(?:[.,]\d+)?)?\s*$")  # the offset


def parse_time(value: object, name: str, *, assume_utc: bool = True) -> datetime:
    """``value`` (ISO-8601 text: a date, or a date and time with an optional UTC offset) as an aware UTC datetime.

    Without an offset the time is UTC when ``assume_utc``, else refused. Anything unusable is an
    ``InvalidValueError`` naming ``name`` and the text, saying what is wrong and what is accepted: a UTC offset
    beyond -23:59..+23:59, a year outside 1..9999, a time that leaves the calendar once converted to UTC."""
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidValueError(f"{name} {text!r}: {_why_not(text)}") from None
    if parsed.tzinfo is None:
        if not assume_utc:
            raise InvalidValueError(f"{name} {text!r} has no UTC offset (a time without a timezone); "
                                    f"add one, e.g. {EXAMPLE_TIME} or +02:00")
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise InvalidValueError(f"{name} {text!r} is beyond the calendar once converted to UTC; times run from "
                                f"0001-01-01 to 9999-12-31 UTC") from None


def _why_not(text: str) -> str:
    """Why ``datetime.fromisoformat`` refused ``text``, in words, with what is accepted."""
    year = _YEAR.match(text)
    if year is not None and not 1 <= int(year.group(1)) <= 9999:
        return f"year {int(year.group(1))} is beyond the calendar; years run from 1 to 9999"
    offset = _OFFSET.search(text)
    if offset is not None:
        sign, hours, minutes = offset.group(1), int(offset.group(2)), int(offset.group(3) or 0)
        if hours > 23 or minutes > 59:
            return (f"UTC offset {sign}{offset.group(2)}:{offset.group(3) or '00'} is out of range; an offset runs "
                    f"from -23:59 to +23:59 (e.g. +02:00, or Z for UTC)")
    return f"not an ISO-8601 time; expected a date or a date and time, e.g. 2025-01-01 or {EXAMPLE_TIME}"
