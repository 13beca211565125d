"""``Fleet``: every bot in one database, read through the same store and queries as ``trader-app status``.

One ``SqlStore`` per bot, opened on first use and kept; the bot list is the distinct bot ids of the runs
table. Commands are queued exactly as ``trader-app command`` queues them.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from trader_adapters.sql.models import RunRow
from trader_adapters.sql.store import SqlStore, create_store_engine
from trader_app.commands.status import collect_status
from trader_app.storage import open_store
from trader_app.summary import round_trips
from trader_core.model import BotId, RunId, StoreError
from trader_core.model.commands import CommandName, OperatorCommand

__all__ = ["Fleet", "NotFoundError", "command_json", "equity"]


class NotFoundError(LookupError):
    """The bot, run or command does not exist (a 404)."""


@attrs.define
class Fleet:
    """The bots of the database at ``url``."""

    url: str
    _engine: Engine | None = None
    _stores: dict[str, SqlStore] = attrs.field(factory=dict)
    _lock: threading.Lock = attrs.field(factory=threading.Lock)
    _trades: dict[tuple[str, str], tuple[tuple[int, int], list[dict[str, str]]]] = attrs.field(factory=dict)

    def bots(self) -> list[str]:
        """Bot ids with at least one run, sorted."""
        if self._engine is None:
            self._engine = create_store_engine(self.url)
        try:
            with self._engine.connect() as conn:
                return sorted(str(b) for b in conn.execute(select(RunRow.bot_id).distinct()).scalars())
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot list the bots: {type(exc).__name__}") from exc

    def store(self, bot: str) -> SqlStore:
        """The bot's store; ``NotFoundError`` for a bot without runs."""
        with self._lock:
            found = self._stores.get(bot)
        if found is not None:
            return found
        if bot not in self.bots():
            raise NotFoundError(f"no bot {bot!r} in this database")
        store = open_store(self.url, BotId(bot), migrate=False)
        with self._lock:
            return self._stores.setdefault(bot, store)

    def status(self, bot: str) -> dict[str, Any]:
        """As ``trader-app status --json``."""
        return collect_status(self.store(bot), datetime.now(UTC))

    def trades(self, bot: str, run: str | None) -> list[dict[str, str]]:
        """Round trips of ``run`` (default: the latest), open plans included.

        Kept per run and rebuilt when its fill count or its number of active plans changed (two cheap
        queries), so a page of a long run does not reload every plan and fill."""
        with self.store(bot).unit_of_work() as uow:
            record = uow.runs.find(RunId(run)) if run else uow.runs.find_latest()
            if record is None:
                raise NotFoundError(f"no run {run!r} for bot {bot}" if run else f"bot {bot} has no runs")
            key = (bot, record.run_id.value)
            version = (uow.fills.count(record.run_id), len(uow.plans.list_active(record.run_id)))
            cached = self._trades.get(key)
            if cached is not None and cached[0] == version:
                return cached[1]
            plans = uow.plans.list_for_run(record.run_id)
            fills = uow.fills.list_for_run(record.run_id)
        rows = round_trips(plans, fills, True)
        self._trades[key] = (version, rows)
        return rows

    def commands(self, bot: str, limit: int) -> list[dict[str, Any]]:
        """The command queue and its audit log, newest first."""
        with self.store(bot).unit_of_work() as uow:
            return [command_json(c) for c in uow.commands.list_recent(limit)]

    def command(self, bot: str, command_id: str) -> dict[str, Any]:
        """One command with its status and result."""
        with self.store(bot).unit_of_work() as uow:
            found = uow.commands.find(command_id)
        if found is None:
            raise NotFoundError(f"no command {command_id!r} for bot {bot}")
        return command_json(found)

    def queue(self, bot: str, name: CommandName, minutes: int | None) -> dict[str, Any]:
        """Queue a command as ``trader-app command`` does; the bot executes and audits it."""
        command = OperatorCommand(command_id=f"cmd-{uuid.uuid4().hex[:20]}", name=name,
                                  created_at=datetime.now(UTC), minutes=minutes)
        with self.store(bot).unit_of_work() as uow:
            uow.commands.add(command)
            uow.commit()
        return command_json(command)

    def close(self) -> None:
        """Close every store and the listing engine."""
        with self._lock:
            for store in self._stores.values():
                store.close()
            self._stores.clear()
        if self._engine is not None:
            self._engine.dispose()


def equity(trades: list[dict[str, str]]) -> list[dict[str, str]]:
    """Cumulative realized PnL and drawdown from its peak after each closed round trip."""
    points, total, peak = [], Decimal(0), Decimal(0)
    for row in sorted((t for t in trades if t.get("exit_time")), key=lambda t: t["exit_time"]):
        total += Decimal(row["realized_pnl"] or "0")
        peak = max(peak, total)
        points.append({"at": row["exit_time"], "realized_pnl": str(total), "drawdown": str(total - peak)})
    return points


def command_json(command: OperatorCommand) -> dict[str, Any]:
    """A command as JSON."""
    return {"command_id": command.command_id, "name": command.name.value, "status": command.status.value,
            "minutes": command.minutes, "created_at": command.created_at.isoformat(),
            "handled_at": None if command.handled_at is None else command.handled_at.isoformat(),
            "result": command.result}
