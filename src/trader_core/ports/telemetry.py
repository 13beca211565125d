"""The telemetry port: typed events out of the core."""

from __future__ import annotations

from typing import Protocol

from trader_core.model.events import Event

__all__ = ["Telemetry"]


class Telemetry(Protocol):
    """A sink for events."""

    def emit(self, event: Event) -> None:
        """Record ``event``. Never raises: a telemetry failure must not stop trading."""
        ...
