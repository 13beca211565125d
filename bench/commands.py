"""Command pick-up latency: how long an operator command waits before the running bot acknowledges it.

    python bench/commands.py [--n 5] [--interval 60]

Starts the emulator and a bot against it (`trader-app run --exchange binance --sandbox-url ...` with a long
loop interval), then sends `trader-app command pause/resume --wait` N times and prints the latencies
(wall time from sending to the bot's acknowledgement), then stops the bot with `command stop --wait`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from trader_sandbox.testing import running_sandbox

APP = str(Path(sys.executable).parent / "trader-app")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5)
    parser.add_argument("--interval", type=int, default=60, help="the bot's loop interval, seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, running_sandbox(candle_ms=1000, history=60) as sandbox:
        sandbox.start_timer(1.0)
        env = {**os.environ, "TRADER_EXCHANGE__API_KEY": sandbox.api_key, "TRADER_EXCHANGE__SECRET": sandbox.secret}
        db = f"sqlite:///{Path(folder) / 'bench.db'}"
        bot = subprocess.Popen(
            [APP, "run", "--exchange", "binance", "--sandbox-url", sandbox.url, "--symbol", "BTC/USDT",
             "--timeframe", "1s", "--interval", str(args.interval), "--db", db],
            cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(4)  # start-up: markets, reconciliation, first tick; then the bot sleeps `interval`
        latencies = []
        for number in range(args.n):
            name = "pause" if number % 2 == 0 else "resume"
            started = time.perf_counter()
            result = subprocess.run([APP, "command", name, "--db", db, "--wait", "--timeout", "30"],
                                    cwd=folder, capture_output=True, text=True, check=False)
            latencies.append(time.perf_counter() - started)
            if result.returncode != 0:
                print(f"command {name} failed: {result.stdout}{result.stderr}", file=sys.stderr)
        started = time.perf_counter()
        subprocess.run([APP, "command", "stop", "--db", db, "--wait", "--timeout", "60"], cwd=folder,
                       capture_output=True, check=False)
        stop_s = time.perf_counter() - started
        bot.wait(timeout=60)
    print(f"N                 {len(latencies)}")
    print(f"loop_interval_s   {args.interval}")
    print(f"pickup_p50_s      {statistics.median(latencies):.2f}")
    print(f"pickup_max_s      {max(latencies):.2f}")
    print(f"stop_to_exit_s    {stop_s:.2f}")
    print("(each figure includes starting the `trader-app command` process, ~0.5 s)")


if __name__ == "__main__":
    main()
