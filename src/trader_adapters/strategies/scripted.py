"""Scripted signals: a JSON-lines file of timed signals, replayed as a ``SignalSource`` (docs/signals.md).

Each line is one JSON object. A signal fires on the first tick whose time is at or after its ``at``
(ISO-8601 with an offset, read as UTC). A malformed line is a ``ConfigError`` naming the file and the
line number, raised before anything is written.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import attrs

from trader_core.model import (
    Action,
    ClientOrderId,
    ConfigError,
    InvalidValueError,
    PlanId,
    Price,
    Quantity,
    Signal,
    Symbol,
)
from trader_core.ports import DecisionContext

__all__ = ["ScriptedSignals", "load_signals", "parse_signal_line", "parse_signal_record"]

_FIELDS = frozenset({
    "at", "action", "symbol", "quantity", "notional", "stop", "target", "stop_pct", "target_pct", "plan_id",
    "client_order_id", "fraction", "size_factor", "minutes", "reason", "regime",
})


@attrs.define
class ScriptedSignals:
    """Fires each scripted signal once, on the first ``decide`` at or after its time, in file order."""

    timed: list[tuple[datetime, Signal]]
    _next: int = attrs.field(default=0, init=False)

    async def decide(self, context: DecisionContext) -> tuple[Signal, ...]:
        """The signals due at ``context.now`` that have not fired yet."""
        due = []
        while self._next < len(self.timed) and self.timed[self._next][0] <= context.now:
            due.append(self.timed[self._next][1])
            self._next += 1
        return tuple(due)


def load_signals(path: Path) -> ScriptedSignals:
    """Read ``path``; blank lines and lines starting with ``#`` are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"signals file {path}: {exc}") from exc
    timed = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            timed.append(parse_signal_line(line))
        except ConfigError as exc:
            raise ConfigError(f"signals file {path}, line {number}: {exc}") from exc
    # A stable sort: signals with the same time keep their file order.
    return ScriptedSignals(sorted(timed, key=lambda item: item[0]))


def parse_signal_line(line: str) -> tuple[datetime, Signal]:
    """One line: its time (aware UTC) and its signal. Raises ``ConfigError`` with the reason."""
    try:
        record = json.loads(line)
    except ValueError as exc:
        raise ConfigError(f"not JSON: {exc}") from exc
    at, signal = parse_signal_record(record, require_at=True)
    assert at is not None
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
    at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if at.tzinfo is None:
        raise ValueError(f"'at' needs a UTC offset (e.g. 2025-01-01T00:30:00Z), got {value!r}")
    return at.astimezone(UTC)


def _decimal(record: dict[str, Any], name: str) -> Decimal | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{name} must be a number")
    number = Decimal(str(value))
    if not number.is_finite():
        raise ValueError(f"{name} must be finite")
    return number


def _signal(record: dict[str, Any]) -> Signal:
    try:
        action = Action(str(record["action"]).upper())
    except ValueError:
        raise ValueError(f"unknown action {record['action']!r} ({', '.join(a.value for a in Action)})") from None
    quantity, stop, target = _decimal(record, "quantity"), _decimal(record, "stop"), _decimal(record, "target")
    minutes = _decimal(record, "minutes")
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
