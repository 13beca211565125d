"""Prometheus metrics without a dependency: a ``Telemetry`` sink that counts events and keeps gauges, and
a tiny ``http.server`` exporter serving them in the text exposition format (version 0.0.4) on ``/metrics``.

``MetricsTelemetry`` forwards every event to the sink it wraps (the loguru sink), then updates its
counters; it never raises. The loop also hands it its status (``observe_loop``): ticks, lag, exposure,
realized PnL, data age per symbol, circuits and trading state.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs

from trader_core.model import Event
from trader_core.ports import Telemetry

__all__ = ["MetricsRegistry", "MetricsServer", "MetricsTelemetry"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_Labels = tuple[tuple[str, str], ...]

# name -> (type, help)
_METRICS: dict[str, tuple[str, str]] = {
    "trader_info": ("gauge", "The bot and run this process serves (always 1)."),
    "trader_events_total": ("counter", "Telemetry events emitted, by event name."),
    "trader_ticks_total": ("counter", "Loop ticks completed."),
    "trader_loop_lag_seconds": ("gauge", "How far the last tick overran the loop interval (0: on time)."),
    "trader_loop_lagged_total": ("counter", "Ticks that overran the loop interval."),
    "trader_orders_total": ("counter", "Orders by outcome (submitted, acknowledged, rejected, failed, unknown, "
                                       "lost, closed)."),
    "trader_fills_total": ("counter", "Fills booked into the ledger."),
    "trader_circuit_state": ("gauge", "Circuit health: 0 ok, 1 degraded, 2 tripped."),
    "trader_trading_state": ("gauge", "1 for the trading state in force (active, reducing, halted), else 0."),
    "trader_data_age_seconds": ("gauge", "Age of the freshest market data per symbol at the last assessment."),
    "trader_exposure": ("gauge", "Market value of the bot's holdings at the last prices, in quote."),
    "trader_realized_pnl": ("gauge", "Realized PnL net of fees, in quote."),
}

_ORDER_OUTCOMES = {
    "OrderSubmitted": "submitted", "OrderAcknowledged": "acknowledged", "OrderRejected": "rejected",
    "OrderFailed": "failed", "OrderOutcomeUnknown": "unknown", "OrderLost": "lost", "OrderClosed": "closed",
}
_CIRCUIT_LEVEL = {"ok": 0, "degraded": 1, "tripped": 2}
_STATES = ("active", "reducing", "halted")


class MetricsRegistry:
    """Counters and gauges with labels; thread-safe (the exporter reads from its own thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, dict[_Labels, Decimal]] = {name: {} for name in _METRICS}

    def inc(self, name: str, amount: Decimal | int = 1, **labels: str) -> None:
        """Add ``amount`` to counter ``name``."""
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._values[name]
            series[key] = series.get(key, Decimal(0)) + Decimal(amount)

    def set(self, name: str, value: Decimal | int, **labels: str) -> None:
        """Set gauge (or a cumulative counter) ``name`` to ``value``."""
        with self._lock:
            self._values[name][tuple(sorted(labels.items()))] = Decimal(value)

    def value(self, name: str, **labels: str) -> Decimal | None:
        """The current value of one series, or None."""
        with self._lock:
            return self._values[name].get(tuple(sorted(labels.items())))

    def render(self) -> str:
        """Every metric in the Prometheus text exposition format."""
        lines: list[str] = []
        with self._lock:
            for name, (kind, text) in _METRICS.items():
                lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
                for labels, number in sorted(self._values[name].items()):
                    lines.append(f"{name}{_labels(labels)} {_number(number)}")
        return "\n".join(lines) + "\n"


def _labels(labels: _Labels) -> str:
    if not labels:
        return ""
    escaped = (v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"') for _, v in labels)
    return "{" + ",".join(f'{k}="{v}"' for (k, _), v in zip(labels, escaped, strict=True)) + "}"


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)


@attrs.define
class MetricsTelemetry:
    """Forwards each event to ``inner`` and counts it into ``registry``; never raises."""

    inner: Telemetry | None
    registry: MetricsRegistry = attrs.Factory(MetricsRegistry)
    bot_id: str = ""
    run_id: str = ""

    def __attrs_post_init__(self) -> None:
        if self.bot_id or self.run_id:
            self.registry.set("trader_info", 1, bot_id=self.bot_id, run_id=self.run_id)
        for state in _STATES:
            self.registry.set("trader_trading_state", 1 if state == "active" else 0, state=state)

    def emit(self, event: Event) -> None:
        """Forward ``event``, then count it."""
        if self.inner is not None:
            self.inner.emit(event)
        try:
            self._count(event)
        except Exception:  # noqa: BLE001 - the port promises that telemetry never stops trading
            return

    def _count(self, event: Event) -> None:
        registry, name = self.registry, event.name
        fields: dict[str, Any] = attrs.asdict(event, recurse=False)
        registry.inc("trader_events_total", event=name)
        if name in _ORDER_OUTCOMES:
            registry.inc("trader_orders_total", outcome=_ORDER_OUTCOMES[name])
        elif name == "FillRecorded":
            registry.inc("trader_fills_total")
        elif name == "LoopLagged":
            registry.inc("trader_loop_lagged_total")
            registry.set("trader_loop_lag_seconds", Decimal(fields["lag_s"]))
        elif name in ("CircuitDegraded", "CircuitTripped", "CircuitRecovered"):
            level = {"CircuitDegraded": 1, "CircuitTripped": 2, "CircuitRecovered": 0}[name]
            registry.set("trader_circuit_state", level, circuit=str(fields["circuit"]))
        elif name in ("TradingStateChanged", "TradingStateRestored"):
            self._trading_state(str(fields["state"]))
        elif name in ("MarketDataFresh", "MarketDataStale") and fields.get("age_s") is not None:
            registry.set("trader_data_age_seconds", Decimal(fields["age_s"]), symbol=str(fields["symbol"]))

    def _trading_state(self, current: str) -> None:
        for state in _STATES:
            self.registry.set("trader_trading_state", 1 if state == current else 0, state=state)

    def observe_loop(
        self, *, ticks: int, lag_s: Decimal, exposure: Decimal, realized_pnl: Decimal, trading_state: str,
        circuits: Mapping[str, str], data_age_s: Mapping[str, Decimal | None],
    ) -> None:
        """The loop's status after a tick (values the events do not carry)."""
        registry = self.registry
        registry.set("trader_ticks_total", ticks)
        registry.set("trader_loop_lag_seconds", lag_s)
        registry.set("trader_exposure", exposure)
        registry.set("trader_realized_pnl", realized_pnl)
        self._trading_state(trading_state)
        for circuit, health in circuits.items():
            registry.set("trader_circuit_state", _CIRCUIT_LEVEL.get(health, 0), circuit=circuit)
        for symbol, age in data_age_s.items():
            if age is not None:
                registry.set("trader_data_age_seconds", age, symbol=symbol)


class MetricsServer:
    """Serves ``registry`` on ``http://host:port/metrics`` from a daemon thread (port 0: any free port)."""

    def __init__(self, registry: MetricsRegistry, host: str = "127.0.0.1", port: int = 0) -> None:
        self.registry = registry

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] not in ("/metrics", "/"):
                    self.send_error(404)
                    return
                body = registry.render().encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: ARG002 - the http.server signature
                return  # scrapes are not telemetry

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True)

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._server.server_address[1])

    def start(self) -> MetricsServer:
        """Start serving; returns self."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
