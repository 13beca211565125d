"""The base of every telemetry event: typed, past-tense records whose class name is the message."""

from __future__ import annotations

from datetime import datetime

import attrs

__all__ = ["Event"]


@attrs.frozen(kw_only=True)
class Event:
    """Base of every telemetry event. ``at`` is the clock's time when it happened.

    Subclasses add typed fields; adapters render them (ids and money as strings). Secrets never
    belong in an event.
    """

    at: datetime

    @property
    def name(self) -> str:
        """The event's name: its class name."""
        return type(self).__name__
