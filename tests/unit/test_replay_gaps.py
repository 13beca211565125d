"""A hole in the replayed candles is crossed in one step and reported once (``DataGap`` with its length); a
position held across it meets the first candle after it as a live bot meets the market after an outage: its
stop, gapped through, fills at that candle's open."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from trader_adapters.memory import InMemoryStore
from trader_adapters.strategies.sma_cross import SmaCross
from trader_adapters.telemetry import RecordingTelemetry
from trader_app.bootstrap import build_replay
from trader_app.settings import load_settings
from trader_core.model import BotId, Candle, Symbol, Timeframe
from trader_core.model.events import DataGap, FillRecorded, PlanClosed, PlanOpened

SYMBOL = Symbol.parse("BTC/USDT")
MINUTE = Timeframe("1m")
START = datetime(2025, 1, 1, tzinfo=UTC)
HOLE = timedelta(hours=3)


def _candle(at: datetime, open_: str, close: str) -> Candle:
    o, c = Decimal(open_), Decimal(close)
    return Candle(symbol=SYMBOL, timeframe=MINUTE, open_time=at, open=o, high=max(o, c), low=min(o, c), close=c,
                  volume=Decimal(5))


def _series() -> list[Candle]:
    """40 falling minutes, 5 rising ones (the fast SMA crosses above: an entry), 3 hours of nothing, then
    the market 10 % lower for 30 minutes."""
    candles, price = [], Decimal(100)
    for minute in range(45):
        step = Decimal("-0.05") if minute < 40 else Decimal("0.4")
        candles.append(_candle(START + timedelta(minutes=minute), str(price), str(price + step)))
        price += step
    resume = candles[-1].close_time + HOLE
    candles += [_candle(resume + timedelta(minutes=m), "90", "90") for m in range(30)]
    return candles


def _replay(candles: Sequence[Candle]) -> tuple[RecordingTelemetry, int]:
    settings = load_settings({"symbols": ["BTC/USDT"]}, environ={})
    telemetry = RecordingTelemetry()
    replay = asyncio.run(build_replay(
        settings, {SYMBOL: candles}, InMemoryStore(BotId("test")), telemetry_factory=lambda _run: telemetry,
        strategy=SmaCross(fast=2, slow=5, stop_pct=Decimal(1), target_pct=Decimal(2)),
    ))
    asyncio.run(replay.orchestrator.run_until_stopped(lambda: Decimal(0)))
    return telemetry, replay.orchestrator.ticks


def test_a_hole_is_crossed_in_one_step_and_reported_once_with_its_length() -> None:
    candles = _series()
    telemetry, ticks = _replay(candles)
    gaps = telemetry.of_type(DataGap)
    assert len(gaps) == 1
    gap = gaps[0]
    assert isinstance(gap, DataGap)
    resumed = candles[45]
    assert gap.length_s == str(int(HOLE.total_seconds()))
    assert gap.missing == 180
    assert gap.resumed_at == resumed.open_time.isoformat()
    assert gap.last_close == candles[44].close_time.isoformat()
    assert gap.at == resumed.close_time
    assert ticks <= len(candles) + 1  # one tick per candle, not one per empty minute of the hole


def test_a_position_held_across_the_hole_exits_at_the_first_open_after_it() -> None:
    candles = _series()
    telemetry, _ = _replay(candles)
    opened = telemetry.of_type(PlanOpened)
    assert len(opened) == 1, "the rising minutes before the hole should open one plan"
    resumed = candles[45]
    exits = [e for e in telemetry.of_type(FillRecorded) if isinstance(e, FillRecorded) and e.side == "sell"]
    assert len(exits) == 1
    assert exits[0].fill_time == resumed.open_time
    assert Decimal(exits[0].price) == resumed.open  # the stop was gapped through: filled at the open
    closed = telemetry.of_type(PlanClosed)
    assert [e.exit_reason for e in closed if isinstance(e, PlanClosed)] == ["stop"]


def test_contiguous_candles_report_no_gap() -> None:
    candles = _series()[:45]
    telemetry, ticks = _replay(candles)
    assert telemetry.of_type(DataGap) == []
    assert ticks <= len(candles) + 1
