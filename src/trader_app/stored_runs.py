"""A run as the store holds it (its record, plans, fills and LLM calls), read the one way every reader does:
``trader-app trades`` and ``report`` and the API's report source."""

from __future__ import annotations

import attrs

from trader_core.model import BotId, ConfigError, FillRecord, InvalidValueError, Plan, RunId, RunRecord
from trader_core.model.llm import LlmCallRecord
from trader_core.ports import UnitOfWork

__all__ = ["StoredRun", "find_run", "no_runs", "read_run"]


@attrs.frozen
class StoredRun:
    """One run of a bot with everything the readers of a finished or running run need."""

    record: RunRecord
    plans: tuple[Plan, ...]
    fills: tuple[FillRecord, ...]
    llm_calls: tuple[LlmCallRecord, ...]


def no_runs(bot: str, db: str) -> ConfigError:
    """The refusal for a bot that has no run in the store: an unknown bot (trades, report, rebuild, status,
    command)."""
    return ConfigError(f"bot {bot} has no runs in {db}")


def find_run(uow: UnitOfWork, run: str | None) -> StoredRun | None:
    """Run ``run`` of the unit of work's bot (its latest when ``None``), or ``None`` when there is no such run."""
    record = uow.runs.find(RunId(run)) if run else uow.runs.find_latest()
    if record is None:
        return None
    return StoredRun(record, tuple(uow.plans.list_for_run(record.run_id)), tuple(uow.fills.list_for_run(record.run_id)),
                     tuple(uow.llm_calls.list_calls(record.run_id)))


def read_run(db: str, bot: str, run: str | None) -> StoredRun:
    """Run ``run`` (default: the latest) of ``bot`` in the database at ``db``, opened read-only. ``ConfigError``
    (one line) for a bad bot id, a missing database or run."""
    from trader_app.storage import open_store

    try:
        bot_id = BotId(bot)
    except InvalidValueError as exc:
        raise ConfigError(str(exc)) from exc
    store = open_store(db, bot_id, read_only=True)
    try:
        with store.unit_of_work() as uow:
            found = find_run(uow, run)
    finally:
        store.close()
    if found is None:
        raise ConfigError(f"no run {run!r} for bot {bot}") if run else no_runs(bot, db)
    return found
