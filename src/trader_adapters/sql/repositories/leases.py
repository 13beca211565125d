"""SQL repository of the bot's lease: taken in one conditional upsert, so two processes racing for a bot on SQLite
or PostgreSQL cannot both hold it."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from trader_adapters.sql.models import LeaseRow
from trader_adapters.sql.repositories.base import Repository
from trader_core.model.lease import Lease

__all__ = ["SqlLeaseRepository"]

_LEASES = cast(Table, LeaseRow.__table__)
_COLUMNS = ("token", "host", "pid", "since", "expires_at")


@cache
def _take(dialect: str) -> Any:
    """INSERT the lease; on the bot's existing row, overwrite it only where it has expired, is ours (a renewal,
    which keeps the holder's ``since``), or belongs to the holder being replaced. Both SQLite (3.24+) and
    PostgreSQL run the whole decision in this one statement."""
    insert_ = sqlite.insert if dialect == "sqlite" else postgresql.insert
    statement = insert_(_LEASES)
    return statement.on_conflict_do_update(
        index_elements=["bot_id"],
        set_={name: statement.excluded[name] for name in _COLUMNS}
        | {"since": case((_LEASES.c.token == statement.excluded.token, _LEASES.c.since),  # a renewal keeps it
                         else_=statement.excluded.since)},
        where=or_(
            _LEASES.c.expires_at <= bindparam("now"),
            _LEASES.c.token == statement.excluded.token,
            _LEASES.c.token == bindparam("replacing"),
        ),
    )


class SqlLeaseRepository(Repository):
    """The bot's lease: one row per bot."""

    def take(self, lease: Lease, now: datetime, *, replacing: str | None = None) -> Lease:
        """As the port says."""
        with self._uow.guard("take lease"):
            row = {"bot_id": self._bot, "token": lease.token, "host": lease.host, "pid": lease.pid,
                   "since": lease.since, "expires_at": lease.expires_at}
            self._execute(_take(self._uow.dialect).values(row), {"now": now, "replacing": replacing or ""})
            held = self._find()
            assert held is not None  # the statement inserted or kept a row
            return held

    def find(self) -> Lease | None:
        """The bot's lease, or None."""
        with self._uow.guard("find lease"):
            return self._find()

    def release(self, token: str) -> bool:
        """Give the lease up if ``token`` holds it."""
        with self._uow.guard("release lease"):
            result = self._execute(delete(_LEASES).where(_LEASES.c.bot_id == self._bot, _LEASES.c.token == token))
            return bool(result.rowcount)

    def _find(self) -> Lease | None:
        row = self._execute(select(_LEASES).where(_LEASES.c.bot_id == self._bot)).first()
        if row is None:
            return None
        return Lease(token=row.token, host=row.host, pid=row.pid, since=row.since, expires_at=row.expires_at)
