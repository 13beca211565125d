"""The chaos soak's own arithmetic (``bench/chaos.py``): which stretch of an unprotected position counts against
which restart."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _chaos() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "chaos.py"
    spec = importlib.util.spec_from_file_location("bench_chaos", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_chaos", module)
    spec.loader.exec_module(module)
    return module


def _event(name: str, run: str, seconds: float) -> dict[str, Any]:
    return {"event": name, "run_id": run, "at": (T0 + timedelta(seconds=seconds)).isoformat()}


def _two_runs(second_logs_from: float) -> list[dict[str, Any]]:
    """Run "a" ticks at 1.5 s with the position unprotected; run "b" logs from ``second_logs_from`` and started
    (``RunStarted``, after its start-up) at 15 s."""
    return [
        _event("LedgerCacheLoaded", "a", 0.0), _event("RunStarted", "a", 1.0), _event("MarketDataFresh", "a", 1.5),
        _event("LedgerCacheLoaded", "b", second_logs_from), _event("RunStarted", "b", 15.0),
        _event("MarketDataFresh", "b", 15.5),
    ]


def test_a_restart_is_late_until_it_is_killed_not_until_the_next_process_has_started_up() -> None:
    # The first process ticks at 1.5 s with the position unprotected and is killed; the next one logs its first
    # event at 4 s but needs until 15 s to start (a read timing out in its reconciliation): those 11 s are the
    # second process's start-up, not the first one's lateness; the second is late from its own first tick.
    chaos = _chaos()
    at = T0.timestamp()
    to_protect, late = chaos._after_restarts(_two_runs(4.0), [(at + 0.5, at + 20.0)])
    assert [round(b - a, 2) for a, b in late] == [2.5, 4.5]
    assert [round(t, 2) for t in to_protect] == [19.0, 5.0]


def test_with_the_start_times_recorded_a_restart_is_late_until_the_next_process_was_started() -> None:
    # The next process may log nothing for a while (its first request timing out before its first event): when
    # the soak recorded when it started each process, that bounds the previous one's lateness.
    chaos = _chaos()
    at = T0.timestamp()
    _, late = chaos._after_restarts(_two_runs(14.5), [(at + 0.5, at + 20.0)], [at - 0.5, at + 3.0])
    assert [round(b - a, 2) for a, b in late] == [1.5, 4.5]
