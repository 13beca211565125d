"""A replay's batch: units of work inside it are savepoints of one transaction that only ``checkpoint()`` and
``end_batch()`` make durable (SQLite, and PostgreSQL when TRADER_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import threading

import pytest

from tests.store.records import a_run
from trader_adapters.sql.store import SqlStore
from trader_app.storage import read_only_url
from trader_core.model import BotId, RunId

BOT = "bot-a"


def _runs_seen_by_another_connection(url: str) -> list[str]:
    other = SqlStore.open(read_only_url(url), BotId(BOT))  # a reader (``trader-app status``) during the batch
    try:
        with other.unit_of_work() as uow:
            latest = uow.runs.find_latest()
            return [] if latest is None else [latest.run_id.value]
    finally:
        other.close()


def test_writes_of_a_batch_are_durable_at_its_checkpoint_and_not_before(database_url: str) -> None:
    store = SqlStore.open(database_url, BotId(BOT))
    store.begin_batch()
    with store.unit_of_work() as uow:
        uow.runs.add(a_run(BOT))
        uow.commit()
    with store.unit_of_work() as uow:  # the batch sees its own writes
        assert uow.runs.find(RunId(f"run-{BOT}")) is not None
    assert _runs_seen_by_another_connection(database_url) == []
    store.checkpoint()
    assert _runs_seen_by_another_connection(database_url) == [f"run-{BOT}"]
    store.end_batch()
    store.close()


def test_a_failed_unit_inside_a_batch_discards_only_its_own_writes(database_url: str) -> None:
    store = SqlStore.open(database_url, BotId(BOT))
    store.begin_batch()
    with store.unit_of_work() as uow:
        uow.runs.add(a_run(BOT))
        uow.commit()

    def half_written() -> None:
        with store.unit_of_work() as uow:
            uow.values.put("half-written", "x")
            raise RuntimeError("the unit fails before its commit")

    with pytest.raises(RuntimeError):
        half_written()
    with store.unit_of_work() as uow:
        uow.values.put("kept", "y")
        uow.commit()
    store.end_batch()
    with store.unit_of_work() as uow:
        assert uow.runs.find(RunId(f"run-{BOT}")) is not None
        assert uow.values.find("half-written") is None
        assert uow.values.find("kept") == "y"
    store.close()


def test_a_batch_never_ended_leaves_nothing_after_its_last_checkpoint(database_url: str) -> None:
    store = SqlStore.open(database_url, BotId(BOT))
    store.begin_batch()
    with store.unit_of_work() as uow:
        uow.values.put("before", "1")
        uow.commit()
    store.checkpoint()
    with store.unit_of_work() as uow:
        uow.values.put("after", "2")
        uow.commit()
    store.close()  # the process goes away without end_batch()
    reopened = SqlStore.open(database_url, BotId(BOT))
    with reopened.unit_of_work() as uow:
        assert uow.values.find("before") == "1"
        assert uow.values.find("after") is None
    reopened.close()


def test_a_unit_of_another_thread_joins_the_batch_and_is_durable_at_the_checkpoint(database_url: str) -> None:
    store = SqlStore.open(database_url, BotId(BOT))
    store.begin_batch()
    done: list[bool] = []

    def renew() -> None:  # the lease renewer: SQLite's write lock is the batch's
        with store.unit_of_work() as uow:
            uow.values.put("lease", "renewed")
            uow.commit()
        done.append(True)

    thread = threading.Thread(target=renew)
    thread.start()
    thread.join(timeout=30)
    assert done == [True]
    store.checkpoint()
    reader = SqlStore.open(read_only_url(database_url), BotId(BOT))
    with reader.unit_of_work() as uow:
        assert uow.values.find("lease") == "renewed"
    reader.close()
    store.end_batch()
    store.close()
