"""API latency and server memory: 10 bots sharing one SQLite database, 100,000 stored round trips in all.

    python bench/api.py [--bots 10] [--trades 100000] [--requests 200] [--keep FILE]

Seeds the database through the store (one run per bot, each round trip a closed plan with its entry and
exit fills), starts `trader-app serve` on loopback as a subprocess, times `GET .../status`,
`GET .../trades?limit=100` (first page, and a page at a random offset), `GET .../trades?symbol=&start=`,
`GET .../equity` and `GET .../metrics` (random bots, sequential requests, wall time per request through HTTP) and
prints p50/p99 and the slowest (the first request of each bot apart: it counts the run's round trips, or builds
its equity curve or its report), the server's resident memory once started and its peak (VmHWM).
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import httpx

from trader_adapters.sql.store import SqlStore
from trader_app.storage import upgrade_database
from trader_core.model.ids import Asset, BotId, ClientOrderId, PlanId, RunId, Symbol, TradeId, VenueOrderId
from trader_core.model.money import Money, Price, Quantity
from trader_core.model.orders import Fill, Liquidity, Side
from trader_core.model.plans import ExitReason, Plan, PlanStatus
from trader_core.model.records import FillRecord, OrderRole, RunRecord

APP = str(Path(sys.executable).parent / "trader-app")
T0 = datetime(2025, 1, 1, tzinfo=UTC)
BTC = Symbol.parse("BTC/USDT")


def _fill(run: RunId, plan: PlanId, n: int, role: OrderRole, side: Side, price: Decimal, at: datetime,  # noqa: PLR0917
          pnl: Decimal) -> FillRecord:
    fill = Fill(trade_id=TradeId(f"t{n}-{role.value}"), venue_order_id=VenueOrderId(f"v{n}{role.value}"),
                client_order_id=ClientOrderId(f"c{n}{role.value}"), symbol=BTC, side=side, price=Price(price),
                quantity=Quantity("0.01"), fee=Money(Decimal("0.5"), Asset("USDT")), time=at,
                liquidity=Liquidity.TAKER)
    return FillRecord(run_id=run, venue="paper", fill=fill, plan_id=plan, role=role, realized_pnl=pnl,
                      fee_quote=Decimal("0.5"))


def seed(url: str, bots: int, per_bot: int) -> None:
    """One run per bot with ``per_bot`` closed round trips."""
    rng = random.Random(7)
    for b in range(bots):
        store = SqlStore.open(url, BotId(f"bot{b}"))
        run = RunId(f"run{b}")
        with store.unit_of_work() as uow:
            uow.runs.add(RunRecord(run_id=run, mode="paper", started_at=T0))
            for n in range(per_bot):
                opened, closed = T0 + timedelta(minutes=10 * n), T0 + timedelta(minutes=10 * n + 5)
                entry = Decimal(50000 + rng.randint(-500, 500))
                exit_ = entry + rng.randint(-300, 300)
                plan_id = PlanId(f"P{n}")
                uow.plans.add(Plan(plan_id=plan_id, run_id=run, symbol=BTC, side=Side.BUY,
                                   status=PlanStatus.CLOSED, entry_client_order_id=ClientOrderId(f"c{n}entry"),
                                   opened_at=opened, quantity=Quantity("0.01"), entry_filled=Quantity("0.01"),
                                   entry_price=Price(entry), closed_at=closed, exit_reason=ExitReason.SIGNAL))
                uow.fills.add(_fill(run, plan_id, n, OrderRole.ENTRY, Side.BUY, entry, opened, Decimal(0)))
                uow.fills.add(_fill(run, plan_id, n, OrderRole.EXIT, Side.SELL, exit_, closed,
                                    (exit_ - entry) * Decimal("0.01")))
            uow.commit()
        store.close()


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _time(http: httpx.Client, paths: list[str]) -> list[float]:
    out = []
    for path in paths:
        start = time.perf_counter()
        answer = http.get(path)
        out.append((time.perf_counter() - start) * 1000)
        answer.raise_for_status()
    return out


def _report(name: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    print(f"{name:<28} n={len(ms):<5} p50={statistics.median(ms):8.2f} ms  p99={p99:8.2f} ms  max={ms[-1]:8.2f} ms")


def _memory(pid: int, field: str) -> int:
    """``field`` of ``/proc/<pid>/status`` in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith(field)))


def _measure(http: httpx.Client, bots_n: int, per_bot: int, requests: int) -> None:
    """Time each endpoint: the first request of each bot apart, then ``requests`` requests on random bots."""
    rng = random.Random(1)
    bots = [f"bot{rng.randrange(bots_n)}" for _ in range(requests)]
    _time(http, [f"/api/v1/bots/bot{b}/status" for b in range(bots_n)])  # open every store
    _report("GET status", _time(http, [f"/api/v1/bots/{b}/status" for b in bots]))
    cold = [f"/api/v1/bots/bot{b}/trades?limit=100" for b in range(bots_n)]
    _report("GET trades, first per bot", _time(http, cold))
    _report("GET trades?limit=100", _time(http, [f"/api/v1/bots/{b}/trades?limit=100" for b in bots]))
    pages = [f"/api/v1/bots/{b}/trades?limit=100&offset={rng.randrange(per_bot)}" for b in bots]
    _report("GET trades?offset=random", _time(http, pages))
    since = quote((T0 + timedelta(minutes=5 * per_bot)).isoformat())
    filtered = [f"/api/v1/bots/{b}/trades?symbol=BTC/USDT&start={since}&limit=100" for b in bots]
    _report("GET trades?symbol=&start=", _time(http, filtered))
    _report("GET equity, first per bot", _time(http, [f"/api/v1/bots/bot{b}/equity" for b in range(bots_n)]))
    _report("GET equity", _time(http, [f"/api/v1/bots/{b}/equity" for b in bots]))
    _report("GET metrics, first per bot", _time(http, [f"/api/v1/bots/bot{b}/metrics" for b in range(bots_n)]))
    _report("GET metrics", _time(http, [f"/api/v1/bots/{b}/metrics" for b in bots]))
    _report("GET bots", _time(http, ["/api/v1/bots"] * requests))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bots", type=int, default=10)
    parser.add_argument("--trades", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="SQLite file seeded once and kept (reused when it exists)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.keep or Path(folder) / "trader.db"
        url = f"sqlite:///{path.resolve()}"
        if not path.exists():
            upgrade_database(url)
            started = time.perf_counter()
            seed(url, args.bots, args.trades // args.bots)
            print(f"seeded {args.bots} bots, {args.trades} round trips in {time.perf_counter() - started:.1f} s")
        port = _port()
        env = {k: v for k, v in os.environ.items() if k != "TRADER_API__TOKEN"}
        server = subprocess.Popen([APP, "serve", "--db", url, "--port", str(port)], env=env)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        http.get("/api/v1/bots").raise_for_status()
                        break
                    except httpx.TransportError:
                        assert time.monotonic() < deadline, "the server did not start"
                        time.sleep(0.2)
                started_rss = _memory(server.pid, "VmRSS")
                _measure(http, args.bots, args.trades // args.bots, args.requests)
            peak = _memory(server.pid, "VmHWM")
            print(f"server RSS once started {started_rss / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB")
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
