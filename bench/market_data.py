"""Market-data benchmark: OHLCV capture into SQLite, and the snapshot fan-out over many symbols.

    python bench/market_data.py [--candles N] [--batch B] [--symbols S] [--max-rows R] [--refreshes K]

Capture: N candles (default 1M) over S symbols (1m), written as the capture writes them: one unit of work
per capture of B candles (``candles.upsert`` of the batch, ``candles.prune`` to the newest R rows of each
key it touched, commit) into a SQLite file migrated by alembic. Only the store work is timed (candles are
built outside the clock). Then the last batch is captured again (every row a replacement) to show that a
repeated capture costs the same and adds no row.

Fan-out: ``MarketDataService.refresh`` over 20 symbols on the in-memory ``FakeExchange`` behind the
monitored port (candles and a quote per symbol, gathered concurrently), K times: microseconds per refresh
and per symbol, against the same fetches awaited one after another.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from trader_adapters.clock import SimulatedClock
from trader_adapters.memory import InMemoryStore
from trader_adapters.memory.exchange import FakeExchange
from trader_adapters.telemetry import RecordingTelemetry
from trader_app.storage import open_store
from trader_core.health import ExchangeHealthManager, MonitoredMarketData
from trader_core.market_data import MarketDataService
from trader_core.model import BotId, Candle, Symbol, Timeframe
from trader_core.model.health import HealthPolicy

T0 = datetime(2025, 1, 1, tzinfo=UTC)
M1 = Timeframe("1m")


def candles(symbol: Symbol, first: int, count: int) -> list[Candle]:
    """``count`` one-minute candles of ``symbol`` from minute ``first``."""
    out = []
    for minute in range(first, first + count):
        price = Decimal(20000 + minute % 977)
        out.append(Candle(symbol=symbol, timeframe=M1, open_time=T0 + timedelta(minutes=minute), open=price,
                          high=price + 5, low=price - 5, close=price + 1, volume=Decimal("1.25")))
    return out


def bench_capture(total: int, batch: int, symbol_count: int, max_rows: int) -> None:
    symbols = [Symbol.parse(f"S{i:02d}/USDT") for i in range(symbol_count)]
    per_symbol_batch = max(1, batch // symbol_count)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        store = open_store(url, BotId("bench"))
        written = 0
        spent = 0.0
        captures = 0
        minute = 0
        last: list[Candle] = []
        while written < total:
            last = [c for s in symbols for c in candles(s, minute, per_symbol_batch)]
            minute += per_symbol_batch
            started = time.perf_counter()
            with store.unit_of_work() as uow:
                uow.candles.upsert(last)
                for symbol in symbols:
                    uow.candles.prune(symbol, M1, keep=max_rows)
                uow.commit()
            spent += time.perf_counter() - started
            written += len(last)
            captures += 1
        started = time.perf_counter()
        with store.unit_of_work() as uow:
            uow.candles.upsert(last)
            for symbol in symbols:
                uow.candles.prune(symbol, M1, keep=max_rows)
            uow.commit()
        again = time.perf_counter() - started
        with store.unit_of_work() as uow:
            rows = sum(uow.candles.count(s, M1) for s in symbols)
        store.close()
    print("capture (SQLite, one unit of work per capture: upsert batch + prune each key + commit)")
    print(f"  N                {written}")
    print(f"  captures         {captures} x {len(last)} candles over {symbol_count} keys, keep {max_rows}/key")
    print(f"  store_s          {spent:.3f}")
    print(f"  candles_per_s    {written / spent:,.0f}")
    print(f"  us_per_candle    {spent / written * 1e6:.2f}")
    print(f"  ms_per_capture   {spent / captures * 1e3:.2f}")
    print(f"  recapture_ms     {again * 1e3:.2f}  (the last batch again: replaced, not added)")
    print(f"  rows_kept        {rows}  (= {symbol_count} keys x {max_rows})")


async def _fan_out(refreshes: int, symbol_count: int, *, concurrent: bool) -> float:
    clock = SimulatedClock(T0 + timedelta(minutes=10))
    symbols = tuple(Symbol.parse(f"F{i:02d}/USDT") for i in range(symbol_count))
    venue = FakeExchange(clock=clock, symbols=symbols)
    for symbol in symbols:
        venue.add_candles(candles(symbol, 0, 10))
        venue.set_quote(symbol, Decimal("99.99"), Decimal("100.01"), bid_size=Decimal(5), ask_size=Decimal(5))
    telemetry = RecordingTelemetry()
    manager = ExchangeHealthManager(InMemoryStore(BotId("bench")), clock, telemetry, HealthPolicy(), None,
                                    durable=False)
    market = MonitoredMarketData(manager, venue)
    service = MarketDataService(market, clock, symbols, M1, telemetry)
    await service.refresh()
    started = time.perf_counter()
    for _ in range(refreshes):
        if concurrent:
            await service.refresh()
        else:
            for symbol in symbols:
                await market.fetch_candles(symbol, M1, since=T0 + timedelta(minutes=10))
                await market.fetch_quote(symbol)
    return time.perf_counter() - started


def bench_fan_out(refreshes: int, symbol_count: int) -> None:
    gathered = asyncio.run(_fan_out(refreshes, symbol_count, concurrent=True))
    sequential = asyncio.run(_fan_out(refreshes, symbol_count, concurrent=False))
    print(f"snapshot fan-out (FakeExchange, {symbol_count} symbols, candles + quote each)")
    print(f"  N                {refreshes} refreshes")
    print(f"  us_per_refresh   {gathered / refreshes * 1e6:.1f}")
    print(f"  us_per_symbol    {gathered / refreshes / symbol_count * 1e6:.2f}")
    print(f"  sequential_us    {sequential / refreshes * 1e6:.1f}  (bare port calls, one after another)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candles", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000, help="candles per capture")
    parser.add_argument("--symbols", type=int, default=10, help="keys the capture candles spread over")
    parser.add_argument("--max-rows", type=int, default=1000)
    parser.add_argument("--refreshes", type=int, default=2000)
    args = parser.parse_args()
    bench_capture(args.candles, args.batch, args.symbols, args.max_rows)
    bench_fan_out(args.refreshes, 20)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
