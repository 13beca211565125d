"""User input read at the core's boundary: Decimals (floats, bools, NaN and infinities refused) and yes/no."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from trader_core.model.errors import InvalidValueError

__all__ = ["ONE", "ZERO", "parse_flag", "parse_number", "to_decimal", "to_decimal_or_none"]

ZERO = Decimal(0)
ONE = Decimal(1)


def to_decimal(value: object) -> Decimal:
    """Return ``value`` as a finite ``Decimal``.

    Accepts ``Decimal``, ``int`` and numeric ``str``. A ``float`` is refused: money and quantities
    must be converted at the adapter edge with ``Decimal(str(x))`` so that no binary rounding sneaks in.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise InvalidValueError(f"a bool is not a number: {value!r}")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation as exc:
            raise InvalidValueError(f"not a decimal number: {value!r}") from exc
    elif isinstance(value, float):  # the one allowed isinstance-on-float: it is the guard itself
        raise InvalidValueError(f"float {value!r} reached the core; convert with Decimal(str(x)) at the edge")
    else:
        raise InvalidValueError(f"not a decimal number: {value!r}")
    if not result.is_finite():
        raise InvalidValueError(f"not a finite number: {value!r}")
    return result


def to_decimal_or_none(value: object) -> Decimal | None:
    """Like :func:`to_decimal`, but ``None`` stays ``None``."""
    return None if value is None else to_decimal(value)


def parse_number(value: object, name: str) -> Decimal:
    """User input (a signals file, a settings value) as a finite ``Decimal``, read through its text (a JSON
    number as written). Anything else is an ``InvalidValueError`` saying so in words (``stop 'abc' is not a
    number``), never the bare ``decimal.ConversionSyntax`` of ``Decimal('abc')``."""
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidValueError(f"{name} {value!r} is not a number") from None
    if not number.is_finite():
        raise InvalidValueError(f"{name} {value!r} is not a finite number")
    return number


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def parse_flag(value: object) -> bool:
    """A boolean, or true/false, 1/0, yes/no, on/off in any case: the one yes/no vocabulary of settings and
    overrides. Anything else is an ``InvalidValueError``: a typo must never read as false (``dry_run = "on"``
    sending real orders)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidValueError("true or false (or 1/0, yes/no, on/off)")
