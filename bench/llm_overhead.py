"""The LLM strategy's own overhead, without the model's latency.

    python bench/llm_overhead.py [--decisions 2000] [--data FILE] [--candles N]

1. Per decision with 5 symbols (60 closed candles each in the prompt, 16,000-byte budget): prompt build, the call
   to an instant in-process chat model, answer parse, cost tracking and the stored call and trace (in-memory
   store). Prints p50 and p99 in ms (target p99 <= 2 ms).
2. With ``--data``: ``trader-app run --strategy llm`` over the file's first N candles (default all) against the
   loopback emulator, recording a cassette; then the same run replayed from the cassette (no call). Prints the
   wall time and candles/s of both, and of the same replay with ``--strategy sma`` for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from trader_adapters.llm.chat import ChatReply, ChatRequest
from trader_adapters.llm.strategy import LlmPolicy, LlmStrategy
from trader_adapters.memory.store import InMemoryStore
from trader_core.costs import LlmRates, LlmUsage
from trader_core.model import BotId, Candle, Quote, RunId, Symbol, Timeframe
from trader_core.ports import DecisionContext
from trader_sandbox.llm import start_llm_sandbox

APP = str(Path(sys.executable).parent / "trader-app")
T0 = datetime(2025, 1, 1, tzinfo=UTC)
SYMBOLS = tuple(Symbol.parse(s) for s in ("BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT"))
ANSWER = json.dumps({"signals": [{"action": "BUY", "symbol": "ETH/USDT", "notional": 100, "stop_pct": 1,
                                  "target_pct": 2}, {"action": "HOLD", "symbol": "BTC/USDT"}]})


class InstantChat:
    """A chat model that answers at once."""

    async def complete(self, request: ChatRequest) -> ChatReply:
        return ChatReply(content=ANSWER, usage=LlmUsage(len(request.messages[0]["content"]) // 4, 40))


def _context(minute: int) -> DecisionContext:
    def candle(symbol: Symbol, index: int) -> Candle:
        price = Decimal(1000 + (index * 7919) % 300) / 10  # wiggles: never chop
        return Candle(symbol=symbol, timeframe=Timeframe("1m"), open_time=T0 + timedelta(minutes=index), open=price,
                      high=price + 1, low=price - 1, close=price, volume=Decimal(index % 13))

    return DecisionContext(
        now=T0 + timedelta(minutes=minute + 1), candles=tuple((s, (candle(s, minute),)) for s in SYMBOLS),
        quotes=tuple(Quote(symbol=s, bid=Decimal(100), ask=Decimal("100.1"), last=Decimal(100), bid_size=Decimal(1),
                           ask_size=Decimal(1), observed_at=T0 + timedelta(minutes=minute + 1)) for s in SYMBOLS),
        may_enter=frozenset(SYMBOLS))


def per_decision(decisions: int) -> None:
    policy = LlmPolicy(model="bench", rates=LlmRates(Decimal("0.15"), Decimal("0.6")), budget=Decimal(1_000_000),
                       decision_interval=timedelta(minutes=1), min_call_interval=timedelta(0))
    strategy = LlmStrategy(policy, InstantChat(), SYMBOLS)
    strategy.bind(InMemoryStore(BotId("bench")), RunId("bench"), stop=lambda _r: None, now=T0)
    contexts = [_context(m) for m in range(decisions + 60)]
    timings = []

    async def go() -> None:
        for index, context in enumerate(contexts):
            started = time.perf_counter()
            await strategy.decide(context)
            if index >= 60:  # the first hour fills the candle windows
                timings.append((time.perf_counter() - started) * 1000)

    asyncio.run(go())
    timings.sort()
    p99 = timings[int(len(timings) * 0.99) - 1]
    print(f"per decision, 5 symbols x 60 candles: p50 {statistics.median(timings):.3f} ms, p99 {p99:.3f} ms "
          f"({len(timings)} decisions, {strategy.tracker.spend.calls} calls tracked)")


def _run(folder: Path, *args: str) -> float:
    started = time.perf_counter()
    result = subprocess.run([APP, "run", "--symbol", "BTC/USDT", "--log-dir", str(folder / "logs"), *args],
                            capture_output=True, text=True, check=False, cwd=folder)
    if result.returncode != 0:
        sys.exit(f"run failed: {result.stderr[-500:]}")
    return time.perf_counter() - started


def cassette_replay(data: Path, limit: int | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        lines = data.read_text().splitlines()
        body = lines[1:limit + 1] if limit else lines[1:]
        (folder / "data.csv").write_text("\n".join([lines[0], *body]) + "\n")
        emulator = start_llm_sandbox(script=[{"json": {"signals": [{"action": "BUY", "symbol": "BTC/USDT",
                                                                     "notional": 500, "stop_pct": 1,
                                                                     "target_pct": 1.5}]}}] * 50)
        try:
            common = ["--data", "data.csv", "--strategy", "llm", "--llm-model", "emu", "--llm-cassette", "tape.jsonl"]
            record = _run(folder, *common, "--llm-base-url", emulator.url, "--db", "sqlite:///rec.db")
            calls = len(emulator.requests)
            replay = _run(folder, *common, "--llm-cassette-mode", "replay", "--db", "sqlite:///rep.db")
            assert len(emulator.requests) == calls, "the replay called the model"
        finally:
            emulator.stop()
        sma = _run(folder, "--data", "data.csv", "--db", "sqlite:///sma.db")
        candles = len(body)
        print(f"{candles} candles, {calls} model calls recorded")
        for name, seconds in (("record (emulator)", record), ("cassette replay", replay), ("sma replay", sma)):
            print(f"  {name:18} {seconds:7.1f} s  {candles / seconds:9.0f} candles/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--data", type=Path, help="candle CSV to record and replay (e.g. the real BTC/USDT file)")
    parser.add_argument("--candles", type=int, help="only the first N candles of --data")
    args = parser.parse_args()
    per_decision(args.decisions)
    if args.data:
        cassette_replay(args.data, args.candles)


if __name__ == "__main__":
    main()
