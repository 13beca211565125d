"""Replay benchmark: the full path (strategy, orders, fills, accounting, persistence) over candles.

    python bench/replay.py [--data FILE.csv | --candles N] [--store sqlite|memory] [--symbol BTC/USDT]

Prints N, candles per second, per-candle cost and peak memory (tracemalloc-free: ru_maxrss).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from trader_adapters.feeds.csv_feed import load_candles_csv
from trader_adapters.feeds.synthetic import generate_candles
from trader_adapters.memory import InMemoryStore
from trader_adapters.strategies.sma_cross import SmaCross
from trader_adapters.telemetry import RecordingTelemetry
from trader_app.bootstrap import build_replay, enable_decimal_traps
from trader_app.settings import load_settings
from trader_app.storage import open_store
from trader_core.model import BotId, Symbol, Timeframe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="candle CSV (one symbol)")
    parser.add_argument("--candles", type=int, default=130_000, help="synthetic candles when no --data")
    parser.add_argument("--symbol", default="BTC/USDT")
    parser.add_argument("--store", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument("--fast", type=int, default=10, help="fast SMA length")
    parser.add_argument("--slow", type=int, default=30, help="slow SMA length")
    args = parser.parse_args()
    enable_decimal_traps()
    symbol = Symbol.parse(args.symbol)

    started = time.perf_counter()
    if args.data:
        candles = load_candles_csv(args.data, symbol)
    else:
        candles = generate_candles(symbol, Timeframe("1m"), datetime(2025, 1, 1, tzinfo=UTC), args.candles, 42)
    loaded = time.perf_counter()

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        settings = load_settings({"symbols": [args.symbol], "db": url}, environ={})
        store = open_store(url, settings.bot) if args.store == "sqlite" else InMemoryStore(BotId("bench"))
        telemetry = RecordingTelemetry()
        replay = asyncio.run(build_replay(
            settings, {symbol: candles}, store, telemetry_factory=lambda _run: telemetry,
            strategy=SmaCross(fast=args.fast, slow=args.slow, stop_pct=settings.stop_pct,
                              target_pct=settings.target_pct),
        ))
        looped = time.perf_counter()
        summary = asyncio.run(replay.orchestrator.run_until_stopped(lambda: Decimal(0)))
        finished = time.perf_counter()
        store.close()

    n = len(candles)
    loop_s = finished - looped
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"store            {args.store}")
    print(f"N                {n}")
    print(f"load_s           {loaded - started:.3f}")
    print(f"loop_s           {loop_s:.3f}")
    print(f"total_s          {finished - started:.3f}")
    print(f"candles_per_s    {n / loop_s:,.0f}")
    print(f"us_per_candle    {loop_s / n * 1e6:.1f}")
    print(f"peak_rss_mb      {peak_mb:.0f}")
    print(f"fills            {summary.fills}")
    print(f"round_trips      {summary.round_trips}")
    print(f"events           {len(telemetry.events)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
