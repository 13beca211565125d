"""The one reading of a whole-number setting, for every table (main and ``[llm]``): from the environment (text),
the TOML file (typed) or a flag. Yes/no settings use the core's ``parse_flag`` (shared with ``maker_overrides``)."""

from __future__ import annotations

import re

from trader_core.model import parse_flag

__all__ = ["parse_count", "parse_flag"]

_WHOLE = re.compile(r"[+-]?\d+")


def parse_count(value: object) -> int:
    """An integer, or a string of digits. A float (``5.5``, even ``5.0``) or a boolean is a ``ValueError``,
    never truncated nor read as 1."""
    if isinstance(value, bool) or not isinstance(value, int | str) or not _WHOLE.fullmatch(str(value).strip()):
        raise ValueError("a whole number")
    return int(str(value).strip())
