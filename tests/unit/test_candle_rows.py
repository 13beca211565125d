"""Compact candle rows: the same candles and the same one-line errors as the plain loader, and a replay market
over them reveals the same data."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

from trader_adapters.clock import SimulatedClock
from trader_adapters.feeds.csv_feed import load_candle_rows, load_candles_csv
from trader_adapters.paper.replay import ReplayMarket
from trader_core.model import ConfigError, Symbol, Timeframe

BTC = Symbol.parse("BTC/USDT")
HEADER = "timestamp_ms,open,high,low,close,volume\n"
T0 = 1_747_699_200_000


def _write(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "candles.csv"
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows))
    return path


def _rows(count: int, gap_after: int | None = None) -> list[str]:
    rows, at = [], T0
    for i in range(count):
        price = 100 + i % 7
        rows.append(f"{at},{price},{price + 1.5},{price - 0.25},{price + 0.5},{i + 1}.125")
        at += 60_000 * (181 if i == gap_after else 1)
    return rows


def test_rows_hold_the_same_candles_as_the_plain_loader(tmp_path: Path) -> None:
    path = _write(tmp_path, _rows(1500, gap_after=700))
    plain = load_candles_csv(path, BTC)
    rows = load_candle_rows(path, BTC)
    assert rows.timeframe == Timeframe("1m")
    assert len(rows) == len(plain)
    assert list(rows) == list(plain)
    assert rows[-1] == plain[-1]
    assert rows[10:20] == plain[10:20]
    with pytest.raises(IndexError):
        rows[len(plain)]


@pytest.mark.parametrize("bad", [
    ["1747699200000,100,101,99,100,1", "1747699200000,100,101,99,100,1"],  # duplicate
    ["1747699200000,100,101,99,100,1", "1747699260000,100,99,101,100,1"],  # high below low
    ["1747699200000,100,101,99,100"],  # five columns
    [f"{4_102_444_800_000},100,101,99,100,1"],  # 2100: in the future
])
def test_rows_refuse_what_the_plain_loader_refuses_with_the_same_line(tmp_path: Path, bad: list[str]) -> None:
    path = _write(tmp_path, bad)
    now = datetime(2026, 12, 3, tzinfo=UTC)
    with pytest.raises(ConfigError) as plain:
        load_candles_csv(path, BTC, Timeframe("1m"), now=now)
    with pytest.raises(ConfigError) as rows:
        load_candle_rows(path, BTC, Timeframe("1m"), now=now)
    assert str(rows.value) == str(plain.value)


def test_a_replay_market_over_rows_reveals_what_it_reveals_over_candles(tmp_path: Path) -> None:
    path = _write(tmp_path, _rows(300))
    plain, rows = load_candles_csv(path, BTC), load_candle_rows(path, BTC)
    start = plain[0].close_time + timedelta(minutes=120)
    seen = []
    for series in (plain, rows):
        market = ReplayMarket({BTC: series}, SimulatedClock(start))
        seen.append(asyncio.run(market.fetch_candles(BTC, Timeframe("1m"), limit=50)))
        last = series[-1]
        market.append(attrs.evolve(last, open_time=last.open_time + timedelta(minutes=1)))  # live feeding
        assert market.end_time == last.close_time + timedelta(minutes=1)
        assert len(series) == 300, "appending to the market leaves the loaded series as it was"
    assert seen[0] == seen[1]
    assert len(seen[0]) == 50


def test_candles_since_a_time_are_the_same_over_rows_and_over_candles(tmp_path: Path) -> None:
    path = _write(tmp_path, _rows(400, gap_after=100))
    plain, rows = load_candles_csv(path, BTC), load_candle_rows(path, BTC)
    clock = SimulatedClock(plain[-1].close_time)
    markets = [ReplayMarket({BTC: series}, clock) for series in (plain, rows)]
    for since in (plain[0].open_time, plain[50].open_time + timedelta(microseconds=1),
                  plain[101].open_time - timedelta(minutes=90), plain[-1].open_time, plain[-1].close_time):
        found = [asyncio.run(m.fetch_candles(BTC, Timeframe("1m"), since=since, limit=30)) for m in markets]
        assert found[0] == found[1], since
