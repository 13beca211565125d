"""The lease that lets one process at a time run a bot: who holds it, since when, until when."""

from __future__ import annotations

from datetime import datetime

import attrs

from trader_core.model.errors import InvalidValueError
from trader_core.model.market import require_utc

__all__ = ["Lease"]


@attrs.frozen(kw_only=True)
class Lease:
    """A bot's lease: held by the process (``host``, ``pid``) that knows ``token``, from ``since``, in force until
    ``expires_at`` unless renewed. Another process takes the bot over only once it has expired (or, on the same
    host, once its process is gone)."""

    token: str
    host: str
    pid: int
    since: datetime = attrs.field(converter=require_utc)
    expires_at: datetime = attrs.field(converter=require_utc)

    def __attrs_post_init__(self) -> None:
        if not self.token or len(self.token) > 64:
            raise InvalidValueError(f"a lease token must be 1-64 characters, got {self.token!r}")
        if self.expires_at < self.since:
            raise InvalidValueError("a lease cannot expire before it starts")

    def in_force(self, now: datetime) -> bool:
        """Whether the lease still holds the bot at ``now``."""
        return now < self.expires_at

    def describe(self) -> str:
        """``host, pid N, since TIME`` for an operator."""
        return f"host {self.host}, pid {self.pid}, since {self.since.isoformat(timespec='seconds')}"
