"""The bot's client order ids: how they are formed, how the bot recognises its own, and the numbers they carry
(``IdBlocks``).

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

import attrs

from trader_core.model import ClientOrderId
from trader_core.ports import Store

__all__ = ["INCARNATION_KEY", "IdBlocks", "attempt_of", "client_order_id", "is_own", "new_incarnation", "next_attempt"]

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


@attrs.define
class IdBlocks:
    """Numbers for ids, reserved from the store's counters a block at a time.

    Counter ``name`` counts reserved blocks: block k holds numbers ``(k-1)*size+1 .. k*size``. A block is
    reserved (committed) in its own unit of work before any of its numbers is used, so a crash can
    only leave a gap, never a number handed out twice.
    """

    store: Store
    size: int = 1000
    _next: dict[str, int] = attrs.field(factory=dict, init=False)
    _end: dict[str, int] = attrs.field(factory=dict, init=False)

    def take(self, name: str) -> int:
        """The next unused number of sequence ``name``. Never call it inside a unit of work."""
        number = self._next.get(name, 0)
        if number >= self._end.get(name, 0):
            with self.store.unit_of_work() as uow:
                block = uow.sequences.next(name)
                uow.commit()
            number, self._end[name] = (block - 1) * self.size + 1, block * self.size + 1
        self._next[name] = number + 1
        return number
