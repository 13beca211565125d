"""``Fleet``: every bot in one database, read through the same store and queries as ``trader-app status`` and
``trader-app trades``.

All bots share one read-only engine (and a read-write one for commands); the bot list is the distinct bot ids of
the runs table. Trades are paged in SQL; per run, only the filtered totals and the encoded equity curve are kept.
Commands are queued exactly as ``trader-app command`` queues them.
"""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from operator import itemgetter
from typing import Any

import attrs
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from trader_adapters.sql.models import RunRow
from trader_adapters.sql.round_trips import (
    ClosedResult,
    RoundTripFilter,
    closed_results,
    count_round_trips,
    round_trip_page,
    run_version,
)
from trader_adapters.sql.store import SqlStore, SqlUnitOfWork, create_store_engine
from trader_app.commands.status import collect_status
from trader_app.storage import read_only_url
from trader_app.summary import round_trips
from trader_core.model import ZERO, BotId, RunId, RunRecord, StoreError
from trader_core.model.commands import CommandName, OperatorCommand, refused_while_down

__all__ = ["Fleet", "NotFoundError", "command_json", "equity_json", "equity_points", "equity_rows"]

_FINE = Decimal("0.00000001")
_TOTALS_KEPT = 256  # (bot, run, filter) totals kept
_EQUITY_KEPT = 32  # runs whose encoded equity curve is kept
_PAGES_KEPT = 128  # encoded trades pages kept, each at most _PAGE_BYTES_KEPT (so at most 8 MiB)
_PAGE_BYTES_KEPT = 64 * 1024
RunVersion = tuple[int, int, int]


class ConflictError(RuntimeError):
    """The request cannot be carried out in the bot's present state (a 409)."""


class NotFoundError(LookupError):
    """The bot, run or command does not exist (a 404)."""


@attrs.define
class Fleet:
    """The bots of the database at ``url``.

    Every bot is read through one shared engine opened for reading only (a SQLite file with ``mode=ro``, so a
    read never takes the write lock a running bot needs); commands are queued through a second engine, opened
    on the first command. One pool for the whole fleet, not one per bot."""

    url: str
    _reads: Engine | None = None
    _writes: Engine | None = None
    _lock: threading.Lock = attrs.field(factory=threading.Lock)
    _known: set[str] = attrs.field(factory=set)
    _totals: dict[tuple[str, str, RoundTripFilter], tuple[RunVersion, int]] = attrs.field(factory=dict)
    _pages: dict[tuple[str, str, RoundTripFilter, int, int], tuple[RunVersion, bytes]] = attrs.field(factory=dict)
    _equity: dict[tuple[str, str], tuple[RunVersion, bytes]] = attrs.field(factory=dict)

    def bots(self) -> list[str]:
        """Bot ids with at least one run, sorted."""
        try:
            with self._engine(write=False).connect() as conn:
                return sorted(str(b) for b in conn.execute(select(RunRow.bot_id).distinct()).scalars())
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot list the bots: {type(exc).__name__}") from exc

    def store(self, bot: str) -> SqlStore:
        """The bot's store, for reading; ``NotFoundError`` for a bot without runs."""
        return SqlStore(self._engine(write=False), self._bot(bot))

    def _writer(self, bot: str) -> SqlStore:
        """The bot's store, for queueing a command."""
        return SqlStore(self._engine(write=True), self._bot(bot))

    def _bot(self, bot: str) -> BotId:
        if bot not in self._known:
            if bot not in self.bots():
                raise NotFoundError(f"no bot {bot!r} in this database")
            with self._lock:
                self._known.add(bot)
        return BotId(bot)

    def _engine(self, *, write: bool) -> Engine:
        with self._lock:
            if write:
                if self._writes is None:
                    self._writes = create_store_engine(self.url)
                return self._writes
            if self._reads is None:
                self._reads = create_store_engine(read_only_url(self.url))
            return self._reads

    def status(self, bot: str) -> dict[str, Any]:
        """As ``trader-app status --json``."""
        return collect_status(self.store(bot), datetime.now(UTC))

    def trades(self, bot: str, run: str | None, where: RoundTripFilter, offset: int, limit: int) -> bytes:
        """One page of the round trips of ``run`` (default: the latest), open plans included, as
        ``trader-app trades --include-open`` lists them, with ``total`` counting every match of ``where``; as
        JSON ``{"total", "offset", "limit", "trades"}``.

        The database filters, orders and pages; only the page's plans and fills are loaded and the rows are
        built from them by the function ``trader-app trades`` uses. The filtered total, and a small page as
        encoded JSON (the dashboard asks for the same one every second), are kept and used while the run's
        version (``run_version``) has not moved."""
        with self.store(bot).unit_of_work() as uow:
            record = self._run(uow, bot, run)
            version = run_version(uow, record.run_id)
            count_key, page_key = (bot, record.run_id.value, where), (bot, record.run_id.value, where, offset, limit)
            with self._lock:
                known, shown = self._totals.get(count_key), self._pages.get(page_key)
            if shown is not None and shown[0] == version:
                return shown[1]
            total = known[1] if known is not None and known[0] == version else None
            if total is None:
                total = count_round_trips(uow, record.run_id, where)
                self._keep(self._totals, count_key, (version, total), _TOTALS_KEPT)
            page = round_trip_page(uow, record.run_id, where, offset=offset, limit=limit) if offset < total else None
        rows = [] if page is None else round_trips(page.plans, page.fills, True)
        encoded = json.dumps({"total": total, "offset": offset, "limit": limit, "trades": rows}).encode()
        if len(encoded) <= _PAGE_BYTES_KEPT:
            self._keep(self._pages, page_key, (version, encoded), _PAGES_KEPT)
        return encoded

    def equity(self, bot: str, run: str | None) -> bytes:
        """``{"points": ...}`` as JSON: cumulative realized PnL and drawdown from its peak after each closed round
        trip of ``run`` (default: the latest), in exit time order.

        Kept per run as encoded JSON (about 100 bytes a point) and rebuilt, from five fill columns of the
        closed plans, when the run's version moved."""
        with self.store(bot).unit_of_work() as uow:
            record = self._run(uow, bot, run)
            key, version = (bot, record.run_id.value), run_version(uow, record.run_id)
            with self._lock:
                known = self._equity.get(key)
            if known is not None and known[0] == version:
                return known[1]
            encoded = equity_json(closed_results(uow, record.run_id))
        self._keep(self._equity, key, (version, encoded), _EQUITY_KEPT)
        return encoded

    def _keep(self, cache: dict[Any, Any], key: object, value: object, size: int) -> None:
        """Put ``key`` last in ``cache`` and drop the oldest entries beyond ``size``."""
        with self._lock:
            cache.pop(key, None)
            cache[key] = value
            while len(cache) > size:
                del cache[next(iter(cache))]

    @staticmethod
    def _run(uow: SqlUnitOfWork, bot: str, run: str | None) -> RunRecord:
        record = uow.runs.find(RunId(run)) if run else uow.runs.find_latest()
        if record is None:
            raise NotFoundError(f"no run {run!r} for bot {bot}" if run else f"bot {bot} has no runs")
        return record

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
        with self._writer(bot).unit_of_work() as uow:
            refused = refused_while_down(name, uow.leases.find(), command.created_at)
            if refused is not None:
                raise ConflictError(refused)
            uow.commands.add(command)
            uow.commit()
        return command_json(command)

    def close(self) -> None:
        """Dispose of both engines (their pooled connections)."""
        with self._lock:
            for engine in (self._reads, self._writes):
                if engine is not None:
                    engine.dispose()
            self._reads = self._writes = None


def equity_rows(results: Iterable[ClosedResult]) -> Iterator[tuple[str, str, str]]:
    """``(at, realized_pnl, drawdown)`` after each closed round trip, in exit time order (ties in list order):
    the cumulative realized PnL (net of fees, each round trip rounded as its trades row) and its fall from
    its peak. Only ``(exit time, net)`` pairs are held, to sort them."""
    total = peak = ZERO
    for at, net in sorted(((r.exit_time.isoformat(), r.realized - r.fees) for r in results), key=itemgetter(0)):
        total += net.quantize(_FINE, rounding=ROUND_HALF_EVEN)
        peak = max(peak, total)
        yield at, f"{total:f}", f"{total - peak:f}"  # plain notation: a zero of 8 places is 0E-8 in str()


def equity_points(results: Iterable[ClosedResult]) -> list[dict[str, str]]:
    """The equity curve's points as the API serves them."""
    return [{"at": at, "realized_pnl": pnl, "drawdown": down} for at, pnl, down in equity_rows(results)]


def equity_json(results: Iterable[ClosedResult]) -> bytes:
    """``{"points": equity_points(results)}`` as compact JSON, written point by point (an ISO time and decimal
    texts need no escaping): no dict per point, for curves of 100,000 points."""
    out = io.StringIO()
    out.write('{"points":[')
    for n, (at, pnl, down) in enumerate(equity_rows(results)):
        out.write(f'{"," if n else ""}{{"at":"{at}","realized_pnl":"{pnl}","drawdown":"{down}"}}')
    out.write("]}")
    return out.getvalue().encode()


def command_json(command: OperatorCommand) -> dict[str, Any]:
    """A command as JSON."""
    return {"command_id": command.command_id, "name": command.name.value, "status": command.status.value,
            "minutes": command.minutes, "created_at": command.created_at.isoformat(),
            "handled_at": None if command.handled_at is None else command.handled_at.isoformat(),
            "result": command.result}
