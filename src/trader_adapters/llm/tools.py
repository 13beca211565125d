"""The tool coordinator (the original's data-fetch coordinator): which of the model's tool requests run.

Within ``window`` each tool runs at most ``max_per_window`` times, and the same request (tool and arguments)
again is answered from the earlier result instead of running; what was refused or de-duplicated is reported
as one ``ToolCallsThrottled`` event by the caller. Time is passed in (monotonic or market time).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs

__all__ = ["ToolAdmission", "ToolThrottle"]


@attrs.frozen
class ToolAdmission:
    """One batch's verdict: ``run`` the requests to execute, ``cached`` those answered from earlier results
    (request -> result), ``rate_limited`` those refused."""

    run: tuple[tuple[str, str], ...]
    cached: tuple[tuple[tuple[str, str], str], ...]
    rate_limited: tuple[tuple[str, str], ...]


@attrs.define
class ToolThrottle:
    """Rate limit per tool and de-duplication per (tool, arguments) within ``window``."""

    window: timedelta = timedelta(seconds=60)
    max_per_window: int = 3
    _runs: dict[str, list[datetime]] = attrs.field(factory=dict, init=False)
    _results: dict[tuple[str, str], tuple[datetime, str]] = attrs.field(factory=dict, init=False)

    def admit(self, requests: Sequence[tuple[str, str]], now: datetime) -> ToolAdmission:
        """Sort a batch of (tool, arguments) requests; the ones to ``run`` are counted against the limit."""
        run: list[tuple[str, str]] = []
        cached: list[tuple[tuple[str, str], str]] = []
        limited: list[tuple[str, str]] = []
        for request in requests:
            earlier = self._results.get(request)
            if earlier is not None and now - earlier[0] < self.window:
                cached.append((request, earlier[1]))
                continue
            if request in run:
                continue  # asked twice in one batch: run once
            times = [t for t in self._runs.get(request[0], []) if now - t < self.window]
            if len(times) >= self.max_per_window:
                limited.append(request)
            else:
                times.append(now)
                run.append(request)
            self._runs[request[0]] = times
        return ToolAdmission(tuple(run), tuple(cached), tuple(limited))

    def remember(self, request: tuple[str, str], result: str, now: datetime) -> None:
        """Keep the result of a request that ran, for de-duplication within the window."""
        self._results[request] = (now, result)
