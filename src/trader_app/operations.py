"""Operations wiring for ``trader-app run``: the Prometheus endpoint (``--metrics-port``), fed by a
``MetricsTelemetry`` sink wrapped around the loguru sink and by the loop's status after each tick."""

from __future__ import annotations

from trader_adapters.metrics import MetricsRegistry, MetricsServer, MetricsTelemetry
from trader_app.loop_status import LoopStatus
from trader_core.ports import Telemetry

__all__ = ["Metrics"]


class Metrics:
    """The endpoint (started at once: a port in use fails before trading); each run's telemetry passes through
    a counting sink."""

    def __init__(self, host: str, port: int) -> None:
        self.registry = MetricsRegistry()
        self.sink: MetricsTelemetry | None = None
        self.server = MetricsServer(self.registry, host, port).start()

    def wrap(self, inner: Telemetry, bot_id: str, run_id: str) -> Telemetry:
        """``inner`` behind a counting sink."""
        self.sink = MetricsTelemetry(inner, registry=self.registry, bot_id=bot_id, run_id=run_id)
        return self.sink

    def observe(self, status: LoopStatus) -> None:
        """The loop's status after a tick."""
        if self.sink is not None:
            self.sink.observe_loop(
                ticks=status.ticks, lag_s=status.lag_s, exposure=status.exposure, realized_pnl=status.realized_pnl,
                trading_state=status.trading_state,
                circuits={name: str(c.get("health", "ok")) for name, c in status.circuits.items()},
                data_age_s=status.data_age_s,
            )

    def close(self) -> None:
        """Stop serving."""
        self.server.close()
