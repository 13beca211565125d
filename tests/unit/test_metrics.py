"""The Prometheus exporter: a ``MetricsTelemetry`` sink counts events (and forwards them), the loop's status
sets gauges, and a stdlib HTTP server serves them over loopback in the text exposition format."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from trader_adapters.metrics import CONTENT_TYPE, MetricsServer, MetricsTelemetry
from trader_adapters.telemetry import RecordingTelemetry
from trader_core.model.events import (
    CircuitTripped,
    FillRecorded,
    LoopLagged,
    MarketDataFresh,
    OrderAcknowledged,
    OrderRejected,
    OrderSubmitted,
    TradingStateChanged,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "trader-core-dashboard.json"


Served = tuple[MetricsTelemetry, RecordingTelemetry, MetricsServer]


@pytest.fixture
def served() -> Iterator[Served]:
    inner = RecordingTelemetry()
    sink = MetricsTelemetry(inner, bot_id="b1", run_id="r1")
    server = MetricsServer(sink.registry, "127.0.0.1", 0).start()
    try:
        yield sink, inner, server
    finally:
        server.close()


def scrape(server: MetricsServer, path: str = "/metrics") -> tuple[str, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as response:
        return response.headers["Content-Type"], response.read().decode("utf-8")


def samples(text: str) -> dict[str, Decimal]:
    """``name{labels}`` -> value, for every sample line (comments left out)."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = Decimal(value)
    return out


def test_counters_and_gauges_from_events_are_served_over_loopback(served: Served) -> None:
    sink, inner, server = served
    events = [
        OrderSubmitted(at=T0, client_order_id="c1", symbol="BTC/USDT", side="buy", order_type="market",
                       quantity="0.1", price=None, role="entry", plan_id="p1"),
        OrderAcknowledged(at=T0, client_order_id="c1", venue_order_id="v1", status="open"),
        OrderSubmitted(at=T0, client_order_id="c2", symbol="BTC/USDT", side="buy", order_type="market",
                       quantity="0.1", price=None, role="entry", plan_id="p2"),
        OrderRejected(at=T0, client_order_id="c2", reason="insufficient balance"),
        FillRecorded(at=T0, trade_id="t1", fill_time=T0, client_order_id="c1", symbol="BTC/USDT", side="buy",
                     price="50000", quantity="0.1", fee="5", fee_asset="USDT", realized_pnl="0", plan_id="p1"),
        LoopLagged(at=T0, lag_s="2.500", duration_s="12.500", interval_s="10.000"),
        CircuitTripped(at=T0, circuit="exchange", site="fetch_ohlcv", error="down", threshold=3, paused_until=T0),
        TradingStateChanged(at=T0, previous="active", state="reducing", reason="circuit", source="health",
                            until=None),
        MarketDataFresh(at=T0, symbol="BTC/USDT", age_s="4.2", latency_ms="30"),
    ]
    for event in events:
        sink.emit(event)
    assert inner.events == events, "every event reaches the wrapped sink"

    content_type, text = scrape(server)
    assert content_type == CONTENT_TYPE
    got = samples(text)
    assert got['trader_orders_total{outcome="submitted"}'] == 2
    assert got['trader_orders_total{outcome="acknowledged"}'] == 1
    assert got['trader_orders_total{outcome="rejected"}'] == 1
    assert got["trader_fills_total"] == 1
    assert got["trader_loop_lag_seconds"] == Decimal("2.5")
    assert got["trader_loop_lagged_total"] == 1
    assert got['trader_circuit_state{circuit="exchange"}'] == 2
    assert got['trader_trading_state{state="reducing"}'] == 1
    assert got['trader_trading_state{state="active"}'] == 0
    assert got['trader_data_age_seconds{symbol="BTC/USDT"}'] == Decimal("4.2")
    assert got['trader_events_total{event="OrderSubmitted"}'] == 2
    assert got['trader_info{bot_id="b1",run_id="r1"}'] == 1
    assert "# TYPE trader_orders_total counter" in text
    assert "# TYPE trader_exposure gauge" in text
    assert re.search(r"^# HELP trader_realized_pnl .+$", text, re.MULTILINE)


def test_llm_calls_tokens_and_charged_cost_are_counted(served: Served) -> None:
    from trader_core.model.events import LlmCallCompleted

    sink, _, server = served
    sink.emit(LlmCallCompleted(at=T0, model="m", trace_id="t1", tokens_in=1200, tokens_out=80, cost="0.0048",
                               latency_ms=300, replayed=False))
    sink.emit(LlmCallCompleted(at=T0, model="m", trace_id="t2", tokens_in=None, tokens_out=None, cost="0",
                               latency_ms=200, replayed=False))
    sink.emit(LlmCallCompleted(at=T0, model="m", trace_id="t3", tokens_in=1000, tokens_out=50, cost="0.004",
                               latency_ms=1, replayed=True))
    got = samples(scrape(server)[1])
    assert got['trader_llm_calls_total{replayed="false"}'] == 2
    assert got['trader_llm_calls_total{replayed="true"}'] == 1
    assert got['trader_llm_tokens_total{direction="input"}'] == 2200
    assert got['trader_llm_tokens_total{direction="output"}'] == 130
    assert got["trader_llm_cost_usd_total"] == Decimal("0.0048"), "a cassette's answer is not charged again"


def test_the_loop_status_sets_ticks_exposure_pnl_circuits_and_data_age(served: Served) -> None:
    sink, _, server = served
    sink.observe_loop(ticks=42, lag_s=Decimal("0.000"), exposure=Decimal("5100.50"), realized_pnl=Decimal("-12.3"),
                      trading_state="halted", circuits={"exchange": "degraded", "tool": "ok"},
                      data_age_s={"BTC/USDT": Decimal("61.000"), "ETH/USDT": None})
    got = samples(scrape(server)[1])
    assert got["trader_ticks_total"] == 42
    assert got["trader_loop_lag_seconds"] == 0
    assert got["trader_exposure"] == Decimal("5100.5")
    assert got["trader_realized_pnl"] == Decimal("-12.3")
    assert got['trader_trading_state{state="halted"}'] == 1
    assert got['trader_circuit_state{circuit="exchange"}'] == 1
    assert got['trader_circuit_state{circuit="tool"}'] == 0
    assert got['trader_data_age_seconds{symbol="BTC/USDT"}'] == 61
    assert 'trader_data_age_seconds{symbol="ETH/USDT"}' not in got


def test_other_paths_are_not_found(served: Served) -> None:
    _, _, server = served
    with pytest.raises(urllib.error.HTTPError) as caught:
        scrape(server, "/admin")
    assert caught.value.code == 404
    assert server.port > 0


def test_a_failing_inner_sink_stops_nothing_and_counting_never_raises() -> None:
    class Broken:
        def emit(self, event: object) -> None:
            return  # the loguru sink swallows its own failures; a recorder stands in

    sink = MetricsTelemetry(Broken())
    sink.emit(LoopLagged(at=T0, lag_s="not a number", duration_s="x", interval_s="y"))
    assert sink.registry.value("trader_loop_lagged_total") == 1
    assert sink.registry.value("trader_loop_lag_seconds") == 0, "a lag that is not a number is not recorded"


def test_label_values_are_escaped() -> None:
    sink = MetricsTelemetry(None, bot_id='a"b', run_id="r\\1")
    text = sink.registry.render()
    assert samples(text)['trader_info{bot_id="a\\"b",run_id="r\\\\1"}'] == 1


def test_every_metric_the_grafana_dashboard_reads_is_served(served: Served) -> None:
    # The dashboard shipped in docs/ is only useful if each series it queries exists on a bot's endpoint.
    sink, _, server = served
    sink.emit(LoopLagged(at=T0, lag_s="1", duration_s="2", interval_s="1"))
    sink.emit(OrderRejected(at=T0, client_order_id="c1", reason="filter"))
    sink.observe_loop(ticks=1, lag_s=Decimal(0), exposure=Decimal(0), realized_pnl=Decimal(0),
                      trading_state="active", circuits={"exchange": "ok"}, data_age_s={"BTC/USDT": Decimal(1)})
    served_names = {key.split("{", 1)[0] for key in samples(scrape(server)[1])}
    dashboard = json.loads(DASHBOARD.read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\b((?:trader|process)_[a-z_]+)\b", target["expr"])
    }
    assert queried, "the dashboard queries something"
    assert queried <= served_names, f"queried but not served: {sorted(queried - served_names)}"


def test_the_process_collectors_are_served_beside_the_bots_metrics(served: Served) -> None:
    _, _, server = served
    names = {key.split("{", 1)[0] for key in samples(scrape(server)[1])}
    assert {"process_resident_memory_bytes", "process_cpu_seconds_total", "python_info"} <= names
