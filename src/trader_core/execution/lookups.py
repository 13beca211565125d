"""Not-found answers to lookups by client order id, counted per intent.

An intent whose outcome is unknown is proven absent only after several not-found answers in a row (time for a
request still in flight to land). For such an unresolved intent the count is stored with the bot's named values
(``durable``), so a process that dies and restarts goes on counting where the last one stopped instead of starting
again: a bot restarted often under venue faults would otherwise never gather enough answers to re-protect a plan
whose bracket never reached the venue. Lookups of acknowledged orders (the common case: an order gone from the
open orders) are counted in memory only, so they cost no database access.
"""

from __future__ import annotations

import attrs

from trader_core.model import ClientOrderId
from trader_core.ports import Store

__all__ = ["NotFoundCounts"]

_KEY = "lookups:"


@attrs.define
class NotFoundCounts:
    """Not-found answers in a row per client order id, read from the store once per process and written on change."""

    store: Store
    _counts: dict[ClientOrderId, int] = attrs.field(factory=dict, init=False)

    def count(self, cid: ClientOrderId) -> int:
        """Not-found answers in a row so far (this process and the ones before it)."""
        if cid not in self._counts:
            with self.store.unit_of_work() as uow:
                text = uow.values.find(_KEY + cid.value)
            self._counts[cid] = int(text) if text and text.isdigit() else 0
        return self._counts[cid]

    def record(self, cid: ClientOrderId, *, durable: bool) -> int:
        """Count one more not-found answer (``durable``: in the store too); the new count."""
        count = (self.count(cid) if durable else self._counts.get(cid, 0)) + 1
        return self._put(cid, count, durable=durable)

    def clear(self, cid: ClientOrderId, *, durable: bool) -> None:
        """The venue answered (found), or the intent was concluded: the next not-found starts a new count."""
        if durable and self.count(cid):
            self._put(cid, 0, durable=True)
        self._counts.pop(cid, None)

    def _put(self, cid: ClientOrderId, count: int, *, durable: bool) -> int:
        if durable:
            with self.store.unit_of_work() as uow:
                uow.values.put(_KEY + cid.value, str(count))
                uow.commit()
        self._counts[cid] = count
        return count
