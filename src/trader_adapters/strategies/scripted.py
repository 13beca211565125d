"""Scripted signals: a JSON-lines file of timed signals, replayed as a ``SignalSource`` (docs/signals.md).

Each line is one JSON object. A signal fires on the first tick whose time is at or after its ``at``
(ISO-8601 with an offset, read as UTC). A malformed line is a ``ConfigError`` naming the file and the
line number, raised before anything is written.

Against a venue (paper, sandbox, live) the signals already handled are remembered in the store, per bot and
file, before they are acted on, so a restart never fires one twice; signals that fell due while the bot was not
running are reported and skipped unless the operator asks to catch up. A replay starts a new history each time
and fires every signal of its span.
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import attrs

from trader_core.model import (
    ZERO,
    Action,
    ClientOrderId,
    ConfigError,
    InvalidValueError,
    PlanId,
    Price,
    Quantity,
    Signal,
    Symbol,
    parse_number,
    parse_time,
)
from trader_core.model.commands import MAX_PAUSE_MINUTES
from trader_core.ports import DecisionContext, Store

__all__ = ["Scripted", "ScriptedSignals", "load_signals", "parse_signal_line", "parse_signal_record", "report_missed"]

_FIELDS = frozenset({
    "at", "action", "symbol", "quantity", "notional", "stop", "target", "stop_pct", "target_pct", "plan_id",
    "client_order_id", "fraction", "size_factor", "minutes", "reason", "regime",
})


@attrs.frozen
class Scripted:
    """One line of the file: its identity (the hash of its text, and which occurrence of that text it is), its
    time and its signal."""

    line_id: str
    at: datetime
    signal: Signal


@attrs.define
class ScriptedSignals:
    """Fires each scripted signal once, on the first ``decide`` at or after its time, in time then file order.

    ``remember`` (against a venue) makes "once" hold across restarts: :meth:`resume` reads the lines already
    handled from ``store``, and each firing is stored before the signals are returned to be acted on (a crash
    right after loses a signal rather than sending it twice)."""

    timed: list[Scripted]
    source: str = "signals"
    _next: int = attrs.field(default=0, init=False)
    _store: Store | None = attrs.field(default=None, init=False)
    _handled: set[str] = attrs.field(factory=set, init=False)

    @property
    def cursor_key(self) -> str:
        """The store key of this file's handled lines (per bot: the store is the bot's)."""
        return f"signals:{self.source}"

    def resume(self, store: Store, now: datetime, *, catch_up: bool) -> tuple[Scripted, ...]:
        """Remember handled lines in ``store`` from now on, skip those already handled, and skip (returning them)
        those that fell due before ``now``, unless ``catch_up``: they fire on the first tick."""
        self._store = store
        with store.unit_of_work() as uow:
            stored = uow.values.find(self.cursor_key)
        self._handled = set(json.loads(stored)) if stored else set()
        pending = [item for item in self.timed if item.line_id not in self._handled]
        missed = () if catch_up else tuple(item for item in pending if item.at < now)
        if missed:
            self._remember(missed)
        skipped = {item.line_id for item in missed}
        self.timed = [item for item in pending if item.line_id not in skipped]
        self._next = 0
        return missed

    async def decide(self, context: DecisionContext) -> tuple[Signal, ...]:
        """The signals due at ``context.now`` that have not fired yet."""
        due: list[Scripted] = []
        while self._next < len(self.timed) and self.timed[self._next].at <= context.now:
            due.append(self.timed[self._next])
            self._next += 1
        if due and self._store is not None:
            self._remember(due)
        return tuple(item.signal for item in due)

    def _remember(self, items: tuple[Scripted, ...] | list[Scripted]) -> None:
        assert self._store is not None
        self._handled.update(item.line_id for item in items)
        with self._store.unit_of_work() as uow:
            uow.values.put(self.cursor_key, json.dumps(sorted(self._handled)))
            uow.commit()


def report_missed(missed: tuple[Scripted, ...], path: Path) -> None:
    """Say on stderr which signals fell due while the bot was not running and were skipped."""
    if not missed:
        return
    first, last = missed[0].at.isoformat(), missed[-1].at.isoformat()
    print(f"trader-app: {len(missed)} signal(s) of {path} fell due while the bot was not running ({first} .. "
          f"{last}) and were skipped; use --signals-catch-up to act on them", file=sys.stderr)


def load_signals(path: Path) -> ScriptedSignals:
    """Read ``path``; blank lines and lines starting with ``#`` are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise ConfigError(f"signals file {path} is not UTF-8 text (byte {exc.start} cannot be decoded)") from exc
    except OSError as exc:
        raise ConfigError(f"signals file {path}: {exc}") from exc
    timed = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            at, signal = parse_signal_line(line)
        except ConfigError as exc:
            raise ConfigError(f"signals file {path}, line {number}: {exc}") from exc
        # A line is known by its text, not its number: inserting a line above it, or reordering, does not make
        # it new; a repeated line is a second signal.
        digest = hashlib.sha256(line.strip().encode("utf-8")).hexdigest()[:16]
        seen[digest] = seen.get(digest, 0) + 1
        timed.append(Scripted(f"{digest}.{seen[digest]}", at, signal))
    source = hashlib.sha256(str(path.resolve()).encode("utf-8")).hexdigest()[:16]
    # A stable sort: signals with the same time keep their file order.
    return ScriptedSignals(sorted(timed, key=lambda item: item.at), source=source)


def parse_signal_line(line: str) -> tuple[datetime, Signal]:
    """One line: its time (aware UTC) and its signal. Raises ``ConfigError`` with the reason."""
    try:
        record = json.loads(line)
    except ValueError as exc:
        raise ConfigError(f"not JSON: {exc}") from exc
    except RecursionError:
        raise ConfigError("not JSON this program reads: nested too deeply") from None
    if isinstance(record, dict) and record.get("at", "") is None:
        raise ConfigError("'at' must be an ISO-8601 time, got null")
    try:
        at, signal = parse_signal_record(record, require_at=True)
    except RecursionError:
        raise ConfigError("a value is nested too deeply") from None
    if at is None:  # parse_signal_record requires 'at', and null is refused above
        raise ConfigError("missing 'at'")
    return at, signal


def parse_signal_record(record: object, *, require_at: bool) -> tuple[datetime | None, Signal]:
    """One decoded signal object (docs/signals.md): its time (None when absent and not required) and its
    signal. The one parser of the signal format: scripted files and LLM answers both go through it.
    Raises ``ConfigError`` with the reason."""
    if not isinstance(record, dict):
        raise ConfigError("each signal must be a JSON object")
    unknown = sorted(str(k) for k in set(record) - _FIELDS)
    if unknown:
        raise ConfigError(f"unknown field(s) {', '.join(unknown)}")
    for name in ("at", "action", "symbol") if require_at else ("action", "symbol"):
        if name not in record:
            raise ConfigError(f"missing {name!r}")
    try:
        return (None if record.get("at") is None else _at(record["at"])), _signal(record)
    except (InvalidValueError, InvalidOperation, ValueError, TypeError, KeyError, OverflowError) as exc:
        raise ConfigError(str(exc) or type(exc).__name__) from exc


def _at(value: Any) -> datetime:
    return parse_time(value, "'at'", assume_utc=False)


def _decimal(record: dict[str, Any], name: str) -> Decimal | None:
    value = record.get(name)
    return None if value is None else parse_number(value, name)


def _signal(record: dict[str, Any]) -> Signal:
    try:
        action = Action(str(record["action"]).upper())
    except ValueError:
        raise ValueError(f"unknown action {record['action']!r} ({', '.join(a.value for a in Action)})") from None
    quantity, stop, target = _decimal(record, "quantity"), _decimal(record, "stop"), _decimal(record, "target")
    minutes = _decimal(record, "minutes")
    if minutes is not None and not ZERO <= minutes <= MAX_PAUSE_MINUTES:
        # Checked before it becomes a timedelta: 1e12 minutes is one, and overflows a date when the pause starts.
        raise ValueError(f"minutes must be 0 to {MAX_PAUSE_MINUTES} (a year), got {minutes}")
    regime = record.get("regime") or {}
    if not isinstance(regime, dict):
        raise ValueError("regime must be an object of flags, e.g. {\"volatility\": \"high\"}")
    if action is Action.PARTIAL_CLOSE and ("plan_id" not in record or "fraction" not in record):
        raise ValueError("PARTIAL_CLOSE needs plan_id and fraction")
    if action is Action.UPDATE_PLAN and "plan_id" not in record:
        raise ValueError("UPDATE_PLAN needs plan_id")
    return Signal(
        action=action, symbol=Symbol.parse(str(record["symbol"])),
        quantity=None if quantity is None else Quantity(quantity), notional=_decimal(record, "notional"),
        stop=None if stop is None else Price(stop), target=None if target is None else Price(target),
        stop_pct=_decimal(record, "stop_pct"), target_pct=_decimal(record, "target_pct"),
        plan_id=None if record.get("plan_id") is None else PlanId(str(record["plan_id"])),
        client_order_id=None if record.get("client_order_id") is None else ClientOrderId(
            str(record["client_order_id"])),
        size_factor=_decimal(record, "size_factor"), close_fraction=_decimal(record, "fraction"),
        pause=None if minutes is None else timedelta(minutes=float(minutes)),
        reason=str(record.get("reason", "")),
        regime=tuple((str(k), str(v)) for k, v in regime.items()),
    )
