"""``CommandProcessor``: the operator's commands, queued in the store by ``trader-app command``, executed by the
loop at the start of a tick and acknowledged with a result (docs/operations.md).

The queue is an audit log: a command is never deleted, only marked executed, rejected or stale. A command
queued before the run's process started is stale: reported, never executed (an old ``close-all`` must not fire
when a bot is restarted days later), except ``halt`` and ``pause``, which only hold trading back.
``trader-app command`` stamps a command with the machine's clock, so the run's
start and the handling are taken on that clock too (``wall``), not on the run's (a venue's, which may be ahead
of it or run faster).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import attrs

from trader_app.orchestrator import Services
from trader_core.model import TraderError
from trader_core.model.commands import HOLDS_TRADING_BACK, CommandName, CommandStatus, OperatorCommand
from trader_core.model.events import CommandHandled
from trader_core.model.health import TradingStatus
from trader_core.ports import Clock, Store, Telemetry

__all__ = ["MANUAL_STOP", "OPERATOR", "CommandProcessor"]

MANUAL_STOP = "manual stop"
OPERATOR = "operator"


@attrs.define
class CommandProcessor:
    """Works through the bot's pending commands; ``exit_policy`` is only quoted in a stop's result."""

    services: Services
    store: Store
    clock: Clock
    telemetry: Telemetry
    exit_policy: str = "cancel"
    wall: Clock | None = None  # the clock commands are stamped by (the machine's); None: ``clock``
    since: datetime | None = None  # when the process started (on ``wall``); None: now
    started_at: datetime = attrs.field(init=False)  # the run's start on ``wall``: a command queued before is stale

    def __attrs_post_init__(self) -> None:
        self.started_at = self.since if self.since is not None else self._wall().now()

    def _wall(self) -> Clock:
        return self.clock if self.wall is None else self.wall

    def pending(self) -> bool:
        """True when a command waits (a cheap query, asked while the loop sleeps); False if the store fails."""
        try:
            with self.store.unit_of_work() as uow:
                return uow.commands.has_pending()
        except TraderError:
            return False

    async def process(self, stop: Callable[[str], None]) -> tuple[OperatorCommand, ...]:
        """Handle every pending command, oldest first; each is stored with its result as it is handled."""
        with self.store.unit_of_work() as uow:
            pending = uow.commands.list_pending()
        handled = []
        for command in pending:
            if command.created_at < self.started_at and command.name not in HOLDS_TRADING_BACK:
                status, result = CommandStatus.STALE, (
                    f"not executed: queued at {command.created_at.isoformat()}, before this run started")
            else:
                try:
                    status, result = await self._execute(command, stop)
                except TraderError as exc:
                    status, result = CommandStatus.REJECTED, f"failed: {type(exc).__name__}: {exc}"
            done = command.handled(status, result, self._wall().now())
            with self.store.unit_of_work() as uow:
                uow.commands.update(done)
                uow.commit()
            self.telemetry.emit(CommandHandled(at=self.clock.now(), command_id=done.command_id,
                                               command=done.name.value, status=done.status.value,
                                               result=done.result or ""))
            handled.append(done)
        return tuple(handled)

    async def _execute(self, command: OperatorCommand, stop: Callable[[str], None]) -> tuple[CommandStatus, str]:
        health = self.services.health
        name = command.name
        if name is CommandName.PAUSE:
            duration = None if command.minutes is None else timedelta(minutes=command.minutes)
            return CommandStatus.EXECUTED, _state(health.request_pause(duration, "paused by an operator", OPERATOR))
        if name is CommandName.RESUME:
            return CommandStatus.EXECUTED, _state(health.resume(OPERATOR))
        if name is CommandName.HALT:
            return CommandStatus.EXECUTED, _state(health.halt("halted by an operator", OPERATOR))
        if name is CommandName.STOP:
            stop(MANUAL_STOP)
            return CommandStatus.EXECUTED, f"stopping (exit policy: {self.exit_policy})"
        return await self._on_venue(name)

    async def _on_venue(self, name: CommandName) -> tuple[CommandStatus, str]:
        """close-all, cancel-all (the bot's own plans and orders only), accept-reconciliation."""
        s = self.services
        if name is CommandName.CLOSE_ALL:
            outcomes = await s.actions.flatten_all("closed by an operator", s.market.last_prices())
            text = "; ".join(f"{o.status.value} {o.detail}".strip() for o in outcomes)
            return CommandStatus.EXECUTED, text or "nothing to close: the bot has no open plan"
        if name is CommandName.CANCEL_ALL:
            orders = s.book.orders()
            after = await s.resync.executor.cancel_all(orders) if orders else ()
            done = sum(1 for o in after if not o.status.is_active)
            return CommandStatus.EXECUTED, f"cancelled {done} of {len(orders)} open orders of the bot"
        if s.reconciler is None:
            return CommandStatus.REJECTED, "this run has no start-up reconciliation"
        if s.reconciler.accept():
            return CommandStatus.EXECUTED, "reconciliation accepted: " + _state(s.health.status)
        return CommandStatus.EXECUTED, "nothing to accept: no reconciliation gate in force"


def _state(status: TradingStatus) -> str:
    until = "" if status.until is None else f" until {status.until.isoformat()}"
    return f"trading {status.state.value}{until} ({status.reason})"
