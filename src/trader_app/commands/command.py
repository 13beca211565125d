"""``trader-app command``: queue an operator command for a running bot (docs/operations.md).

The command is stored in the bot's database; the bot's loop picks it up within a couple of seconds (it asks
the queue while sleeping), executes it at the start of a tick and stores the result. ``--wait`` prints it.
"""

from __future__ import annotations

import math
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from trader_app.commands.target import add_target, target
from trader_app.storage import open_store
from trader_app.stored_runs import no_runs
from trader_core.model import BotId, ConfigError, InvalidValueError, StoreError
from trader_core.model.commands import CommandName, CommandStatus, OperatorCommand, refused_while_down

__all__ = ["command_command", "register"]

_POLL_S = 0.25


def register(sub: Any) -> None:
    """Add ``command``."""
    command = sub.add_parser("command", help="send an operator command to a running bot")
    command.add_argument("name", choices=[n.value for n in CommandName],
                         help="pause, resume, halt, stop, close-all (the bot's positions), cancel-all (its open "
                              "orders), accept-reconciliation")
    add_target(command)
    command.add_argument("--minutes", type=int, help="with pause: its length (default: until resumed)")
    command.add_argument("--wait", action="store_true", help="wait for the bot's result and print it")
    command.add_argument("--timeout", type=float, default=60.0, help="with --wait: seconds to wait (default 60)")
    command.set_defaults(handler=lambda args: command_command(
        args.name, *target(args), minutes=args.minutes, wait=args.wait, timeout=args.timeout))


def command_command(name: str, db: str, bot: str, *, minutes: int | None = None, wait: bool = False,
                    timeout: float = 60.0) -> int:
    """Queue the command; with ``wait``, 0 once the bot executed it, 1 if it was rejected, stale or the wait
    timed out."""
    try:
        bot_id = BotId(bot)
        command = OperatorCommand(command_id=f"cmd-{uuid.uuid4().hex[:20]}", name=CommandName(name),
                                  created_at=datetime.now(UTC), minutes=minutes)
    except (InvalidValueError, ValueError) as exc:
        raise ConfigError(str(exc)) from exc
    if minutes is not None and command.name is not CommandName.PAUSE:
        raise ConfigError("--minutes goes with pause only")
    if not (math.isfinite(timeout) and timeout > 0):
        raise ConfigError(f"--timeout must be a positive number of seconds, got {timeout}")
    store = open_store(db, bot_id, migrate=False)
    try:
        try:
            with store.unit_of_work() as uow:
                if uow.runs.find_latest() is None:
                    raise no_runs(bot, db)
                holder = uow.leases.find()
                refused = refused_while_down(command.name, holder, command.created_at)
                if refused is not None:
                    raise ConfigError(f"{refused}; nothing queued")
                uow.commands.add(command)
                uow.commit()
        except StoreError as exc:
            raise ConfigError(f"cannot queue the command ({exc}); is the database upgraded (trader-app db "
                              "upgrade)?") from exc
        down = "" if holder is not None and holder.in_force(command.created_at) else \
            f"; the bot is not running: the {command.name.value} holds from its next start"
        print(f"queued {command.name.value} ({command.command_id}) for bot {bot}{down}")
        if not wait:
            return 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with store.unit_of_work() as uow:
                found = uow.commands.find(command.command_id)
            if found is not None and found.status is not CommandStatus.PENDING:
                print(f"{found.status.value}: {found.result or ''}")
                return 0 if found.status is CommandStatus.EXECUTED else 1
            time.sleep(_POLL_S)
        print(f"timed out after {timeout:g}s: the command is still pending (is bot {bot} running?)")
        return 1
    finally:
        store.close()
