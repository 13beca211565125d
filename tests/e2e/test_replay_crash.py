"""A replay commits its writes in batches: a replay killed midway leaves its run marked incomplete (status
running, no end, no summary) with whole batches of consistent rows, never a run that looks finished; a replay
that ends writes everything."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trader_adapters.sql.store import SqlStore
from trader_app.storage import read_only_url
from trader_core.model import BotId, IntentStatus, OrderRole, RunStatus, StoreError

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")


def _stored(url: str) -> tuple[RunStatus | None, int, int, list[str]]:
    """The latest run's status, its fills, its plans and the problems in how they fit together."""
    store = SqlStore.open(read_only_url(url), BotId("default"))
    try:
        with store.unit_of_work() as uow:
            run = uow.runs.find_latest()
            if run is None:
                return None, 0, 0, []
            fills = uow.fills.list_for_run(run.run_id)
            plans = uow.plans.list_for_run(run.run_id)
            orders = {o.client_order_id: o for o in uow.orders.list_for_run(run.run_id)}
            problems = [f"fill of unknown order {f.fill.client_order_id}" for f in fills
                        if f.fill.client_order_id not in orders]
            if run.status is RunStatus.RUNNING and (run.finished_at is not None or run.summary_json is not None):
                problems.append("a running run with an end")
            # At most the one submission the kill caught between being stored and being sent (intent first, as
            # live; SQLite replays commit each unit of work, docs/decisions.md): one order, or the two legs of one
            # protective bracket (stored together, sent in one venue call).
            pending = [o for o in orders.values() if o.status is IntentStatus.PENDING_SUBMIT]
            one_bracket = (len(pending) == 2 and pending[0].plan_id == pending[1].plan_id
                           and {o.role for o in pending} == {OrderRole.STOP, OrderRole.TARGET})
            if len(pending) > 1 and not one_bracket:
                problems.append(f"orders {[o.client_order_id.value for o in pending]} pending")
            return run.status, len(fills), len(plans), problems
    finally:
        store.close()


def _fills_so_far(url: str) -> int:
    try:
        return _stored(url)[1]
    except StoreError:  # the schema is still being created
        return 0


def test_a_replay_killed_midway_leaves_its_run_incomplete_and_consistent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'trader.db'}"
    replay = subprocess.Popen([APP, "run", "--days", "120", "--db", url, "--fast", "3", "--slow", "8"],
                              cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:  # until a few batches with fills are durable
            assert replay.poll() is None, "the replay ended before it could be killed"
            assert time.monotonic() < deadline, "no fills committed within 120 s"
            if (tmp_path / "trader.db").exists() and _fills_so_far(url) >= 20:
                break
            time.sleep(0.2)
    finally:
        replay.send_signal(signal.SIGKILL)
        replay.wait(timeout=10)

    status, fills, plans, problems = _stored(url)
    assert status is RunStatus.RUNNING, "a killed replay must not look finished"
    assert fills >= 20
    assert plans > 0
    assert problems == []


def test_a_replay_that_ends_is_finished_with_every_fill(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'trader.db'}"
    done = subprocess.run([APP, "run", "--days", "2", "--db", url, "--fast", "3", "--slow", "8",
                           "--summary-json", str(tmp_path / "summary.json")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    status, fills, _, problems = _stored(url)
    assert status is RunStatus.FINISHED
    assert problems == []
    summary = (tmp_path / "summary.json").read_text()
    assert f'"fills": {fills}' in summary
