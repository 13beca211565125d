"""Exchange benchmark: per-call latency through ccxt to the loopback Binance emulator, and the adapter's share.

    python bench/exchange.py [--n 200]

For ticker, create, cancel and my-trades it times the call made with a bare ccxt client and the same call
through ``CcxtExchange`` (p50, p99 over N calls). It then times the adapter's own work on the answers it
received (parsing ccxt's dicts into core values, building the request) in isolation, and prints that
as a share of the adapter's p50: the part of each call that is ours rather than ccxt's or the wire's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from trader_adapters.ccxt import CcxtExchange
from trader_adapters.ccxt.marketdata import parse_quote
from trader_adapters.ccxt.requests import create_args
from trader_adapters.ccxt.translate import parse_fill, parse_order
from trader_adapters.clock import SystemClock
from trader_core.model import (
    ClientOrderId,
    InstrumentRules,
    OrderRequest,
    OrderType,
    Price,
    Quantity,
    Side,
    Symbol,
)
from trader_sandbox.testing import ccxt_client, running_sandbox

BTC = Symbol.parse("BTC/USDT")
SEED_TRADES = 50
RULES = InstrumentRules(symbol=BTC, tick_size=Decimal("0.01"), step_size=Decimal("0.00001"),
                        min_quantity=Decimal("0.00001"), min_notional=Decimal(5))


def percentile(samples: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``samples`` by nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def cpu_us(n: int, work: Callable[[], object]) -> float:
    """Mean microseconds of ``work()`` over ``n`` runs (pure CPU, no I/O)."""
    started = time.perf_counter()
    for _ in range(n):
        work()
    return (time.perf_counter() - started) / n * 1e6


def request(client_id: str, order_type: OrderType = OrderType.LIMIT) -> OrderRequest:
    """A far-from-market limit buy (rests, never fills), or a small market buy."""
    price = Price("20000") if order_type is OrderType.LIMIT else None
    return OrderRequest(client_order_id=ClientOrderId(client_id), symbol=BTC, side=Side.BUY, order_type=order_type,
                        quantity=Quantity("0.001"), price=price)


Samples = dict[str, list[float]]


def ms_since(started: float) -> float:
    """Milliseconds since the ``perf_counter`` reading ``started``."""
    return (time.perf_counter() - started) * 1000


async def measure_quotes(raw: Any, adapter: CcxtExchange, n: int, out: Samples) -> tuple[Any, Any]:
    """Ticker and book through bare ccxt, the quote through the adapter, alternating; the last raw answers."""
    ticker = book = None
    for _ in range(n):
        started = time.perf_counter()
        ticker = await raw.fetch_ticker("BTC/USDT")
        out["ticker   ccxt fetch_ticker"].append(ms_since(started))
        started = time.perf_counter()
        book = await raw.fetch_order_book("BTC/USDT", 5)
        out["book     ccxt fetch_order_book(5)"].append(ms_since(started))
        started = time.perf_counter()
        await adapter.fetch_quote(BTC)
        out["quote    adapter fetch_quote (book+ticker)"].append(ms_since(started))
    return ticker, book


async def measure_orders(raw: Any, adapter: CcxtExchange, n: int, out: Samples) -> Any:
    """Create then cancel a resting limit, through bare ccxt and through the adapter; the last raw order."""
    raw_order = None
    for i in range(n):
        started = time.perf_counter()
        raw_order = await raw.create_order("BTC/USDT", "limit", "buy", "0.001", "20000", {"clientOrderId": f"raw-{i}"})
        out["create   ccxt create_order"].append(ms_since(started))
        started = time.perf_counter()
        await raw.cancel_order(None, "BTC/USDT", {"clientOrderId": f"raw-{i}"})
        out["cancel   ccxt cancel_order"].append(ms_since(started))
        started = time.perf_counter()
        await adapter.place_order(request(f"ad-{i}"))
        out["create   adapter place_order"].append(ms_since(started))
        started = time.perf_counter()
        await adapter.cancel_order(BTC, ClientOrderId(f"ad-{i}"))
        out["cancel   adapter cancel_order"].append(ms_since(started))
    return raw_order


async def measure_trades(raw: Any, adapter: CcxtExchange, n: int, out: Samples) -> list[Any]:
    """The account's trades through bare ccxt and as fills through the adapter; the last raw list."""
    trades: list[Any] = []
    for _ in range(n):
        started = time.perf_counter()
        trades = await raw.fetch_my_trades("BTC/USDT", None, 500)
        out[f"trades   ccxt fetch_my_trades ({SEED_TRADES})"].append(ms_since(started))
        started = time.perf_counter()
        await adapter.fetch_fills(BTC)
        out["trades   adapter fetch_fills"].append(ms_since(started))
    return trades


def report(out: Samples, own: dict[str, tuple[float, str]]) -> None:
    """Print the latency table, then the adapter's own CPU per call and its share of the adapter's p50."""
    print(f"{'call':48} {'N':>5} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for name in sorted(out, key=lambda key: (key.split()[0], "adapter" in key)):
        samples = out[name]
        print(f"{name:48} {len(samples):5} {percentile(samples, 0.5):8.3f} {percentile(samples, 0.99):8.3f} "
              f"{statistics.fmean(samples):8.3f}")
    print(f"\n{'adapter translation (CPU, isolated)':48} {'us/call':>8} {'share of adapter p50':>21}")
    for name, (micros, total_key) in own.items():
        share = micros / 1000 / percentile(out[total_key], 0.5) * 100
        print(f"{name:48} {micros:8.1f} {share:20.2f}%")


async def bench(n: int) -> None:
    """Run every measurement against a fresh emulator and print the figures."""
    out: Samples = defaultdict(list)
    clock = SystemClock()
    with running_sandbox(balances={"USDT": Decimal(10) ** 9, "BTC": Decimal(1000)}, symbols=("BTCUSDT",)) as sb:
        sb.set_price("BTCUSDT", "30000")
        raw = ccxt_client(sb, asynchronous=True)
        adapter = CcxtExchange.create("binance", clock=clock, api_key=sb.api_key, secret=sb.secret, base_url=sb.url,
                                      options={"enableRateLimit": False})
        try:
            await raw.load_markets()
            await adapter.connect()
            for i in range(SEED_TRADES):
                await adapter.place_order(request(f"seed-{i}", OrderType.MARKET))
            ticker, book = await measure_quotes(raw, adapter, n, out)
            raw_order = await measure_orders(raw, adapter, n, out)
            trades = await measure_trades(raw, adapter, n, out)
        finally:
            await raw.close()
            await adapter.close()
    now = clock.now()
    ids = {str(t["order"]): ClientOrderId("seed-0") for t in trades}
    reps = 2000
    own = {
        "quote: parse book + ticker": (
            cpu_us(reps, lambda: parse_quote(BTC, book, ticker, observed_at=now, latency=timedelta(0))),
            "quote    adapter fetch_quote (book+ticker)"),
        "create: build request + parse answer": (
            cpu_us(reps, lambda: (create_args(request("x-1"), RULES),
                                  parse_order(raw_order, now=now, requested_type=OrderType.LIMIT))),
            "create   adapter place_order"),
        "cancel: parse answer": (cpu_us(reps, lambda: parse_order(raw_order, now=now)),
                                 "cancel   adapter cancel_order"),
        f"trades: parse {len(trades)} fills": (cpu_us(reps // 20, lambda: [parse_fill(t, ids.get) for t in trades]),
                                               "trades   adapter fetch_fills"),
    }
    report(out, own)


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200, help="calls per measurement")
    args = parser.parse_args()
    asyncio.run(bench(args.n))


if __name__ == "__main__":
    main()
