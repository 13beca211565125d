"""Two processes writing to one database at once, as two bots (or one bot run twice) would.

Each worker (``concurrent_writer``) books N fills, each in one unit of work that also bumps a shared
sequence, updates an order and moves a plan to its next version under optimistic versioning. Nothing
may be lost: every fill is there, the sequence counted every booking once, every plan version landed
exactly once, and a bot never sees another bot's rows.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.store.records import ORDER_ID, PLAN_ID, run_of, seed_bot
from trader_adapters.sql.store import SqlStore
from trader_core.model.ids import BotId

N = 100  # bookings per worker: the processes interleave many times, about a second on either database
ROOT = Path(__file__).resolve().parents[2]


def race(url: str, workers: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Start one process per (bot, worker name), release them together, return their reports."""
    processes = [
        subprocess.Popen([sys.executable, "-m", "tests.store.concurrent_writer", url, bot, name, str(N)],
                         cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
        for bot, name in workers
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready", process.stderr.read() if process.stderr else ""
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        reports = []
        for process in processes:
            out, err = process.communicate(timeout=60)
            assert process.returncode == 0, err
            reports.append(json.loads(out.strip().splitlines()[-1]))
        return reports
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()


def seed(url: str, bot: str) -> None:
    store = SqlStore.open(url, BotId(bot))
    try:
        seed_bot(store, bot)
    finally:
        store.close()


def stored(url: str, bot: str) -> dict[str, Any]:
    """What the bot's store holds after the race."""
    store = SqlStore.open(url, BotId(bot))
    try:
        with store.unit_of_work() as uow:
            fills = uow.fills.list_all()
            plan = uow.plans.find(PLAN_ID)
            order = uow.orders.find(ORDER_ID)
            next_value = uow.sequences.next("bookings")  # rolled back: the unit is not committed
    finally:
        store.close()
    assert plan is not None
    assert order is not None
    return {"fills": fills, "plan": plan, "order": order, "sequence": next_value - 1}


def overlapped(reports: list[dict[str, Any]]) -> bool:
    return bool(max(r["started"] for r in reports) < min(r["finished"] for r in reports))


def test_two_processes_of_the_same_bot_lose_no_fill_no_sequence_step_and_no_plan_version(database_url: str) -> None:
    seed(database_url, "bot-a")
    reports = race(database_url, [("bot-a", "w1"), ("bot-a", "w2")])
    assert overlapped(reports)

    state = stored(database_url, "bot-a")
    trade_ids = sorted(record.fill.trade_id.value for record in state["fills"])
    assert trade_ids == sorted(f"{w}-{i}" for w in ("w1", "w2") for i in range(N))
    # Every increment the workers committed is in the counter, each value handed out exactly once.
    assert state["sequence"] == 2 * N
    assert sorted(v for r in reports for v in r["values"]) == list(range(1, 2 * N + 1))
    # Every version bump landed once: versions 2..2N+1, no two workers wrote the same one.
    assert state["plan"].version == 1 + 2 * N
    assert sorted(v for r in reports for v in r["versions"]) == list(range(2, 2 * N + 2))
    # The order is unversioned, but it moves in the plan's unit of work, so it lost no step either.
    assert state["order"].filled_quantity.value == Decimal("0.001") * 2 * N
    print(f"retries after version conflicts: {[r['retries'] for r in reports]}")


def test_two_bots_writing_at_once_each_keep_exactly_their_own_rows(database_url: str) -> None:
    seed(database_url, "bot-a")
    seed(database_url, "bot-b")
    # Same worker name for both: the same trade ids and plan id under two bots must not collide.
    reports = race(database_url, [("bot-a", "w"), ("bot-b", "w")])
    assert overlapped(reports)

    for bot, report in zip(("bot-a", "bot-b"), reports, strict=True):
        state = stored(database_url, bot)
        assert [record.fill.trade_id.value for record in state["fills"]] == [f"w-{i}" for i in range(N)]
        assert {record.run_id for record in state["fills"]} == {run_of(bot)}
        assert state["plan"].run_id == run_of(bot)
        assert state["plan"].version == 1 + N
        assert state["sequence"] == N
        assert report["values"] == list(range(1, N + 1))
        assert report["retries"] == 0, "two bots never conflict: they share no row"
