"""The core's error hierarchy. Adapters translate library errors into these (always ``raise ... from``)."""

from __future__ import annotations

from datetime import timedelta

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "ExchangeError",
    "ExchangeUnavailableError",
    "InvalidDataError",
    "InvalidValueError",
    "InvariantViolationError",
    "OrderNotFoundError",
    "OrderRejectedError",
    "OutcomeUnknownError",
    "RateLimitedError",
    "StoreError",
    "TraderError",
    "TransientVenueError",
    "UnknownSymbolError",
    "WouldTriggerError",
]


class TraderError(Exception):
    """Base of every error the core raises or expects from a port."""


class InvalidValueError(TraderError, ValueError):
    """A value object was given something it cannot hold (a float, NaN, a negative size...)."""


class ConfigError(TraderError):
    """Settings or user input are unusable; the message names the problem. Exit code 2."""


class InvalidDataError(TraderError):
    """Data from a venue or a file is malformed (NaN price, high below low, bid above ask...)."""


class InvariantViolationError(TraderError):
    """Something that must never happen did (the ledger disagrees with itself or the venue)."""


class StoreError(TraderError):
    """The store failed; the unit of work was rolled back."""


class ExchangeError(TraderError):
    """Base for venue failures."""


class ExchangeUnavailableError(ExchangeError):
    """The venue could not be reached or refused to serve; the request was not applied. Safe to retry."""


class TransientVenueError(ExchangeUnavailableError):
    """A passing failure on the venue's side of one request (a 5xx, a dropped connection): a read that met it
    is retried once at once. Not a timeout (retrying a slow venue adds to its load) nor a rate limit."""


class RateLimitedError(ExchangeUnavailableError):
    """The venue rate-limited or banned us; do not call it again before ``retry_after`` has passed."""

    def __init__(self, message: str, retry_after: timedelta | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthenticationError(ExchangeError):
    """Credentials are missing, wrong or lack a permission. Not retryable without operator action."""


class OrderRejectedError(ExchangeError):
    """The venue definitively refused the order (filters, funds, duplicate id). Nothing to reconcile."""


class WouldTriggerError(OrderRejectedError):
    """The venue refused a protective order because the market is already past its price (Binance: "Stop price
    would trigger immediately"). The level has been reached: the position is exposed until it is exited."""


class OrderNotFoundError(ExchangeError):
    """The venue does not know this order. After a lost cancel response it may mean 'already cancelled'."""


class OutcomeUnknownError(ExchangeError):
    """The request may or may not have been applied (timeout, 5xx, dropped connection after sending).

    Look the order up by client order id before anything else; never retry blindly.
    """


class UnknownSymbolError(ExchangeError, ConfigError):
    """The venue does not list this symbol."""
