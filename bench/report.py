"""Report building time, memory and size for a replayed candle file, stage by stage.

    python bench/report.py [--data FILE.csv] [--keep FILE.db]

Replays the file once with ``trader-app run`` (SQLite, SMA 10/30, stake 1000) unless ``--keep`` names a database
that already holds the run, then times in this process: reading the stored run, reading the CSV, computing the
metrics and the marked equity (``gather``), rendering the HTML and the JSON document; and the whole
``trader-app report --candles FILE --out --json`` process (wall and peak RSS, the figure a user waits for).
Prints the HTML file's size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from trader_adapters.feeds.csv_feed import load_candles_csv
from trader_adapters.report import render_html, report_document
from trader_app.reporting import gather
from trader_app.stored_runs import read_run
from trader_core.model import Symbol

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / ".venv" / "bin" / "trader-app")
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "binance_BTC_USDT_1m_2025-05-20_2025-08-18.csv"


def _process(argv: list[str]) -> tuple[float, float]:
    """Run ``argv`` to the end; its wall time in seconds and peak RSS in MiB."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        assert process.stderr is not None
        sys.exit(f"{argv[1]} failed: {process.stderr.read().decode(errors='replace')[-400:]}")
    return wall, usage.ru_maxrss / 1024


def _stage(name: str, started: float) -> float:
    now = time.perf_counter()
    print(f"{name:<34} {now - started:7.2f} s")
    return now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="candle CSV (BTC/USDT, 1m)")
    parser.add_argument("--keep", type=Path, help="SQLite file holding the replay (made once and kept)")
    args = parser.parse_args()
    if not Path(args.data).exists():
        sys.exit(f"no candle file at {args.data}: pass --data FILE.csv")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        path = args.keep or work / "report.db"
        db = f"sqlite:///{path.resolve()}"
        if not path.exists():
            wall, rss = _process([APP, "run", "--data", args.data, "--symbol", "BTC/USDT", "--stake", "1000",
                                  "--db", db, "--bot", "bench", "--log-dir", str(work / "logs")])
            print(f"{'replay (trader-app run)':<34} {wall:7.2f} s  peak RSS {rss:.0f} MiB")
        started = time.perf_counter()
        stored = read_run(db, "bench", None)
        now = _stage(f"read the run ({len(stored.fills)} fills)", started)
        candles = load_candles_csv(args.data, Symbol.parse("BTC/USDT"))
        now = _stage(f"read the CSV ({len(candles)} candles)", now)
        inputs = gather(stored.record, stored.plans, stored.fills, candles, llm_calls=stored.llm_calls)
        now = _stage("metrics and marked equity", now)
        html = render_html(inputs.report, title="bench", trades=inputs.trades, equity=inputs.equity,
                           prices=inputs.prices, marks=inputs.marks)
        now = _stage("HTML rendered", now)
        json.dumps(report_document(inputs.report, run_id=stored.record.run_id.value, bot="bench"))
        _stage("JSON document", now)
        _stage("in-process total", started)
        out, json_out = work / "report.html", work / "report.json"
        wall, rss = _process([APP, "report", "--db", db, "--bot", "bench", "--candles", args.data,
                              "--out", str(out), "--json", str(json_out)])
        print(f"{'trader-app report (whole process)':<34} {wall:7.2f} s  peak RSS {rss:.0f} MiB")
        print(f"HTML file {len(html.encode()) / 2**20:.2f} MiB ({out.stat().st_size / 2**20:.2f} MiB written)")


if __name__ == "__main__":
    main()
