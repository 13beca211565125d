"""Telemetry adapters: JSON lines through loguru (file) plus human lines on stderr, and a recorder for tests."""

from __future__ import annotations

import enum
import json
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import attrs
from loguru import logger

from trader_core.model import Event

__all__ = ["LoguruTelemetry", "RecordingTelemetry", "event_fields"]

# Events a person watching stderr should see without asking for more detail.
_WARNING_EVENTS = frozenset({
    "OrderRejected", "OrderFailed", "OrderOutcomeUnknown", "CancelOutcomeUnknown", "LedgerAnomalyDetected",
    "ProtectionOutlivedItsPlan",
    "TickFailed",
    "DuplicateFillIgnored", "ForeignFillIgnored", "PlanCancelled", "CircuitTripped", "TradingStateChanged",
    "VenueCallsSuspended", "VenueAuthenticationFailed", "ExchangeReconnectFailed", "MarketDataStale",
    "FeeRateUnavailable", "FeeAboveSanityBound", "BalanceMismatchDetected", "CapitalAboveAccount", "OrderLost",
    "OrderRanAfterAll",
    "ConcludedOrderFoundOpen",
    "ReconciliationReported", "MarketDataRejected", "CandleCaptureFailed", "LoopLagged", "DataGap",
    "LlmDecisionFailed",
})


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal | enum.Enum):
        return str(value.value if isinstance(value, enum.Enum) else value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


_FIELD_NAMES: dict[type[Event], tuple[str, ...]] = {}


def event_fields(event: Event) -> dict[str, Any]:
    """The event's fields as JSON-ready values (times ISO-8601, Decimals as strings)."""
    kind = type(event)
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(field.name for field in attrs.fields(kind))
    return {name: _plain(getattr(event, name)) for name in names}


@attrs.define
class RecordingTelemetry:
    """Keeps every event in memory, so tests assert on events rather than log text."""

    events: list[Event] = attrs.field(factory=list)

    def emit(self, event: Event) -> None:
        """Record ``event``."""
        self.events.append(event)

    def of_type(self, kind: type[Event]) -> list[Event]:
        """The recorded events of one class, in order."""
        return [e for e in self.events if isinstance(e, kind)]

    def names(self) -> list[str]:
        """The recorded event names, in order."""
        return [e.name for e in self.events]


@attrs.define
class LoguruTelemetry:
    """Writes each event as one JSON line (appended, never truncated) and warnings as human lines.

    ``bot_id`` and ``run_id`` are added to every line. Events carry no secrets by construction.
    ``rotation`` (e.g. "100 MB", "1 day") and ``retention`` (e.g. "14 days", or "10" files) are passed
    to loguru; None: one file, never rotated.
    """

    path: Path
    bot_id: str
    run_id: str
    verbose: bool = False
    rotation: str | None = None
    retention: str | None = None
    _handlers: list[int] = attrs.field(factory=list, init=False)
    _file: TextIO | None = attrs.field(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        logger.remove()
        if self.rotation is None and self.retention is None:
            # One file, never rotated: written directly, a line at a time (readers see each line at once).
            # loguru then renders only what stderr shows, not every event a second time.
            self._file = self.path.open("a", encoding="utf-8", buffering=1)
        else:
            self._handlers.append(
                logger.add(str(self.path), format="{message}", level="DEBUG", mode="a", encoding="utf-8",
                           filter=lambda record: "telemetry" in record["extra"], catch=True,
                           rotation=self.rotation,
                           retention=int(self.retention) if self.retention and self.retention.isdigit()
                           else self.retention)
            )
        self._handlers.append(
            logger.add(sys.stderr, format="{time:HH:mm:ss} {level: <7} {message}",
                       level="INFO" if self.verbose else "WARNING", catch=True,
                       filter=lambda record: "telemetry" not in record["extra"] or record["level"].no >= 30
                       or self.verbose)
        )

    def emit(self, event: Event) -> None:
        """Write ``event``; never raises."""
        try:
            fields = event_fields(event)
            line = json.dumps({"event": event.name, "bot_id": self.bot_id, "run_id": self.run_id, **fields},
                              separators=(",", ":"))
            warning = event.name in _WARNING_EVENTS
            if self._file is not None:
                self._file.write(line + "\n")
                if not (warning or self.verbose):
                    return  # no sink of loguru's would take it
            logger.bind(telemetry=True).log("WARNING" if warning else "INFO", line)
        except Exception:  # noqa: BLE001 - the port promises that telemetry never stops trading
            return

    def close(self) -> None:
        """Flush and detach the sinks."""
        for handler in self._handlers:
            logger.remove(handler)
        self._handlers.clear()
        if self._file is not None:
            self._file.close()
            self._file = None
