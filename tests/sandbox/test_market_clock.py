"""The emulator's market clock: server time, candle times and the price walk agree on one time, real or
accelerated, and a candle CSV is rebased onto it."""

from __future__ import annotations

import itertools
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trader_sandbox.clock import MarketClock, PricePath, rebase
from trader_sandbox.fixtures import Candle
from trader_sandbox.testing import ccxt_client, running_sandbox

SYM = "BTC/USDT"
HISTORICAL = 1_600_000_000_000  # September 2020


def _csv(path: Path, rows: int) -> Path:
    lines = ["timestamp_ms,open,high,low,close,volume"]
    for i in range(rows):
        price = 100 + i % 7
        lines.append(f"{HISTORICAL + i * 60_000},{price},{price + 1},{price - 1},{price + 0.5},10")
    path.write_text("\n".join(lines) + "\n")
    return path


class _Wall:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_an_accelerated_clock_runs_speed_times_the_wall_clock() -> None:
    wall = _Wall(1_000.0)
    clock = MarketClock(60, wall=wall)
    start = clock.now_ms()
    wall.t += 2.5
    assert clock.now_ms() - start == 150_000
    assert MarketClock(None, wall=wall).now_ms() == 1_002_500
    with pytest.raises(ValueError, match="positive"):
        MarketClock(0)


@given(rows=st.integers(2, 50), history=st.integers(1, 60), now=st.integers(10**12, 2 * 10**12))
def test_rebase_puts_the_last_revealed_candle_at_now(rows: int, history: int, now: int) -> None:
    candles = [Candle(HISTORICAL + i * 60_000, Decimal(1), Decimal(1), Decimal(1), Decimal(1), Decimal(1))
               for i in range(rows)]
    moved = rebase(candles, now, history)
    last = moved[min(history, rows) - 1]
    assert last.time <= now < last.time + 60_000
    assert last.time % 60_000 == 0
    assert [b.time - a.time for a, b in itertools.pairwise(moved)] == [60_000] * (rows - 1)


def test_a_price_path_is_walked_as_the_clock_reaches_each_point() -> None:
    path = PricePath()
    candle = Candle(0, Decimal(10), Decimal(12), Decimal(9), Decimal(11), Decimal(1))
    path.schedule(candle, 60_000, [Decimal(10), Decimal(9), Decimal(12), Decimal(11)])
    assert path.due(0) == [Decimal(10)]
    assert path.due(11_999) == []
    assert path.due(24_000) == [Decimal(9), Decimal(12)]
    assert not path.empty
    assert path.due(60_000) == [Decimal(11)]
    assert path.empty


def test_csv_candles_are_rebased_onto_the_server_clock(tmp_path: Path) -> None:
    with running_sandbox(data=_csv(tmp_path / "btc.csv", 30), history=10) as sb:
        ex = ccxt_client(sb)
        server = ex.fetch_time()
        bars = ex.fetch_ohlcv(SYM, "1m")
        assert len(bars) == 10
        assert bars[-1][0] <= server < bars[-1][0] + 60_000, "the newest candle is the one forming now"
        assert server - bars[-2][0] < 120_000, "the last closed candle is fresh, not from 2020"


def _closed(bars: list[list[Any]], now: int) -> list[list[Any]]:
    return [b for b in bars if b[0] + 60_000 <= now]


def test_at_speed_candles_are_revealed_as_the_market_clock_reaches_them(tmp_path: Path) -> None:
    with running_sandbox(data=_csv(tmp_path / "btc.csv", 200), history=10, speed=600) as sb:
        ex = ccxt_client(sb)
        wall0, server0 = time.time(), ex.fetch_time()
        first = _closed(ex.fetch_ohlcv(SYM, "1m"), server0)
        time.sleep(1.0)  # ten market minutes
        server1 = ex.fetch_time()
        elapsed_wall = time.time() - wall0
        assert 550_000 <= server1 - server0 <= elapsed_wall * 600_000 + 1_000
        bars = ex.fetch_ohlcv(SYM, "1m")
        closed = _closed(bars, server1)
        assert 8 <= len(closed) - len(first) <= 12, "about one candle per market minute"
        assert bars[-1][0] <= server1 < bars[-1][0] + 60_000, "candles never run ahead of the server time"
        assert all(b[0] <= server1 for b in bars)
        ex.fetch_balance()  # signed requests stamped on the server clock pass the recvWindow check


def test_a_stop_triggers_when_the_clock_walks_the_price_through_it(tmp_path: Path) -> None:
    with running_sandbox(data=_csv(tmp_path / "btc.csv", 200), history=10, speed=600) as sb:
        ex = ccxt_client(sb)
        ex.load_markets()
        # The CSV's lows go down to 99 within every seven candles; a sell stop at 99.5 is reached soon.
        order = ex.create_order(SYM, "STOP_LOSS_LIMIT", "sell", 0.1, 99.0, {"stopPrice": 99.5})
        deadline = time.monotonic() + 5
        while ex.fetch_order(order["id"], SYM)["status"] != "closed":
            assert time.monotonic() < deadline, "the stop never triggered"
            time.sleep(0.1)
        trade = ex.fetch_my_trades(SYM)[-1]
        assert trade["timestamp"] <= ex.fetch_time(), "filled at a market time, not in the future"


def test_a_clock_skew_moves_the_server_time_but_never_dates_a_trade_in_the_past() -> None:
    # The skew stands for a client clock that drifted: a venue's trades stay in time order, else a client
    # reading trades from a cursor (its last trade's time) would never see one stamped before it.
    with running_sandbox() as sb:
        ex = ccxt_client(sb)
        ex.load_markets()
        ex.create_order(SYM, "market", "buy", 0.001)
        first = ex.fetch_my_trades(SYM)[-1]["timestamp"]
        sb.set_clock_skew(-20_000)
        assert ex.fetch_time() < first
        ex.options["timeDifference"] = 20_000  # a client that followed the venue's answer signs 20 s back
        order = ex.create_order(SYM, "market", "buy", 0.001)
        (second,) = [t["timestamp"] for t in ex.fetch_my_trades(SYM) if t["order"] == order["id"]]
        assert second >= first
