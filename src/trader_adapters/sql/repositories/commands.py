"""SQL repository of operator commands: a queue and audit log per bot."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, insert, select, update

from trader_adapters.sql.mapping import (
    command_columns,
    command_from_row,
)
from trader_adapters.sql.models import (
    CommandRow,
)
from trader_adapters.sql.repositories.base import (
    Repository,
)
from trader_core.model.commands import CommandStatus, OperatorCommand
from trader_core.model.errors import StoreError

__all__ = ["SqlCommandRepository"]


_COMMANDS = cast(Table, CommandRow.__table__)
_PENDING = CommandStatus.PENDING.value


class SqlCommandRepository(Repository):
    """Operator commands of the bot: one row per (bot, command id), kept after handling."""

    def add(self, command: OperatorCommand) -> None:
        """Queue a new command. Raises ``StoreError`` if its id is already stored."""
        with self._uow.guard(f"add command {command.command_id}"):
            self._execute(insert(_COMMANDS).values(bot_id=self._bot, **command_columns(command)))

    def update(self, command: OperatorCommand) -> None:
        """Replace a stored command. Raises ``StoreError`` if it is unknown."""
        with self._uow.guard(f"update command {command.command_id}"):
            values = command_columns(command)
            result = self._execute(update(_COMMANDS).where(
                _COMMANDS.c.bot_id == self._bot, _COMMANDS.c.command_id == command.command_id).values(values))
            if result.rowcount != 1:
                raise StoreError(f"update command {command.command_id}: no such command for bot {self._bot}")

    def find(self, command_id: str) -> OperatorCommand | None:
        """The command, or None."""
        with self._uow.guard(f"find command {command_id}"):
            row = self._execute(select(_COMMANDS).where(
                _COMMANDS.c.bot_id == self._bot, _COMMANDS.c.command_id == command_id)).first()
            return None if row is None else command_from_row(row)

    def list_pending(self) -> tuple[OperatorCommand, ...]:
        """Commands still pending, oldest first."""
        with self._uow.guard("list pending commands"):
            rows = self._rows(select(_COMMANDS).where(_COMMANDS.c.bot_id == self._bot, _COMMANDS.c.status == _PENDING)
                              .order_by(_COMMANDS.c.created_at, _COMMANDS.c.id))
            return tuple(command_from_row(row) for row in rows)

    def has_pending(self) -> bool:
        """True when a command is pending."""
        with self._uow.guard("any pending command"):
            return self._execute(select(_COMMANDS.c.id).where(
                _COMMANDS.c.bot_id == self._bot, _COMMANDS.c.status == _PENDING).limit(1)).first() is not None

    def list_recent(self, limit: int = 50) -> tuple[OperatorCommand, ...]:
        """The newest ``limit`` commands, newest first."""
        with self._uow.guard("list recent commands"):
            rows = self._rows(select(_COMMANDS).where(_COMMANDS.c.bot_id == self._bot)
                              .order_by(_COMMANDS.c.created_at.desc(), _COMMANDS.c.id.desc()).limit(max(limit, 0)))
            return tuple(command_from_row(row) for row in rows)
