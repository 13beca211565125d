"""What the replay's progress display costs: the same replay with no progress, plain lines, and the rich bar
(drawn into a terminal that discards its output), interleaved, several rounds.

    python bench/progress.py [--data FILE.csv | --candles N] [--rounds 3]

Prints the loop time of each variant per round and the median ratio against "none".
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from trader_adapters.feeds.csv_feed import load_candles_csv
from trader_adapters.feeds.synthetic import generate_candles
from trader_adapters.memory import InMemoryStore
from trader_adapters.strategies.sma_cross import SmaCross
from trader_adapters.telemetry import RecordingTelemetry
from trader_app.bootstrap import build_replay, enable_decimal_traps
from trader_app.settings import load_settings
from trader_app.terminal import JobProgress
from trader_core.model import BotId, Candle, Symbol, Timeframe


class _DiscardingTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)


def _replay(candles: tuple[Candle, ...], symbol: Symbol, progress: JobProgress | None) -> float:
    settings = load_settings({"symbols": [str(symbol)]}, environ={})
    telemetry = RecordingTelemetry()
    on_tick: Callable[[int], None] | None = None if progress is None else progress
    wired = asyncio.run(build_replay(
        settings, {symbol: candles}, InMemoryStore(BotId("bench")), telemetry_factory=lambda _run: telemetry,
        strategy=SmaCross(fast=60, slow=240, stop_pct=settings.stop_pct, target_pct=settings.target_pct),
        on_tick=on_tick,
    ))
    started = time.perf_counter()
    asyncio.run(wired.orchestrator.run_until_stopped(lambda: Decimal(0)))
    elapsed = time.perf_counter() - started
    if progress is not None:
        progress.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="candle CSV (one symbol)")
    parser.add_argument("--candles", type=int, default=50_000, help="synthetic candles when no --data")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    enable_decimal_traps()
    symbol = Symbol.parse("BTC/USDT")
    candles = (load_candles_csv(args.data, symbol) if args.data else
               generate_candles(symbol, Timeframe("1m"), datetime(2025, 1, 1, tzinfo=UTC), args.candles, 42))
    n = len(candles)
    variants: dict[str, Callable[[], JobProgress | None]] = {
        "none": lambda: None,
        "plain": lambda: JobProgress("replay", n, "candles", stream=io.StringIO()),
        "bar": lambda: JobProgress("replay", n, "candles", stream=_DiscardingTerminal()),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for round_number in range(1, args.rounds + 1):
        for name, make in variants.items():
            times[name].append(_replay(candles, symbol, make()))
        print(f"round {round_number}: " + "  ".join(f"{name} {times[name][-1]:.3f} s" for name in variants))
    base = statistics.median(times["none"])
    print(f"N {n}")
    for name in variants:
        median = statistics.median(times[name])
        print(f"{name:<6} median {median:.3f} s  ratio {median / base:.3f}")


if __name__ == "__main__":
    main()
