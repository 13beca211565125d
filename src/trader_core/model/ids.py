"""Typed identifiers: a bare ``str`` never crosses a port."""

from __future__ import annotations

import re

import attrs

from trader_core.model.errors import InvalidValueError

__all__ = [
    "Asset",
    "BotId",
    "ClientOrderId",
    "PlanId",
    "RunId",
    "Symbol",
    "TradeId",
    "VenueOrderId",
]

_ASSET = re.compile(r"^[A-Z0-9]{1,20}$")
_BOT = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_CLIENT_ORDER_ID = re.compile(r"^[A-Za-z0-9._:/-]{1,36}$")


def _non_empty(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValueError(f"{attribute.name} must be a non-empty string, got {value!r}")


# Symbols and assets key every per-symbol dict on the hot path: their hashes are computed once.
@attrs.frozen(order=True, cache_hash=True)
class Asset:
    """A currency or coin code, upper-case (``BTC``, ``USDT``)."""

    code: str

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.code, str) or not _ASSET.match(self.code):
            raise InvalidValueError(f"invalid asset code {self.code!r}")

    def __str__(self) -> str:
        return self.code


@attrs.frozen(order=True, cache_hash=True)
class Symbol:
    """A spot market, ``BASE/QUOTE``."""

    base: Asset
    quote: Asset

    @classmethod
    def parse(cls, text: str) -> Symbol:
        """Parse ``"BTC/USDT"`` (case-insensitive); anything else is an :class:`InvalidValueError`."""
        # Symbols are few and immutable; rows and venue payloads name them millions of times.
        cached = _PARSED.get(text) if isinstance(text, str) else None
        if cached is not None:
            return cached
        symbol = cls._parse(text)
        if len(_PARSED) < 10_000:
            _PARSED[text] = symbol
        return symbol

    @classmethod
    def _parse(cls, text: str) -> Symbol:
        if not isinstance(text, str) or text.count("/") != 1:
            raise InvalidValueError(f"invalid symbol {text!r}: expected BASE/QUOTE, e.g. BTC/USDT")
        base, quote = text.strip().upper().split("/")
        try:
            return cls(Asset(base), Asset(quote))
        except InvalidValueError as exc:
            raise InvalidValueError(f"invalid symbol {text!r}: {exc}") from exc

    def __str__(self) -> str:
        return f"{self.base}/{self.quote}"


_PARSED: dict[str, Symbol] = {}


@attrs.frozen(order=True)
class BotId:
    """Scopes every stored row: several bots can share one database."""

    value: str

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.value, str) or not _BOT.match(self.value):
            raise InvalidValueError(f"invalid bot id {self.value!r}: 1-32 of [A-Za-z0-9_-]")

    def __str__(self) -> str:
        return self.value


@attrs.frozen(order=True)
class RunId:
    """One process run of a bot (each replay is its own run)."""

    value: str = attrs.field(validator=_non_empty)

    def __str__(self) -> str:
        return self.value


@attrs.frozen(order=True)
class ClientOrderId:
    """The bot's own order id: at most 36 characters from ``[A-Za-z0-9._:/-]`` (Binance's rule)."""

    value: str

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.value, str) or not _CLIENT_ORDER_ID.match(self.value):
            raise InvalidValueError(f"invalid client order id {self.value!r}")

    def __str__(self) -> str:
        return self.value


@attrs.frozen(order=True)
class VenueOrderId:
    """The venue's id for an order."""

    value: str = attrs.field(validator=_non_empty)

    def __str__(self) -> str:
        return self.value


@attrs.frozen(order=True)
class TradeId:
    """The venue's id for one fill (trade)."""

    value: str = attrs.field(validator=_non_empty)

    def __str__(self) -> str:
        return self.value


@attrs.frozen(order=True)
class PlanId:
    """A trade plan (entry plus its protective exits)."""

    value: str = attrs.field(validator=_non_empty)

    def __str__(self) -> str:
        return self.value
