"""A paper, sandbox or live run's report marks equity at the candles the bot captured while it ran (OHLCV capture,
on by default), not only at its own fills: a fall inside an open position shows in the drawdown."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from tests.unit.trading_bot import BTC, T0, Bot, make_bot
from trader_app.api.sources import StoreReports
from trader_app.cli import main
from trader_app.reporting import gather
from trader_app.storage import open_store
from trader_app.stored_runs import find_run
from trader_app.summary import EquityCurve, equity
from trader_core.model import Action, BotId, Candle, RunId, Timeframe

TF = Timeframe("1m")


def _candle(minute: int, close: int) -> Candle:
    price = Decimal(close)
    return Candle(symbol=BTC, timeframe=TF, open_time=T0 + timedelta(minutes=minute), open=price, high=price,
                  low=price, close=price, volume=Decimal(1))


def _round_trip_with_a_dip(*, captured: bool, store: Any = None) -> Bot:
    """Buy at 50,000, the price falls to 40,000 for a while and comes back, sell at 50,500 two hours later; the
    bot's capture stores the minutes in between when ``captured``."""
    bot = make_bot(store=store)
    assert bot.act(Action.BUY, BTC).status.value == "order_open"
    bot.tick(minutes=0)
    bot.clock.advance(timedelta(hours=2))
    bot.venue.set_price(BTC, Decimal(50500))
    bot.act(Action.CLOSE_POSITION, BTC)
    bot.tick(minutes=0)
    if captured:
        dip = [_candle(m, 50000 - 10000 * min(m, 120 - m) // 60) for m in range(1, 119)]
        with bot.store.unit_of_work() as uow:
            uow.candles.upsert(dip)
            uow.commit()
    return bot


def _report_of(bot: Bot) -> tuple[Decimal, int]:
    with bot.store.unit_of_work() as uow:
        stored = find_run(uow, "r1", prices=True)
    assert stored is not None
    inputs = gather(stored.record, stored.plans, stored.fills, (), captured=stored.captured)
    return inputs.report.drawdown.pct, len(inputs.equity)


def test_a_fall_inside_an_open_position_shows_in_the_drawdown_of_a_run_whose_candles_were_captured() -> None:
    flat, points_flat = _report_of(_round_trip_with_a_dip(captured=False))
    deep, points = _report_of(_round_trip_with_a_dip(captured=True))
    assert points == points_flat + 118, "one equity mark per captured candle, beside those at the fills"
    assert flat < Decimal("0.1"), "marked at its fills only, the run never looked down"
    # About 0.02 BTC held while BTC fell 20 %: ~200 USDT of 10,000.
    assert Decimal("1.5") < deep < Decimal("2.5")


def test_candles_captured_before_the_run_started_or_after_it_ended_do_not_mark_it() -> None:
    bot = _round_trip_with_a_dip(captured=False)
    with bot.store.unit_of_work() as uow:
        uow.candles.upsert([_candle(-30, 30000), _candle(60 * 24, 30000)])
        record = uow.runs.find(RunId("r1"))
        assert record is not None
        uow.runs.update(attrs.evolve(record, finished_at=T0 + timedelta(hours=3), config_json=json.dumps({})))
        uow.commit()
    deep, points = _report_of(bot)
    assert points == 2, "marked at its two fills only: the candles fall outside its span"
    assert deep < Decimal("0.1")


def test_trader_app_report_marks_a_venue_runs_equity_at_its_captured_candles(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'trader.db'}"
    store = open_store(url, BotId("test"))
    try:
        _round_trip_with_a_dip(captured=True, store=store)
    finally:
        store.close()
    out = tmp_path / "report.json"
    assert main(["report", "--db", url, "--bot", "test", "--run", "r1", "--json", str(out)]) == 0
    marked = Decimal(json.loads(out.read_text())["drawdown"]["pct"])
    assert Decimal("1.5") < marked < Decimal("2.5")


def test_the_apis_metrics_mark_a_venue_runs_equity_at_its_captured_candles_and_follow_new_ones() -> None:
    bot = _round_trip_with_a_dip(captured=False)
    reports = StoreReports(lambda _bot: bot.store)
    first = reports.metrics("test", "r1", None, None)
    assert first is not None
    assert Decimal(first["drawdown"]["pct"]) < Decimal("0.1")
    dip = [_candle(m, 50000 - 10000 * min(m, 120 - m) // 60) for m in range(1, 119)]
    with bot.store.unit_of_work() as uow:  # the capture goes on while the bot runs
        uow.candles.upsert(dip)
        uow.commit()
    later = reports.metrics("test", "r1", None, None)
    assert later is not None
    assert Decimal("1.5") < Decimal(later["drawdown"]["pct"]) < Decimal("2.5"), "not the report kept from before"


def test_a_tick_without_a_holdings_price_marks_it_at_cost_not_as_a_drawdown_of_its_whole_value() -> None:
    bot = make_bot()
    assert bot.buy() == "order_open"
    bot.tick()  # 0.02 BTC held, bought for 1000 (fee 1)
    curve = EquityCurve()
    tracker = bot.services.tracker
    curve.mark(equity(Decimal(10000), tracker, {BTC: Decimal(50000)}))
    # A restarted bot whose first BTC fetch failed, or the summary of a run that never priced BTC.
    assert equity(Decimal(10000), tracker, {}) == Decimal(9999)
    curve.mark(equity(Decimal(10000), tracker, {}))
    assert curve.max_drawdown_pct == 0, "no price is not a 10 % fall"
