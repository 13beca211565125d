"""The one table that turns ccxt exceptions into the core's errors, by the kind of call that raised.

Why the kind matters: the same ccxt class means different things for a create and a read. A
``RequestTimeout`` on ``create_order`` leaves the order's fate unknown (it may exist: look it up by
client order id), while on a read it only means "nothing happened, try again". The table below is the
single source of truth; ``docs/exchanges.md`` prints it and the unit tests walk every row.

Messages never carry credentials: every message goes through a :class:`Redactor` built from the
key and secret before it becomes part of a core error.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta

import attrs
import ccxt.async_support as ccxt

from trader_core.model.errors import (
    AuthenticationError,
    ExchangeUnavailableError,
    InvalidDataError,
    OrderNotFoundError,
    OrderRejectedError,
    OutcomeUnknownError,
    RateLimitedError,
    TraderError,
    TransientVenueError,
    UnknownSymbolError,
    WouldTriggerError,
)

__all__ = [
    "ERROR_TABLE",
    "CallKind",
    "Redactor",
    "core_error_class",
    "rejection_reason",
    "retry_after_from_headers",
    "translate_error",
]


class CallKind(enum.Enum):
    """What a failed call was doing; decides whether a failure may have been applied."""

    CREATE = "create"  # place_order, place_exit_bracket: a lost answer may hide a live order
    CANCEL = "cancel"  # cancel_order: a lost answer may hide a done cancel
    READ = "read"  # everything else: nothing to reconcile, safe to retry


@attrs.frozen
class _Row:
    ccxt_class: type[BaseException]
    create: type[TraderError]
    cancel: type[TraderError]
    read: type[TraderError]

    def target(self, kind: CallKind) -> type[TraderError]:
        return {CallKind.CREATE: self.create, CallKind.CANCEL: self.cancel, CallKind.READ: self.read}[kind]


_R = OrderRejectedError
_U = ExchangeUnavailableError
_O = OutcomeUnknownError
_T = TransientVenueError

# First match wins, so subclasses come before their bases (ccxt's tree: OrderNotFound < InvalidOrder <
# ExchangeError; DDoSProtection, RateLimitExceeded, InvalidNonce, RequestTimeout, ExchangeNotAvailable <
# NetworkError < OperationFailed < BaseError).
ERROR_TABLE: tuple[_Row, ...] = (
    # The venue does not know the order. On a cancel this may follow a cancel that did happen (aiohttp
    # re-sends a DELETE once on a dropped connection): the caller reconciles with fetch_order.
    _Row(ccxt.OrderNotFound, _R, OrderNotFoundError, OrderNotFoundError),
    _Row(ccxt.BadSymbol, UnknownSymbolError, UnknownSymbolError, UnknownSymbolError),
    # Definitive refusals: the venue looked at the request and said no. Nothing was applied.
    _Row(ccxt.InsufficientFunds, _R, _R, _U),
    _Row(ccxt.InvalidOrder, _R, _R, _U),  # + DuplicateOrderId, OrderImmediatelyFillable, OrderNotFillable
    _Row(ccxt.BadRequest, _R, _R, _U),  # Binance's NOTIONAL filter and -1100 (bad client id) land here
    _Row(ccxt.ArgumentsRequired, _R, _R, _U),
    _Row(ccxt.NotSupported, _R, _R, _U),
    _Row(ccxt.OperationRejected, _R, _R, _U),  # + MarketClosed, RestrictedLocation
    _Row(ccxt.AuthenticationError, AuthenticationError, AuthenticationError, AuthenticationError),  # + PermissionDenied
    # Throttled or banned: the request was refused before it was applied, even for a create.
    _Row(ccxt.DDoSProtection, RateLimitedError, RateLimitedError, RateLimitedError),  # HTTP 429 and 418
    _Row(ccxt.RateLimitExceeded, RateLimitedError, RateLimitedError, RateLimitedError),  # Binance -1003
    # Binance -1021 rejects a request whose timestamp is off before looking at it, so even a create was
    # not applied. Reads are retried once after re-syncing the clock; creates and cancels never are.
    _Row(ccxt.InvalidNonce, _U, _U, _U),
    _Row(ccxt.CancelPending, _O, _O, _U),
    # An answer we cannot read: for a read it is bad data; for a write the request may have been applied.
    _Row(ccxt.BadResponse, _O, _O, InvalidDataError),  # + NullResponse
    # Transport failures and 5xx: Binance documents 5xx as "execution status UNKNOWN".
    # A read that met a 5xx or a dropped connection is retried once at once (``TransientVenueError``); a timed
    # out one is not (ccxt maps 408 and 504 to RequestTimeout too).
    _Row(ccxt.RequestTimeout, _O, _O, _U),
    _Row(ccxt.ExchangeNotAvailable, _O, _O, _T),  # + OnMaintenance, 502/503/404, dropped socket (async)
    _Row(ccxt.NetworkError, _O, _O, _T),
    _Row(ccxt.OperationFailed, _O, _O, _T),  # 500 -1000
    # An error code ccxt does not know (common on loopback, where only the shared table applies). For a
    # write we cannot prove nothing happened, so the caller reconciles; a read is simply unavailable.
    _Row(ccxt.ExchangeError, _O, _O, _U),
    _Row(ccxt.BaseError, _O, _O, _U),
    # Failures below ccxt (aiohttp, sockets, asyncio timeouts) that escaped its own wrapping.
    _Row(TimeoutError, _O, _O, _U),  # an OSError: before it
    _Row(OSError, _O, _O, _T),
)


# Binance's -2015 ("Invalid API-key, IP, or permissions for action.", HTTP 401). ccxt raises it as
# DDoSProtection once the same client has authenticated before (its guess: a temporary ban), so a key revoked
# while the bot runs would read as a rate limit, retried for ever. Binance bans with 418/429 (-1003); a 401
# -2015 is a refusal of the key whatever came before it.
_REFUSED_KEY = re.compile(r'"code"\s*:\s*-2015\b')


def core_error_class(exc: BaseException, kind: CallKind) -> type[TraderError] | None:
    """The core error class the table gives ``exc`` for ``kind``; None when no row matches (a bug). A Binance
    -2015 that ccxt raised as ``DDoSProtection`` is an ``AuthenticationError``, as it is on a first request."""
    if isinstance(exc, ccxt.DDoSProtection) and _REFUSED_KEY.search(str(exc)):
        return AuthenticationError
    for row in ERROR_TABLE:
        if isinstance(exc, row.ccxt_class):
            return row.target(kind)
    return None


def _non_empty(secrets: Iterable[str]) -> tuple[str, ...]:
    return tuple(x for x in secrets if x)


def as_value(secret: str) -> re.Pattern[str]:
    """A pattern for ``secret`` standing as a value: not preceded or followed by a letter or digit."""
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])")


@attrs.frozen(repr=False)
class Redactor:
    """Removes credentials (and request signatures) from any text that may leave the adapter."""

    _secrets: tuple[str, ...] = attrs.field(alias="secrets", converter=_non_empty)

    def __call__(self, text: str) -> str:
        """``text`` with every secret and ``signature=...`` value replaced by ``***``. A secret is replaced where
        it stands as a value (not inside a longer word), so the rest of the text stays readable."""
        for secret in self._secrets:
            text = as_value(secret).sub("***", text)
        return _SIGNATURE.sub(r"\1***", text)

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"


_SIGNATURE = re.compile(r"(signature=)[0-9A-Za-z%+/=_-]+")
_RETRY_AFTER = "retry-after"

# Binance's message texts (ccxt matches the message before the code), turned into the reason the core
# shows the operator. The venue's own text stays in the message after it.
_REASONS: tuple[tuple[str, str], ...] = (
    ("insufficient balance", "insufficient {funding} balance"),
    ("filter failure: notional", "notional below the venue's minimum"),
    ("filter failure: min_notional", "notional below the venue's minimum"),
    ("filter failure: price_filter", "price not on the venue's tick or outside its range"),
    ("filter failure: lot_size", "quantity not on the venue's step or outside its range"),
    ("filter failure: market_lot_size", "quantity not on the venue's step or outside its range"),
    ("immediately match and take", "post-only order would take liquidity"),
    ("duplicate order sent", "duplicate client order id among open orders"),
    ("relationship of the prices", "stop and target must straddle the last price"),
    ("would trigger immediately", "stop and target must straddle the last price"),
)


def rejection_reason(venue_message: str, *, funding_asset: str | None = None) -> str | None:
    """A readable reason for a Binance-style rejection text, or None when the text is not recognised.

    ``funding_asset`` is the asset an order spends (quote for a buy, base for a sell).
    """
    lowered = venue_message.lower()
    for needle, reason in _REASONS:
        if needle in lowered:
            return reason.format(funding=funding_asset or "account")
    return None


def retry_after_from_headers(headers: Mapping[str, object] | None) -> timedelta | None:
    """The ``Retry-After`` header (seconds) of the last response, when the venue sent one."""
    if not headers:
        return None
    for name, value in headers.items():
        if isinstance(name, str) and name.lower() == _RETRY_AFTER:
            try:
                seconds = int(str(value).strip())
            except ValueError:
                return None  # an HTTP-date form: Binance never sends it; the caller backs off on its own
            return timedelta(seconds=max(seconds, 0))
    return None


def translate_error(
    exc: BaseException,
    kind: CallKind,
    *,
    what: str,
    redact: Redactor,
    retry_after: timedelta | None = None,
    funding_asset: str | None = None,
) -> TraderError:
    """The core error for ``exc`` raised by a ``kind`` call described by ``what`` (e.g. ``"place BTC/USDT
    buy limit c-1"``). The caller raises it ``from exc``. Unknown exception types come back as the
    table's last resort for the kind, so a write never looks definitive by accident."""
    target = core_error_class(exc, kind) or (ExchangeUnavailableError if kind is CallKind.READ else OutcomeUnknownError)
    detail = redact(f"{type(exc).__name__}: {exc}")
    if target is OrderRejectedError:
        reason = rejection_reason(str(exc), funding_asset=funding_asset)
        message = f"{what}: rejected: {reason}; venue said {detail}" if reason else f"{what}: rejected: {detail}"
        if "would trigger immediately" in str(exc).lower():
            return WouldTriggerError(message)
        return OrderRejectedError(message)
    if target is RateLimitedError:
        wait = "" if retry_after is None else f" (retry after {int(retry_after.total_seconds())} s)"
        return RateLimitedError(f"{what}: rate limited by the venue{wait}: {detail}", retry_after)
    if target is OutcomeUnknownError:
        return OutcomeUnknownError(f"{what}: outcome unknown, look the order up by client order id: {detail}")
    if target is OrderNotFoundError and kind is CallKind.CANCEL:
        return OrderNotFoundError(f"{what}: order not found or no longer open (it may already be cancelled): {detail}")
    return target(f"{what}: {detail}")
