"""Prometheus metrics through ``prometheus_client``: a ``Telemetry`` sink that counts events and keeps gauges
in a registry of its own (with the library's process and platform collectors), and an exporter serving that
registry on ``/metrics``, bound to loopback unless configured otherwise.

``MetricsTelemetry`` forwards every event to the sink it wraps (the loguru sink), then updates its metrics;
it never raises. The loop also hands it its status (``observe_loop``): ticks, lag, exposure, realized PnL,
data age per symbol, circuits and trading state. Money gauges are in the run's quote asset.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import attrs
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
    make_wsgi_app,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, ThreadingWSGIServer

from trader_core.model import Event
from trader_core.ports import Telemetry

__all__ = ["CONTENT_TYPE", "MetricsRegistry", "MetricsServer", "MetricsTelemetry"]

# What a scraper that asks for no particular format (Prometheus itself, curl) is served.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

# A ``_created`` series per counter doubles the scrape for a value nobody graphs.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus_client

_ORDER_OUTCOMES = {
    "OrderSubmitted": "submitted", "OrderAcknowledged": "acknowledged", "OrderRejected": "rejected",
    "OrderFailed": "failed", "OrderOutcomeUnknown": "unknown", "OrderLost": "lost", "OrderClosed": "closed",
}
_CIRCUIT_LEVEL = {"ok": 0, "degraded": 1, "tripped": 2}
_CIRCUIT_EVENTS = {"CircuitDegraded": 1, "CircuitTripped": 2, "CircuitRecovered": 0}
_STATES = ("active", "reducing", "halted")


class MetricsRegistry:
    """The bot's metrics in a ``CollectorRegistry`` of their own (never the library's global one, so two bots
    or two tests in one process do not share series), plus the process and platform collectors."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        r = self.registry
        self.info = Gauge("trader_info", "The bot and run this process serves (always 1).", ["bot_id", "run_id"],
                          registry=r)
        self.events = Counter("trader_events", "Telemetry events emitted, by event name.", ["event"], registry=r)
        self.ticks = Counter("trader_ticks", "Loop ticks completed.", registry=r)
        self.loop_lag = Gauge("trader_loop_lag_seconds",
                              "How far the last tick overran the loop interval (0: on time).", registry=r)
        self.loop_lagged = Counter("trader_loop_lagged", "Ticks that overran the loop interval.", registry=r)
        self.orders = Counter("trader_orders", "Orders by outcome (submitted, acknowledged, rejected, failed, "
                              "unknown, lost, closed).", ["outcome"], registry=r)
        self.fills = Counter("trader_fills", "Fills booked into the ledger.", registry=r)
        self.circuit_state = Gauge("trader_circuit_state", "Circuit health: 0 ok, 1 degraded, 2 tripped.",
                                   ["circuit"], registry=r)
        self.trading_state = Gauge("trader_trading_state",
                                   "1 for the trading state in force (active, reducing, halted), else 0.", ["state"],
                                   registry=r)
        self.data_age = Gauge("trader_data_age_seconds",
                              "Age of the freshest market data per symbol at the last assessment.", ["symbol"],
                              registry=r)
        self.exposure = Gauge("trader_exposure", "Market value of the bot's holdings at the last prices, in quote.",
                              registry=r)
        self.realized_pnl = Gauge("trader_realized_pnl", "Realized PnL net of fees, in quote.", registry=r)
        self.llm_calls = Counter("trader_llm_calls", "Calls the LLM strategy made (replayed: answered from a "
                                 "cassette).", ["replayed"], registry=r)
        self.llm_tokens = Counter("trader_llm_tokens", "Tokens the provider reported, by direction (input, "
                                  "output).", ["direction"], registry=r)
        self.llm_cost = Counter("trader_llm_cost_usd", "What the LLM's calls were charged, in USD (cassette "
                                "answers not charged): net PnL is realized PnL minus this.", registry=r)
        for replayed in ("false", "true"):  # served from the start (at 0), so dashboards have the series
            self.llm_calls.labels(replayed=replayed)
        for direction in ("input", "output"):
            self.llm_tokens.labels(direction=direction)
        self._ticks_seen = 0
        self._lock = threading.Lock()

    def value(self, name: str, **labels: str) -> Decimal | None:
        """The current value of one series (by its exposed name, e.g. ``trader_fills_total``), or None."""
        sample = self.registry.get_sample_value(name, labels)
        return None if sample is None else Decimal(str(sample))

    def render(self) -> str:
        """Every metric in the Prometheus text exposition format."""
        return generate_latest(self.registry).decode("utf-8")

    def series_names(self) -> tuple[str, ...]:
        """Every series name the trader's own metrics expose (counters with their ``_total``)."""
        names = [f"{m.name}_total" if m.type == "counter" else m.name
                 for m in self.registry.collect() if m.name.startswith("trader_")]
        return tuple(sorted(names))

    def count_ticks(self, ticks: int) -> None:
        """The loop reports its running tick count; the counter moves by the difference."""
        with self._lock:
            delta, self._ticks_seen = ticks - self._ticks_seen, max(ticks, self._ticks_seen)
        if delta > 0:
            self.ticks.inc(delta)


@attrs.define
class MetricsTelemetry:
    """Forwards each event to ``inner`` and counts it into ``registry``; never raises."""

    inner: Telemetry | None
    registry: MetricsRegistry = attrs.Factory(MetricsRegistry)
    bot_id: str = ""
    run_id: str = ""

    def __attrs_post_init__(self) -> None:
        if self.bot_id or self.run_id:
            self.registry.info.labels(bot_id=self.bot_id, run_id=self.run_id).set(1)
        self._trading_state("active")

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
        registry.events.labels(event=name).inc()
        if name in _ORDER_OUTCOMES:
            registry.orders.labels(outcome=_ORDER_OUTCOMES[name]).inc()
            return
        fields: dict[str, Any] = attrs.asdict(event, recurse=False)
        if name == "FillRecorded":
            registry.fills.inc()
        elif name == "LoopLagged":
            registry.loop_lagged.inc()
            registry.loop_lag.set(float(Decimal(fields["lag_s"])))
        elif name in _CIRCUIT_EVENTS:
            registry.circuit_state.labels(circuit=str(fields["circuit"])).set(_CIRCUIT_EVENTS[name])
        elif name in ("TradingStateChanged", "TradingStateRestored"):
            self._trading_state(str(fields["state"]))
        elif name in ("MarketDataFresh", "MarketDataStale") and fields.get("age_s") is not None:
            registry.data_age.labels(symbol=str(fields["symbol"])).set(float(Decimal(fields["age_s"])))
        elif name == "LlmCallCompleted":
            self._llm_call(fields)

    def _llm_call(self, fields: Mapping[str, Any]) -> None:
        registry = self.registry
        registry.llm_calls.labels(replayed=str(bool(fields["replayed"])).lower()).inc()
        for direction in ("in", "out"):
            tokens = fields[f"tokens_{direction}"]
            if tokens:
                registry.llm_tokens.labels(direction=f"{direction}put").inc(int(tokens))
        if not fields["replayed"]:
            registry.llm_cost.inc(float(Decimal(fields["cost"])))

    def _trading_state(self, current: str) -> None:
        for state in _STATES:
            self.registry.trading_state.labels(state=state).set(1 if state == current else 0)

    def observe_loop(
        self, *, ticks: int, lag_s: Decimal, exposure: Decimal, realized_pnl: Decimal, trading_state: str,
        circuits: Mapping[str, str], data_age_s: Mapping[str, Decimal | None],
    ) -> None:
        """The loop's status after a tick (values the events do not carry)."""
        registry = self.registry
        registry.count_ticks(ticks)
        registry.loop_lag.set(float(lag_s))
        registry.exposure.set(float(exposure))
        registry.realized_pnl.set(float(realized_pnl))
        self._trading_state(trading_state)
        for circuit, health in circuits.items():
            registry.circuit_state.labels(circuit=circuit).set(_CIRCUIT_LEVEL.get(health, 0))
        for symbol, age in data_age_s.items():
            if age is not None:
                registry.data_age.labels(symbol=symbol).set(float(age))


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: ARG002 - the http.server signature
        return  # scrapes are not telemetry


class MetricsServer:
    """Serves ``registry`` on ``http://host:port/metrics`` from a daemon thread (port 0: any free port);
    any other path is 404."""

    def __init__(self, registry: MetricsRegistry, host: str = "127.0.0.1", port: int = 0) -> None:
        self.registry = registry
        metrics_app = make_wsgi_app(registry.registry)

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if environ.get("PATH_INFO", "/") not in ("/metrics", "/"):
                start_response("404 Not Found", [("Content-Type", "text/plain")])
                return [b"not found: metrics are on /metrics\n"]
            return metrics_app(environ, start_response)  # type: ignore[no-any-return]

        self._server = make_server(host, port, app, ThreadingWSGIServer, handler_class=_QuietHandler)
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
