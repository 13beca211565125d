"""Side by side with freqtrade: the same rules on the same candles, whole processes, interleaved.

    python bench/peer_freqtrade.py [--data FILE.csv] [--rounds 2] [--fast 10 --slow 30] [--repeat 1]

Installs freqtrade 2026.9 into its own virtual environment under the cache folder when missing
(``$XDG_CACHE_HOME/trader-core/freqtrade-venv``, never a project dependency), converts the CSV into its JSON
candle format, serves ``exchangeInfo`` from our emulator (``trader-app sandbox``) on 127.0.0.1 because freqtrade
loads markets at start-up, then runs freqtrade's ``backtesting`` (strategy: bench/freqtrade_sma_cross.py) and our
``trader-app run`` (SQLite; its breakeven trail, overnight widening and daily loss limit off, as freqtrade's
strategy has none) in turns. Prints wall time and peak RSS of each process, trade count, PnL, the ratio
of our wall time to freqtrade's, and whether the trade lists agree (entry/exit times, prices, quantities; PnL to
1e-6). Each round also runs ours with a strategy that never trades (bench/idle_strategy.py; ``--no-floor`` skips
it): what the services cost over the candles when nothing happens, the floor of a replay in this design, printed
as its own ratio to freqtrade's wall. ``--repeat N`` first writes a synthetic file of N back-to-back copies of the
CSV (time shifted) to measure growth with length, with a balance of 10000 per copy unless ``--balance`` says
otherwise. Rules: stop 2 %, target 3 %, fee 0.1 % per side, stake 1000, balance 10000, one position.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FREQTRADE = "freqtrade==2026.9"
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "binance_BTC_USDT_1m_2025-05-20_2025-08-18.csv"


def _cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "trader-core"


def ensure_freqtrade(venv: Path) -> Path:
    """The ``freqtrade`` executable of ``venv``, installed there first when missing."""
    exe = venv / "bin" / "freqtrade"
    if exe.exists():
        return exe
    print(f"installing {FREQTRADE} into {venv} (once)", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", FREQTRADE], check=True)
    return exe


def repeat_csv(source: Path, times: int, target: Path) -> Path:
    """``times`` copies of ``source`` back to back, each shifted by the span of the file plus one candle."""
    lines = source.read_text().splitlines()
    header, rows = lines[0], [line.split(",", 1) for line in lines[1:] if line]
    first, last = int(rows[0][0]), int(rows[-1][0])
    step = int(rows[1][0]) - first
    with target.open("w") as out:
        out.write(header + "\n")
        for copy in range(times):
            shift = copy * (last - first + step)
            out.writelines(f"{int(ts) + shift},{rest}\n" for ts, rest in rows)
    return target


def write_freqtrade_folder(folder: Path, csv_path: Path, port: int, args: argparse.Namespace) -> str:
    """User folder, config and candles for freqtrade; returns the ``--timerange``."""
    data_dir = folder / "user_data" / "data" / "binance"
    strategies = folder / "user_data" / "strategies"
    data_dir.mkdir(parents=True, exist_ok=True)
    strategies.mkdir(parents=True, exist_ok=True)
    (strategies / "BenchSmaCross.py").write_text((ROOT / "bench" / "freqtrade_sma_cross.py").read_text())
    rows = []
    for line in csv_path.read_text().splitlines()[1:]:
        ts, o, h, low, c, v = line.split(",")
        rows.append([int(ts), float(o), float(h), float(low), float(c), float(v)])
    (data_dir / "BTC_USDT-1m.json").write_text(json.dumps(rows))
    urls = {"api": {key: f"http://127.0.0.1:{port}/api/{version}"
                    for key, version in (("public", "v3"), ("private", "v3"), ("v1", "v1"))}}
    ccxt = {"urls": urls, "options": {"fetchMarkets": {"types": ["spot"]}}}
    config = {
        "max_open_trades": 1, "stake_currency": "USDT", "stake_amount": float(args.stake), "dry_run": True,
        "dry_run_wallet": float(args.balance), "trading_mode": "spot", "timeframe": "1m", "fee": 0.001,
        "dataformat_ohlcv": "json", "pairlists": [{"method": "StaticPairList"}],
        "exchange": {"name": "binance", "pair_whitelist": ["BTC/USDT"], "pair_blacklist": [],
                     "ccxt_config": ccxt, "ccxt_async_config": ccxt},
        "entry_pricing": {"price_side": "same"}, "exit_pricing": {"price_side": "same"},
        "user_data_dir": "user_data", "datadir": "user_data/data/binance",
        "bench_fast": args.fast, "bench_slow": args.slow, "bench_stop": 0.02, "bench_target": 0.03,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=1))
    start = datetime.fromtimestamp(rows[0][0] / 1000, UTC)
    return f"{start:%Y%m%d}-"


def measured(argv: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run ``argv`` to the end (in ``env`` when given); its wall seconds and peak RSS (MB, the process itself)."""
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[0]} failed (exit {os.waitstatus_to_exitcode(status)}), see {log}")
    return wall, usage.ru_maxrss / 1024


def measured_idle(ours_cmd: list[str], work: Path, round_no: int) -> tuple[float, float]:
    """Our run with ``bench/idle_strategy.py`` (a strategy that never trades) in place of SMA: the floor."""
    argv = [*ours_cmd, "--strategy", "idle_strategy:Idle", "--db", f"sqlite:///{work / f'idle-{round_no}.db'}"]
    path = os.pathsep.join(p for p in (str(ROOT / "bench"), os.environ.get("PYTHONPATH", "")) if p)
    return measured(argv, work, work / f"idle-{round_no}.log", {**os.environ, "PYTHONPATH": path})


def freqtrade_trades(folder: Path) -> list[dict[str, Any]]:
    """The trades of freqtrade's latest backtest result."""
    results = folder / "user_data" / "backtest_results"
    latest = json.loads((results / ".last_result.json").read_text())["latest_backtest"]
    with zipfile.ZipFile(results / latest) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".json") and "_config" not in n)
        data = json.loads(archive.read(name))
    strategy = next(iter(data["strategy"].values()))
    return [{"entry": _minute(t["open_date"]), "exit": _minute(t["close_date"]),
             "entry_price": Decimal(str(t["open_rate"])), "exit_price": Decimal(str(t["close_rate"])),
             "quantity": Decimal(str(t["amount"])), "pnl": Decimal(str(t["profit_abs"])),
             "forced": t.get("exit_reason") == "force_exit"}
            for t in strategy["trades"]]


def our_trades(db: str) -> list[dict[str, Any]]:
    """The round trips of our latest run, read with ``trader-app trades``."""
    out = subprocess.run([str(ROOT / ".venv" / "bin" / "trader-app"), "trades", "--db", db],
                         check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line]
    return [{"entry": _minute(r["entry_time"]), "exit": _minute(r["exit_time"]),
             "entry_price": Decimal(r["entry_price"]), "exit_price": Decimal(r["exit_price"]),
             "quantity": Decimal(r["quantity"]), "pnl": Decimal(r["realized_pnl"])} for r in rows]


def _minute(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def compare(theirs: list[dict[str, Any]], ours: list[dict[str, Any]]) -> list[str]:
    """Differences between two trade lists (empty when they agree)."""
    problems = [] if len(theirs) == len(ours) else [f"trade counts differ: {len(theirs)} vs {len(ours)}"]
    for index, (a, b) in enumerate(zip(theirs, ours, strict=False)):
        for key in ("entry", "exit", "entry_price", "exit_price", "quantity"):
            if a[key] != b[key]:
                problems.append(f"trade {index}: {key} {a[key]} (freqtrade) vs {b[key]} (ours)")
        if abs(a["pnl"] - b["pnl"]) > Decimal("1e-6"):
            problems.append(f"trade {index}: pnl {a['pnl']} (freqtrade) vs {b['pnl']} (ours)")
        if len(problems) > 10:
            break
    return problems


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_emulator(port: int) -> subprocess.Popen[bytes]:
    """``trader-app sandbox`` on ``port``, once it answers ``exchangeInfo``."""
    emulator = subprocess.Popen([str(ROOT / ".venv" / "bin" / "trader-app"), "sandbox", "--port", str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v3/exchangeInfo", timeout=1):
                return emulator
        except OSError:
            time.sleep(0.1)
    emulator.terminate()
    raise SystemExit("the emulator did not answer exchangeInfo")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="candle CSV (BTC/USDT, 1m)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default 2)")
    parser.add_argument("--fast", type=int, default=10)
    parser.add_argument("--slow", type=int, default=30)
    parser.add_argument("--stake", default="1000")
    parser.add_argument("--balance", default=None,
                        help="starting balance (default 10000 per copy of the file: the losses of one copy must not "
                             "empty the wallet of the next, where the tools' rules for a wallet short of a stake "
                             "differ)")
    parser.add_argument("--repeat", type=int, default=1, help="replay N back-to-back copies of the file")
    parser.add_argument("--only-ours", action="store_true", help="skip freqtrade (quick measurement of ours)")
    parser.add_argument("--no-floor", action="store_true",
                        help="skip the run with a strategy that never trades (the services' floor)")
    args = parser.parse_args()
    args.balance = args.balance or str(10_000 * args.repeat)
    return args


def main() -> None:
    args = _arguments()
    if not Path(args.data).exists():
        sys.exit(f"no candle file at {args.data}: pass --data FILE.csv")
    work = Path(tempfile.mkdtemp(prefix="peer-freqtrade-"))
    csv_path = Path(args.data) if args.repeat == 1 else repeat_csv(Path(args.data), args.repeat, work / "long.csv")
    candles = sum(1 for _ in csv_path.open()) - 1
    exe = None if args.only_ours else ensure_freqtrade(_cache() / "freqtrade-venv")
    port = _free_port()
    emulator = start_emulator(port) if exe else None
    try:
        timerange = write_freqtrade_folder(work / "ft", csv_path, port, args)
        # The same rules as freqtrade's strategy: no breakeven trail, no overnight widening, no daily loss limit.
        (work / "ours.toml").write_text('plan_trail_to_breakeven_pct = "0"\novernight_widen = false\n'
                                        'max_daily_loss = ""\nmax_daily_loss_pct = ""\n')
        ours_cmd = [str(ROOT / ".venv" / "bin" / "trader-app"), "run", "--config", str(work / "ours.toml"),
                    "--data", str(csv_path),
                    "--fast", str(args.fast), "--slow", str(args.slow), "--stop-pct", "2", "--target-pct", "3",
                    "--fee-pct", "0.1", "--stake", args.stake, "--balance", args.balance,
                    "--log-dir", str(work / "logs")]
        figures: dict[str, list[tuple[float, float]]] = {"freqtrade": [], "trader-core": [], "trader-core idle": []}
        forced = 0
        db = ""
        for round_no in range(args.rounds):
            if exe:
                ft_cmd = [str(exe), "backtesting", "--config", "config.json", "--strategy", "BenchSmaCross",
                          "--timerange", timerange, "--export", "trades", "--cache", "none"]
                figures["freqtrade"].append(measured(ft_cmd, work / "ft", work / f"ft-{round_no}.log"))
            db = f"sqlite:///{work / f'ours-{round_no}.db'}"
            figures["trader-core"].append(measured([*ours_cmd, "--db", db], work, work / f"ours-{round_no}.log"))
            if not args.no_floor:
                figures["trader-core idle"].append(measured_idle(ours_cmd, work, round_no))
        ours = our_trades(db)
        everything = freqtrade_trades(work / "ft") if exe else []
        # freqtrade closes a position still open at the end of the data (force_exit); ours stays open.
        theirs = [t for t in everything if not t["forced"]]
        forced = len(everything) - len(theirs)
    finally:
        if emulator is not None:
            emulator.terminate()
            emulator.wait()
    print(f"data             {csv_path} ({candles} candles), SMA {args.fast}/{args.slow}, rounds {args.rounds}")
    for name, runs in figures.items():
        if runs:
            walls = ", ".join(f"{w:.2f}" for w, _ in runs)
            print(f"{name:<16} wall s [{walls}]  peak RSS MB {max(r for _, r in runs):.0f}")
    print(f"trades           freqtrade {len(theirs)}  trader-core {len(ours)}"
          + (f"  (+{forced} freqtrade force-exited at the end of the data, left open by ours)" if exe and forced
             else ""))
    pnl_theirs = sum((t["pnl"] for t in theirs), Decimal(0))
    pnl_ours = sum((t["pnl"] for t in ours), Decimal(0))
    print(f"pnl USDT         freqtrade {pnl_theirs:.6f}  trader-core {pnl_ours:.6f}")
    if exe:
        ratio = min(w for w, _ in figures["trader-core"]) / min(w for w, _ in figures["freqtrade"])
        print(f"ratio            {ratio:.3f} (our best wall / freqtrade's best wall)")
        if figures["trader-core idle"]:
            floor = min(w for w, _ in figures["trader-core idle"]) / min(w for w, _ in figures["freqtrade"])
            print(f"floor ratio      {floor:.3f} (our best wall with a strategy that never trades / freqtrade's)")
        problems = compare(theirs, ours)
        print("trade lists      agree" if not problems else "trade lists      DIFFER")
        for problem in problems:
            print(f"  {problem}")
    print(f"work folder      {work}")


if __name__ == "__main__":
    main()
