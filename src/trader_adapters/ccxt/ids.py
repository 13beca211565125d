"""What the adapter remembers about orders it has seen: venue order id <-> client order id, and the type
it asked for. Bounded (least recently noted entries go first), so a long run does not grow without end.

Why: Binance's ``myTrades`` carries only the venue's order id, and its order types do not say 'take
profit' for a limit the bot sent as one; the bot's own intent has to be remembered at the edge.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, TypeVar

from trader_adapters.ccxt.venues import VENUES, to_venue_client_id
from trader_core.model.ids import ClientOrderId
from trader_core.model.orders import OrderType

__all__ = ["OrderIds"]

_K = TypeVar("_K")
_V = TypeVar("_V")


class OrderIds:
    """Bounded maps between venue order ids, client order ids and requested order types."""

    def __init__(self, size: int = 20_000) -> None:
        """Keep at most ``size`` entries in each map."""
        self._size = size
        self._client: OrderedDict[str, ClientOrderId | None] = OrderedDict()  # venue id -> ours (None: not ours)
        self._venue: OrderedDict[ClientOrderId, str] = OrderedDict()  # ours -> the latest venue id using it
        self._types: OrderedDict[ClientOrderId, OrderType] = OrderedDict()
        self._aliases: OrderedDict[str, ClientOrderId] = OrderedDict()  # venue's form -> ours, where they differ

    def note(self, venue_order_id: str, client_order_id: ClientOrderId | None) -> None:
        """Remember that ``venue_order_id`` is known to the bot as ``client_order_id`` (None: unknown)."""
        _put(self._client, venue_order_id, client_order_id, self._size)
        if client_order_id is not None:
            _put(self._venue, client_order_id, venue_order_id, self._size)

    def knows(self, venue_order_id: str) -> bool:
        """True when ``venue_order_id`` was noted (even as not the bot's)."""
        return venue_order_id in self._client

    def client_id(self, venue_order_id: str) -> ClientOrderId | None:
        """The client id noted for ``venue_order_id``, if any."""
        return self._client.get(venue_order_id)

    def venue_id(self, client_order_id: ClientOrderId) -> str | None:
        """The venue id of the latest order noted with ``client_order_id``, if any."""
        return self._venue.get(client_order_id)

    def outgoing(self, exchange_id: str, client_order_id: ClientOrderId) -> str:
        """``client_order_id`` in the venue's form (``venues.to_venue_client_id``; as is for venues outside
        the table), noted as an alias so answers map back to the bot's id."""
        if exchange_id not in VENUES:
            return client_order_id.value
        form = to_venue_client_id(exchange_id, client_order_id.value)
        self.alias(form, client_order_id)
        return form

    def alias(self, venue_form: str, client_order_id: ClientOrderId) -> None:
        """Remember that the venue knows ``client_order_id`` as ``venue_form`` (its client-id rule)."""
        if venue_form != client_order_id.value:
            _put(self._aliases, venue_form, client_order_id, self._size)

    def ours(self, venue_form: str) -> ClientOrderId | None:
        """The bot's client id the venue knows as ``venue_form``, if it was noted as an alias."""
        return self._aliases.get(venue_form)

    def ours_in(self, raw: Any) -> Any:
        """A ccxt order or trade with client ids in the venue's form replaced by the bot's (a copy)."""
        if not isinstance(raw, dict):
            return raw
        fixed = dict(raw)
        info = fixed["info"] = dict(raw["info"]) if isinstance(raw.get("info"), dict) else {}
        for holder, key in ((fixed, "clientOrderId"), (info, "origClientOrderId"), (info, "clientOrderId"),
                            (info, "client_order_id"), (info, "orderLinkId"), (info, "clOrdId")):
            ours = self._aliases.get(holder[key]) if isinstance(holder.get(key), str) else None
            if ours is not None:
                holder[key] = ours.value
        return fixed

    def remember_type(self, client_order_id: ClientOrderId, order_type: OrderType) -> None:
        """Remember what type the bot asked for under ``client_order_id``."""
        _put(self._types, client_order_id, order_type, self._size)

    def requested_type(self, client_order_id: ClientOrderId) -> OrderType | None:
        """The type the bot asked for under ``client_order_id``, if it did through this adapter."""
        return self._types.get(client_order_id)


def _put(entries: OrderedDict[_K, _V], key: _K, value: _V, size: int) -> None:
    entries[key] = value
    entries.move_to_end(key)
    while len(entries) > size:
        entries.popitem(last=False)
