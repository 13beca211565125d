"""Decision latency: one tick of the loop with 5 symbols, everything but the network.

    python bench/decision_latency.py [--candles 3000] [--fast 5 --slow 20] [--no-freeze] [--no-maintain]

The venue is the in-memory paper venue over synthetic 1m candles (fills at the next candle's open), the store
is SQLite in a temporary folder (one unit of work per fill: no replay batching here, as a live bot), telemetry
is recorded in memory. Each tick (market view, sync, protection, strategy, actions, equity mark) is timed on its
own and classed by what it did: nothing sent or booked ("quiet"), one order placed ("order placed"), one fill
booked ("fill booked", which then places the plan's protection: a stop and a target), or several of either in one
tick, on several symbols ("orders placed", "fills booked": not what the targets speak of, shown apart). Prints
p50 / p99 / max per class in ms. As `trader-app run` does for a venue run, the heap alive after start-up is frozen
out of the collector (`--no-freeze`: not) and the store tidies up between ticks (`--no-maintain`: not; SQLite
then checkpoints its write-ahead log inside whichever commit fills it).
Targets (issue 14): p99 <= 1 ms quiet, <= 5 ms with an order placed and filled.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from trader_adapters.feeds.synthetic import generate_candles
from trader_adapters.strategies.sma_cross import SmaCross
from trader_adapters.telemetry import RecordingTelemetry
from trader_app.bootstrap import build_replay, enable_decimal_traps
from trader_app.heap import freeze_startup_heap
from trader_app.settings import load_settings
from trader_app.storage import open_store
from trader_core.model import RunStatus, Symbol, Timeframe
from trader_core.model.events import FillRecorded, OrderSubmitted

SYMBOLS = ("ADA/USDT", "BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT")


def percentile(samples: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``samples`` by nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def measure(candles: int, fast: int, slow: int, folder: Path, *,
                  freeze: bool = True, maintain: bool = True) -> dict[str, list[float]]:
    """Tick by tick over ``candles`` minutes of 5 symbols; milliseconds per tick by class."""
    url = f"sqlite:///{folder / 'latency.db'}"
    settings = load_settings({"symbols": list(SYMBOLS), "db": url, "stake": "500", "balance": "100000"},
                             environ={})
    start = datetime(2025, 1, 1, tzinfo=UTC)
    series = {Symbol.parse(s): generate_candles(Symbol.parse(s), Timeframe("1m"), start, candles, seed)
              for seed, s in enumerate(SYMBOLS, start=7)}
    store = open_store(url, settings.bot)
    telemetry = RecordingTelemetry()
    replay = await build_replay(settings, series, store, telemetry_factory=lambda _run: telemetry,
                                strategy=SmaCross(fast=fast, slow=slow, stop_pct=Decimal(1), target_pct=Decimal(2)))
    loop = replay.orchestrator
    classes: dict[str, list[float]] = {"quiet": [], "order placed": [], "fill booked": [], "orders placed": [],
                                       "fills booked": []}
    await loop.start()
    if freeze:
        freeze_startup_heap()  # as `trader-app run` does once a venue run has started
    assert loop.until is not None
    while loop.clock.now() <= loop.until:
        seen = len(telemetry.events)
        began = time.perf_counter()
        await loop.tick()
        spent = (time.perf_counter() - began) * 1000
        events = telemetry.events[seen:]
        fills = sum(isinstance(e, FillRecorded) for e in events)
        orders = sum(isinstance(e, OrderSubmitted) for e in events)
        key = (("fill booked" if fills == 1 else "fills booked") if fills
               else ("order placed" if orders == 1 else "orders placed") if orders else "quiet")
        classes[key].append(spent)
        if maintain:
            store.maintain()  # between ticks, as a venue run's loop does (a replay's does not)
        await loop.sleep(loop.next_sleep())
    loop.finish(RunStatus.FINISHED, Decimal(0))
    store.close()
    return classes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candles", type=int, default=3000, help="minutes of candles per symbol")
    parser.add_argument("--fast", type=int, default=5)
    parser.add_argument("--slow", type=int, default=20)
    parser.add_argument("--no-freeze", action="store_true", help="leave the start-up heap to the collector")
    parser.add_argument("--no-maintain", action="store_true",
                        help="no store housekeeping between ticks (SQLite checkpoints land in ticks)")
    args = parser.parse_args()
    enable_decimal_traps()
    with tempfile.TemporaryDirectory() as folder:
        classes = asyncio.run(measure(args.candles, args.fast, args.slow, Path(folder), freeze=not args.no_freeze,
                                         maintain=not args.no_maintain))
    print(f"ticks of 5 symbols, SQLite store, in-memory paper venue ({args.candles} candles per symbol)")
    print(f"{'class':<14}{'ticks':>8}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name, samples in classes.items():
        if samples:
            print(f"{name:<14}{len(samples):>8}{percentile(samples, 0.5):>10.3f}{percentile(samples, 0.99):>10.3f}"
                  f"{max(samples):>10.3f}")


if __name__ == "__main__":
    main()
