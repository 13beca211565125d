"""Operator commands: queued in the store by ``trader-app command``, executed by the bot's loop, kept as an
audit log (docs/operations.md)."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from trader_core.model.errors import InvalidValueError
from trader_core.model.lease import Lease
from trader_core.model.market import utc

__all__ = ["HOLDS_TRADING_BACK", "CommandName", "CommandStatus", "OperatorCommand", "refused_while_down"]


class CommandName(enum.Enum):
    """What the operator asks of the bot."""

    PAUSE = "pause"
    RESUME = "resume"
    HALT = "halt"
    STOP = "stop"
    CLOSE_ALL = "close-all"
    CANCEL_ALL = "cancel-all"
    ACCEPT_RECONCILIATION = "accept-reconciliation"


# Commands that only hold trading back are carried out whenever they were queued: a halt or pause sent while the
# bot was down (or starting) meant "do not trade", and dropping it as stale let the bot trade. Any other command
# queued before the bot's process started is stale: an old close-all must not fire at a restart days later.
HOLDS_TRADING_BACK = frozenset({CommandName.HALT, CommandName.PAUSE})


def refused_while_down(name: CommandName, lease: Lease | None, now: datetime) -> str | None:
    """Why ``name`` is not queued now, or None: no process holds the bot (no lease in force at ``now``) and the
    command would only be reported stale at the bot's next start, so queueing it would tell the operator
    "queued" for something that never happens."""
    if name in HOLDS_TRADING_BACK or (lease is not None and lease.in_force(now)):
        return None
    down = ("no process holds it" if lease is None
            else f"its last process ({lease.host}, pid {lease.pid}) stopped holding it at "
                 f"{lease.expires_at.isoformat(timespec='seconds')}")
    return (f"the bot is not running ({down}): {name.value} is carried out by a running bot only, and one queued "
            "now would be stale at its next start; halt and pause are kept for its next start")


class CommandStatus(enum.Enum):
    """PENDING until the loop handles it: EXECUTED, REJECTED (could not be done) or STALE (queued before the
    bot's run started: reported, never executed)."""

    PENDING = "pending"
    EXECUTED = "executed"
    REJECTED = "rejected"
    STALE = "stale"


# A pause of up to a year; longer is a typo (and overflows the database): leave minutes out to pause until resumed.
MAX_PAUSE_MINUTES = 525_600


def _minutes(_instance: object, _attribute: object, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise InvalidValueError(f"minutes must be a positive whole number, got {value!r}")
    if value is not None and value > MAX_PAUSE_MINUTES:
        raise InvalidValueError(f"minutes must be 1 to {MAX_PAUSE_MINUTES} (a year; leave it out to pause until "
                                f"resumed), got {value}")


def _command_id(_instance: object, _attribute: object, value: str) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        raise InvalidValueError(f"a command id must be 1-64 characters, got {value!r}")


@attrs.frozen(kw_only=True)
class OperatorCommand:
    """One command to one bot. ``minutes`` is the length of a pause (None: until resumed)."""

    command_id: str = attrs.field(validator=_command_id)
    name: CommandName
    created_at: datetime = attrs.field(validator=utc)
    minutes: int | None = attrs.field(default=None, validator=_minutes)
    status: CommandStatus = CommandStatus.PENDING
    result: str | None = None
    handled_at: datetime | None = attrs.field(default=None, validator=utc)

    def handled(self, status: CommandStatus, result: str, at: datetime) -> OperatorCommand:
        """This command acknowledged with ``status`` and ``result`` at ``at``."""
        return attrs.evolve(self, status=status, result=result[:1000], handled_at=at)
