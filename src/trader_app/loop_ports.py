"""What the loop waits on and takes orders from: the sleeper (the clock's own time) and the operator's command
queue. Protocols, so replays, live runs and tests plug in their own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

__all__ = ["CommandQueue", "Sleeper"]


class Sleeper(Protocol):
    """Waits for the next tick in the clock's own time."""

    async def sleep(self, duration: timedelta) -> bool:
        """Wait up to ``duration``; False when woken early."""
        ...

    def wake(self) -> None:
        """End the current sleep now."""
        ...


class CommandQueue(Protocol):
    """The operator's commands (``trader_app.operator.CommandProcessor``)."""

    def pending(self) -> bool:
        """True when a command waits (cheap: asked while the loop sleeps)."""
        ...

    async def process(self, stop: Callable[[str], None]) -> tuple[object, ...]:
        """Handle every pending command; a command queued before the run started is stale, not executed."""
        ...
