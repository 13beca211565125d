"""The one reading of a yes/no setting and of a whole-number setting, for every table (main and ``[llm]``):
from the environment (text), the TOML file (typed) or a flag."""

from __future__ import annotations

import re

__all__ = ["parse_count", "parse_flag"]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_WHOLE = re.compile(r"[+-]?\d+")


def parse_flag(value: object) -> bool:
    """A TOML boolean, or true/false, 1/0, yes/no, on/off in any case. Anything else is a ``ValueError``:
    a typo must never read as false (``dry_run = "on"`` sending real orders)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("true or false (or 1/0, yes/no, on/off)")


def parse_count(value: object) -> int:
    """An integer, or a string of digits. A float (``5.5``, even ``5.0``) or a boolean is a ``ValueError``,
    never truncated nor read as 1."""
    if isinstance(value, bool) or not isinstance(value, int | str) or not _WHOLE.fullmatch(str(value).strip()):
        raise ValueError("a whole number")
    return int(str(value).strip())
