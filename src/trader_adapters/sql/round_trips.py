"""Read models for the REST API: one page of a run's round trips, and the run's closed round trips' results,
chosen in SQL so that a request never loads every plan and fill of a long run.

A round trip (as ``trader-app trades`` lists them) is a plan of the run that is not cancelled and has at least
one entry fill of the run; its entry time is the time of its first entry fill in booking order, its exit time
(a closed plan's) that of its last exit fill. The page query
filters and orders those in the database (plans by ``opened_at`` then row id, the order
``plans.list_for_run`` returns) and answers the page's plans and their fills, so the caller builds exactly the
rows it would have built from the whole run. Both lean on the ``fills (bot_id, run_id, plan_id, role)`` index
(revision 0011).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs
from sqlalchemy import ColumnElement, String, and_, bindparam, exists, func, or_, select, type_coerce

from trader_adapters.sql.mapping import FILL_READ_COLUMNS, fill_reader, plan_from_row
from trader_adapters.sql.mapping.common import decimal_from, utc_from
from trader_adapters.sql.repositories.base import ACTIVE_PLANS, FILLS, PLANS, UnitContext
from trader_core.model import ZERO, FillRecord, OrderRole, Plan, PlanStatus, RunId

__all__ = [
    "ClosedResult",
    "RoundTripFilter",
    "RoundTripPage",
    "closed_results",
    "count_round_trips",
    "round_trip_page",
    "run_version",
]

_ENTRY = OrderRole.ENTRY.value


@attrs.frozen(kw_only=True)
class RoundTripFilter:
    """Which round trips of a run: ``symbol`` (as ``BASE/QUOTE``), and in the range ``[start, end)`` the ones the
    report of that range counts: a closed one by its exit time (when its PnL was realized), one still open when it
    was open in the range (entered before ``end``)."""

    symbol: str | None = None
    start: datetime | None = None
    end: datetime | None = None


@attrs.frozen
class RoundTripPage:
    """A slice of a run's round trips: their ``plans`` (in list order) and their ``fills`` of the run (in
    booking order)."""

    plans: tuple[Plan, ...]
    fills: tuple[FillRecord, ...]


@attrs.frozen
class ClosedResult:
    """What one closed round trip adds to the equity curve: its last exit fill's time and the sums of its
    fills' realized PnL and quote fees."""

    plan_id: str
    exit_time: datetime
    realized: Decimal
    fees: Decimal


def _matching(bot: str, run_id: RunId, where: RoundTripFilter) -> list[ColumnElement[bool]]:
    """The conditions on ``plans`` rows that make a round trip of the run matching ``where``."""
    entry = FILLS.alias("entry")
    own_entry = and_(entry.c.bot_id == PLANS.c.bot_id, entry.c.run_id == PLANS.c.run_id,
                     entry.c.plan_id == PLANS.c.plan_id, entry.c.role == _ENTRY)
    conditions = [PLANS.c.bot_id == bot, PLANS.c.run_id == run_id.value, PLANS.c.status != PlanStatus.CANCELLED.value,
                  exists().where(own_entry)]
    if where.symbol is not None:
        conditions.append(PLANS.c.symbol == where.symbol)
    if where.start is None and where.end is None:
        return conditions
    # A closed round trip by its exit time (its last exit fill in booking order, as its trades row shows it; one
    # without an exit fill of the run has no exit time and matches no range); one still open while it was open:
    # entered before ``end``. A NULL time compares as unknown, so it never matches.
    closing = FILLS.alias("closing")
    own_exit = and_(closing.c.bot_id == PLANS.c.bot_id, closing.c.run_id == PLANS.c.run_id,
                    closing.c.plan_id == PLANS.c.plan_id, closing.c.role != _ENTRY)
    last_exit = select(closing.c.time).where(own_exit).order_by(closing.c.booking_seq.desc()).limit(1)
    first_entry = select(entry.c.time).where(own_entry).order_by(entry.c.booking_seq).limit(1)
    exited = [PLANS.c.status == PlanStatus.CLOSED.value]
    still_open = [PLANS.c.status != PlanStatus.CLOSED.value]
    if where.start is not None:
        exited.append(last_exit.scalar_subquery() >= where.start.astimezone(UTC))
    if where.end is not None:
        exited.append(last_exit.scalar_subquery() < where.end.astimezone(UTC))
        still_open.append(first_entry.scalar_subquery() < where.end.astimezone(UTC))
    conditions.append(or_(and_(*exited), and_(*still_open)))
    return conditions


def run_version(uow: UnitContext, run_id: RunId) -> tuple[int, int, int]:
    """What moves whenever the run's round trips or its closed ones can change: how many fills the run has
    (fills are only ever added), how many plans, and how many of them are still pending or open (a plan
    leaves those only to close or be cancelled; only a new plan, which the plan count shows, adds to them).
    Two index-only counts and a count of the bot's active plans."""
    fills = select(func.count()).select_from(FILLS).where(FILLS.c.bot_id == uow.bot, FILLS.c.run_id == run_id.value)
    plans = select(func.count()).select_from(PLANS).where(PLANS.c.bot_id == uow.bot, PLANS.c.run_id == run_id.value)
    # The bot's active plans' runs, counted here: with the run in the WHERE clause SQLite (no statistics) walks
    # the (bot, run) index over every plan of the run instead of the (bot, status) one over the few active.
    active = select(PLANS.c.run_id).where(PLANS.c.bot_id == uow.bot, PLANS.c.status.in_(ACTIVE_PLANS))
    with uow.guard(f"read the version of run {run_id}"):
        fill_count = int(uow.connection.execute(fills).scalar_one())
        plan_count = int(uow.connection.execute(plans).scalar_one())
        active_count = sum(1 for run in uow.connection.execute(active).scalars() if run == run_id.value)
        return fill_count, plan_count, active_count


def count_round_trips(uow: UnitContext, run_id: RunId, where: RoundTripFilter) -> int:
    """How many round trips of ``run_id`` match ``where`` (one probe of the fills index per plan of the run)."""
    statement = select(func.count()).select_from(PLANS).where(*_matching(uow.bot, run_id, where))
    with uow.guard(f"count round trips of run {run_id}"):
        return int(uow.connection.execute(statement).scalar_one())


def round_trip_page(uow: UnitContext, run_id: RunId, where: RoundTripFilter, *, offset: int,
                    limit: int) -> RoundTripPage:
    """The round trips of ``run_id`` that match ``where``, from ``offset`` on, at most ``limit``."""
    conditions = _matching(uow.bot, run_id, where)
    page = select(PLANS).where(*conditions).order_by(PLANS.c.opened_at, PLANS.c.id).offset(offset).limit(limit)
    with uow.guard(f"list round trips of run {run_id}"):
        rows: list[Any] = list(uow.connection.execute(page))
        plans = tuple(plan_from_row(row) for row in rows)
        if not plans:
            return RoundTripPage((), ())
        # The columns as plain text, read by the mapping's batch reader (each value parsed and checked once),
        # and put in booking order here: asked to ORDER BY booking_seq, SQLite walks the run's whole
        # (bot, run) index in that order rather than look the page's plans up in the plan index.
        columns = (type_coerce(FILLS.c[name], String()).label(name) for name in FILL_READ_COLUMNS)
        found = uow.connection.execute(
            select(FILLS.c.booking_seq, *columns)
            .where(FILLS.c.bot_id == uow.bot, FILLS.c.run_id == run_id.value,
                   FILLS.c.plan_id.in_(bindparam("ids", expanding=True))),
            {"ids": [plan.plan_id.value for plan in plans]},
        )
        read = fill_reader()
        return RoundTripPage(plans, tuple(read(row[1:]) for row in sorted(found, key=lambda row: int(row[0]))))


def closed_results(uow: UnitContext, run_id: RunId) -> Iterator[ClosedResult]:
    """Every closed round trip of ``run_id`` (a closed plan with an entry and a later exit fill of the run) in
    list order, read from five fill columns only, one at a time: consume it inside the unit of work."""
    names = ("plan_id", "role", "time", "realized_pnl", "fee_quote")
    statement = (
        # As plain text, parsed and checked below (the time only once per round trip).
        select(*(type_coerce(FILLS.c[name], String()).label(name) for name in names))
        .join(PLANS, and_(PLANS.c.bot_id == FILLS.c.bot_id, PLANS.c.run_id == FILLS.c.run_id,
                          PLANS.c.plan_id == FILLS.c.plan_id))
        .where(PLANS.c.bot_id == uow.bot, PLANS.c.run_id == run_id.value, PLANS.c.status == PlanStatus.CLOSED.value)
        .order_by(PLANS.c.opened_at, PLANS.c.id, FILLS.c.booking_seq)
    )
    with uow.guard(f"list closed round trips of run {run_id}"):
        yield from _fold(uow.connection.execute(statement))


def _fold(rows: Iterable[Any]) -> Iterator[ClosedResult]:
    """One result per plan from its fills (rows grouped by plan, in booking order)."""
    plan: str | None = None
    entered, exit_time, realized, fees = False, None, ZERO, ZERO
    for plan_id, role, time, realized_pnl, fee_quote in rows:  # by position: cheaper than by name
        if plan_id != plan:
            if plan is not None and entered and exit_time is not None:
                yield ClosedResult(plan, utc_from(exit_time), realized, fees)
            plan, entered, exit_time, realized, fees = plan_id, False, None, ZERO, ZERO
        if role == _ENTRY:
            entered = True
        else:
            exit_time = time
        realized += decimal_from(realized_pnl)
        fees += decimal_from(fee_quote)
    if plan is not None and entered and exit_time is not None:
        yield ClosedResult(plan, utc_from(exit_time), realized, fees)
