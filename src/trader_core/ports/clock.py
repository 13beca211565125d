"""The clock port: every 'now' in the core comes from here."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

__all__ = ["Clock"]


class Clock(Protocol):
    """Time as the core sees it. Real in live and paper runs, simulated in replay and tests."""

    def now(self) -> datetime:
        """The current time as an aware UTC datetime. Never goes backwards."""
        ...

    def monotonic(self) -> timedelta:
        """A monotonic reading for measuring durations (fetch latency); only differences mean anything."""
        ...
