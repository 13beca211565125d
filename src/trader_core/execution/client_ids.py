"""The bot's client order ids: how they are formed, and how the bot recognises its own.

``{prefix}{intent number}a{attempt}``, letters and digits only and at most 32 characters, which every venue the
project knows accepts (Binance 36 of ``[A-Za-z0-9._:/-]``, OKX 32 letters and digits, Bybit 36, Gemini 100).
The prefix is ``tc`` and a random tag drawn once per bot and database (its *incarnation*), so two databases that
trade one account never send the same id: Binance refuses a duplicate only among open orders, and a lookup by
client id could otherwise find an older database's order. A database whose bot traded before incarnations existed
keeps its legacy prefix (``tc-{bot}``, ids ``{prefix}-{number}-{attempt}``) so its stored orders stay its own.
"""

from __future__ import annotations

import re
import secrets

from trader_core.model import ClientOrderId

__all__ = ["INCARNATION_KEY", "attempt_of", "client_order_id", "is_own", "new_incarnation", "next_attempt"]

# Where the bot's incarnation tag is kept among its named values ("" marks a legacy prefix).
INCARNATION_KEY = "client_ids.incarnation"

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_TAIL = re.compile(r"^(\d+)a(\d+)$")


def new_incarnation() -> str:
    """A fresh random tag: 8 letters or digits (36^8, about 2.8e12 values)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(8))


def _legacy(prefix: str) -> bool:
    return "-" in prefix


def client_order_id(prefix: str, number: int, attempt: int = 1) -> ClientOrderId:
    """The id of intent ``number``'s ``attempt``."""
    if _legacy(prefix):
        return ClientOrderId(f"{prefix}-{number}-{attempt}")
    return ClientOrderId(f"{prefix}{number}a{attempt}")


def attempt_of(cid: ClientOrderId) -> tuple[str, int]:
    """``(stem, attempt)``: the stem names the intent, whatever the attempt."""
    value = cid.value
    if "-" in value:
        stem, _, attempt = value.rpartition("-")
    else:
        stem, _, attempt = value.rpartition("a")
    return stem, int(attempt) if attempt.isdigit() else 1


def next_attempt(cid: ClientOrderId) -> ClientOrderId:
    """The same intent's next attempt."""
    stem, attempt = attempt_of(cid)
    return ClientOrderId(f"{stem}-{attempt + 1}" if "-" in cid.value else f"{stem}a{attempt + 1}")


def is_own(prefix: str, cid: ClientOrderId) -> bool:
    """Whether ``cid`` was formed by this bot (``prefix``)."""
    value = cid.value
    if _legacy(prefix):
        return value.startswith(prefix + "-")
    return value.startswith(prefix) and _TAIL.match(value[len(prefix):]) is not None
