"""The venue capability table: what each supported venue can do for the bot's safety, in one place.

One frozen :class:`Venue` per ccxt exchange id the project supports: how a client order id must look
there and how an order is found and cancelled by it, which protective orders the venue itself can hold,
which credentials it needs, whether ccxt knows a sandbox for it, the currency fees are charged in, and what
bounds how late the venue may still accept a placement.
``docs/exchanges.md`` renders the same table (``tests/unit/test_venue_table.py`` checks they agree).

The bot forms its own client order id in one place in the core; :func:`to_venue_client_id` is a
separate, deterministic step that maps it onto the venue's form (and :func:`from_venue_client_id`
back), so the core's id rule and the venue rules change independently.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import re

import attrs

from trader_core.model.errors import ConfigError

__all__ = [
    "VENUES",
    "IdForm",
    "Protection",
    "Venue",
    "check_venue",
    "from_venue_client_id",
    "live_refusal",
    "to_venue_client_id",
    "venue",
]


class Protection(enum.Enum):
    """The strongest protective order the adapter can have a venue hold while the bot is down (and find and
    cancel by client id). OKX holds stops and OCO pairs only as algo orders, which its order endpoints do not
    know by ``clOrdId``; Bybit holds a spot stop as a TP/SL order (``orderFilter: tpslOrder``), which ccxt's
    cancel and lookup (``orderFilter: Order``) do not reach: the adapter places none on either (``none``)."""

    OCO = "oco"  # stop and target as one venue-held pair
    STOP = "stop"  # a venue-held stop; the target is held by the bot
    NONE = "none"  # nothing venue-held: the bot alone holds stop and target


class IdForm(enum.Enum):
    """How the bot's client id is carried to the venue."""

    TEXT = "text"  # the bot's id as text, when it fits the venue's alphabet and length
    INTEGER = "integer"  # a 31-bit integer derived from the bot's id (Kraken's ``userref``)


@attrs.frozen
class Venue:
    """What one venue offers the bot. ``lookup`` is None where the adapter cannot find an order by
    client id there: the bot refuses to start live on such a venue."""

    exchange_id: str
    id_alphabet: str  # a regular-expression character class
    id_max_length: int
    id_form: IdForm
    id_field: str  # the venue's field that carries the client id
    lookup: str | None  # how an order is found / cancelled by client id (None: not possible)
    protection: Protection
    passphrase: bool  # needs TRADER_EXCHANGE__PASSWORD besides key and secret
    sandbox: bool  # ccxt knows a test network for it
    fee_currency: str
    # What bounds how late the venue accepts a placement (None: nothing we send). Where set, a placement not
    # found once that bound has passed is proven absent by one lookup (``CcxtExchange.acceptance_window``).
    placement_expiry: str | None = None

    def accepts(self, text: str) -> bool:
        """True when ``text`` is a client id this venue takes as it is."""
        return bool(re.fullmatch(f"[{self.id_alphabet}]{{1,{self.id_max_length}}}", text))


VENUES: dict[str, Venue] = {
    v.exchange_id: v
    for v in (
        Venue("binance", "A-Za-z0-9._:/-", 36, IdForm.TEXT, "newClientOrderId",
              "origClientOrderId on GET/DELETE /api/v3/order", Protection.OCO, False, True,
              "quote or BNB", "recvWindow, checked again just before the matching engine"),
        Venue("gemini", "A-Za-z0-9._:/-", 100, IdForm.TEXT, "client_order_id",
              "client_order_id on /v1/order/status; cancel by the venue id it returns",
              Protection.STOP, False, True, "quote"),
        Venue("okx", "A-Za-z0-9", 32, IdForm.TEXT, "clOrdId",
              "clOrdId on GET /api/v5/trade/order and POST cancel-order", Protection.NONE, True, True,
              "received asset"),
        Venue("bybit", "A-Za-z0-9_-", 36, IdForm.TEXT, "orderLinkId", None, Protection.NONE, False, True,
              "received asset"),
        Venue("kraken", "0-9", 10, IdForm.INTEGER, "userref", None, Protection.STOP, False, False,
              "quote"),
        Venue("coinbase", "A-Za-z0-9-", 36, IdForm.TEXT, "client_order_id", None, Protection.STOP, False,
              False, "quote"),
    )
}

# Why a venue without lookup by client id cannot be traded live (the one line the bot prints).
_NO_LOOKUP = {
    "bybit": "ccxt's bybit finds an order by orderLinkId only among the last 500",
    "kraken": "Kraken's QueryOrders needs the venue's txid, so an order cannot be found by its userref alone",
    "coinbase": "ccxt's coinbase cannot look an order up by its client order id",
}


def venue(exchange_id: str) -> Venue:
    """The table entry for ``exchange_id``; ``ConfigError`` (one line) for a venue not in the table."""
    try:
        return VENUES[exchange_id]
    except KeyError:
        known = ", ".join(sorted(VENUES))
        raise ConfigError(f"unknown venue {exchange_id!r} (supported: {known})") from None


def live_refusal(exchange_id: str) -> str | None:
    """The one-line reason the bot must not trade live on ``exchange_id``, or None when it may."""
    entry = venue(exchange_id)
    if entry.lookup is not None:
        return None
    reason = _NO_LOOKUP.get(exchange_id, "the venue cannot find an order by client id")
    return f"refusing to trade live on {exchange_id}: {reason}, so orders could not be reconciled after a crash"


def check_venue(exchange_id: str, *, sandbox: bool, base_url: str | None, password: str | None,
                live: bool) -> None:
    """Raise ``ConfigError`` (one line) when the venue cannot run as configured. A ccxt id outside the
    table may still be used for paper and sandbox runs (ccxt itself is the judge there), never live."""
    if exchange_id not in VENUES and not live:
        return
    entry = venue(exchange_id)
    if sandbox and base_url is None and not entry.sandbox:
        raise ConfigError(f"{exchange_id} has no sandbox; use --sandbox-url with an emulator or trade live")
    if entry.passphrase and live and not password:
        raise ConfigError(f"{exchange_id} needs a passphrase: set TRADER_EXCHANGE__PASSWORD")
    if live and not sandbox and base_url is None:
        refusal = live_refusal(exchange_id)
        if refusal is not None:
            raise ConfigError(refusal)


def to_venue_client_id(exchange_id: str, bot_id: str) -> str:
    """The bot's client id in ``exchange_id``'s form. Deterministic (the same id after a restart), and
    the bot's id itself wherever the venue accepts it; otherwise a 128-bit digest of it in the venue's
    alphabet (Kraken: a 31-bit integer, unique per bot among its live orders with high probability)."""
    entry = venue(exchange_id)
    if entry.id_form is IdForm.INTEGER:
        digest = hashlib.sha256(bot_id.encode()).digest()
        return str(int.from_bytes(digest[:4], "big") & 0x7FFF_FFFF or 1)
    if entry.accepts(bot_id):
        return bot_id
    digest = hashlib.sha256(bot_id.encode()).digest()[:16]
    text = "x" + base64.b32encode(digest).decode().rstrip("=").lower()  # letters and digits only
    return text[: entry.id_max_length]


def from_venue_client_id(exchange_id: str, venue_id: str, candidates: set[str] | frozenset[str]) -> str | None:
    """The bot id among ``candidates`` (ids the bot knows) that maps to ``venue_id``, or None."""
    if venue_id in candidates and to_venue_client_id(exchange_id, venue_id) == venue_id:
        return venue_id
    for bot_id in candidates:
        if to_venue_client_id(exchange_id, bot_id) == venue_id:
            return bot_id
    return None
