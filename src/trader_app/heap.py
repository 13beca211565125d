"""The collector's full passes kept off a long-running process's hot path."""

from __future__ import annotations

import gc

__all__ = ["freeze_startup_heap"]


def freeze_startup_heap() -> None:
    """Collect once, then freeze what is alive (modules, tables, markets, compiled code) out of every later
    collection: a full pass over that heap otherwise pauses a tick or a request for 50-100 ms every so often.
    Called once a process has built everything it keeps (the bot after start-up, the API server once built)."""
    gc.collect()
    gc.freeze()
