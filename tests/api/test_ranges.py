"""A range of the API reads the same round trips in ``trades`` and ``metrics``: closed ones by their exit time, in
``[start, end)``, so a dashboard's trade list adds up to its metrics, and adjacent ranges count each trade once."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx


def _closed(client: httpx.Client, start: str, end: str) -> list[dict[str, Any]]:
    page = client.get("/api/v1/bots/alpha/trades", params={"start": start, "end": end, "limit": 1000}).json()
    return [row for row in page["trades"] if row["exit_time"]]


def _metrics(client: httpx.Client, start: str, end: str) -> dict[str, Any] | None:
    answer = client.get("/api/v1/bots/alpha/metrics", params={"start": start, "end": end})
    return answer.json() if answer.status_code == 200 else None


def test_the_trades_of_a_range_are_the_ones_its_metrics_count_and_adjacent_ranges_share_none(
        client: httpx.Client) -> None:
    everything = client.get("/api/v1/bots/alpha/trades", params={"limit": 1000}).json()["trades"]
    closed = [row for row in everything if row["exit_time"]]
    assert len(closed) > 4, "the replay should have closed trades"
    # Cut the day into ranges, one cut exactly at a trade's exit and one between a trade's entry and its exit.
    day = datetime.fromisoformat(closed[0]["entry_time"]).replace(hour=0, minute=0, second=0, microsecond=0)
    exit_cut = datetime.fromisoformat(closed[len(closed) // 2]["exit_time"])
    entry_cut = datetime.fromisoformat(closed[1]["entry_time"]) + timedelta(seconds=1)
    assert entry_cut < datetime.fromisoformat(closed[1]["exit_time"])
    cuts = sorted({day, entry_cut, day + timedelta(hours=8), exit_cut, day + timedelta(hours=16),
                   day + timedelta(days=2)})
    seen: list[str] = []
    for start, end in itertools.pairwise(cuts):
        rows = _closed(client, start.isoformat(), end.isoformat())
        metrics = _metrics(client, start.isoformat(), end.isoformat())
        count = 0 if metrics is None else metrics["stats"]["count"]
        assert len(rows) == count, f"{start} to {end}: trades lists {len(rows)} closed, metrics count {count}"
        if metrics is not None:
            assert sum((Decimal(r["realized_pnl"]) for r in rows), Decimal(0)) == Decimal(
                metrics["stats"]["net_profit"]), f"{start} to {end}"
        seen += [row["plan_id"] for row in rows]
    assert sorted(seen) == sorted(row["plan_id"] for row in closed), "each closed trade in exactly one range"
