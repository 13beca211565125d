"""The whole emulated exchange behind one lock: markets, the account and its engine, the clock (with skew),
faults, the weight limiter and the request log."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from trader_sandbox.book import Accounts, fmt
from trader_sandbox.engine import Engine
from trader_sandbox.faults import Faults, WeightLimiter
from trader_sandbox.fixtures import DEFAULT_BALANCES, DEFAULT_SYMBOLS, Candle, load_candles, synthetic_candles
from trader_sandbox.market import SymbolMarket

__all__ = ["Exchange", "Settings"]


@dataclass
class Settings:
    """How to build (and, on reset, rebuild) the exchange.

    ``data`` is a candle CSV for ``data_symbol``; other symbols get seeded synthetic 1m candles. ``history``
    candles are revealed at start, the rest one per step (synthetic series never run out). ``step_volume``
    caps the maker volume filled per symbol and price step (None: resting orders fill completely)."""

    symbols: tuple[str, ...] = tuple(DEFAULT_SYMBOLS)
    data: Path | None = None
    data_symbol: str = "BTCUSDT"
    history: int = 500
    balances: dict[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_BALANCES))
    commission_rate: Decimal = Decimal("0.001")
    step_volume: Decimal | None = None
    bnb_fees: bool = False  # pay commissions in BNB (25 % off) while the account holds enough free BNB
    fee_in_quote: bool = False  # every commission in the quote asset, a buy paying it on top (Gemini)
    seed: int = 7
    candle_ms: int = 60_000  # synthetic candle length; 1000 with a 1 s timer keeps candles on wall time
    api_key: str = field(default_factory=lambda: secrets.token_hex(32))
    secret: str = field(default_factory=lambda: secrets.token_hex(32))


class Exchange:
    """Everything the HTTP handlers and the controls act on; callers hold :attr:`lock` around changes."""

    def __init__(self, settings: Settings) -> None:
        unknown = [s for s in settings.symbols if s not in DEFAULT_SYMBOLS]
        if unknown:
            raise ValueError(f"unknown symbols {unknown}; known: {sorted(DEFAULT_SYMBOLS)}")
        self.settings = settings
        self.lock = threading.RLock()
        self.faults = Faults()
        self.limiter = WeightLimiter()
        self.keys = {settings.api_key: settings.secret}
        self.clock_skew_ms = 0
        self.nonces: dict[str, int] = {}  # the last nonce accepted per API key (Gemini's payload nonces)
        self.log: list[dict[str, Any]] = []
        self._log_seq = 0
        self._timer_stop: threading.Event | None = None
        self._build()

    def _build(self) -> None:
        s = self.settings
        self.rules = {name: DEFAULT_SYMBOLS[name] for name in s.symbols}
        now = int(time.time() * 1000) // s.candle_ms * s.candle_ms
        start = now - (s.history - 1) * s.candle_ms
        self.markets: dict[str, SymbolMarket] = {}
        for i, (name, r) in enumerate(self.rules.items()):
            candles: Iterable[Candle]
            if s.data is not None and name == s.data_symbol:
                candles = load_candles(s.data)
            else:
                candles = synthetic_candles(r.seed_price, r.tick, start_ms=start, interval_ms=s.candle_ms,
                                            seed=s.seed + i)
            self.markets[name] = SymbolMarket(r, candles, s.history)
        self.accounts = Accounts(dict(s.balances))
        self.engine = Engine(self.rules, self.markets, self.accounts, self.server_time,
                             commission_rate=s.commission_rate, step_volume=s.step_volume,
                             bnb_fees=s.bnb_fees, fee_in_quote=s.fee_in_quote)

    # -- clock -------------------------------------------------------------------------------------

    def server_time(self) -> int:
        """Server time in ms: the wall clock plus the configured skew."""
        return int(time.time() * 1000) + self.clock_skew_ms

    # -- controls ----------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the initial state: markets, balances, no orders, no faults, empty log, no skew or limit."""
        with self.lock:
            self._build()
            self.faults.clear()
            self.limiter.configure(None)
            self.clock_skew_ms = 0
            self.nonces.clear()
            self.log.clear()

    def set_price(self, symbol: str, price: Decimal | str | int) -> None:
        """Move the last price of ``symbol`` to ``price``; orders it crosses trigger and fill."""
        with self.lock:
            self._market(symbol)
            self.engine.advance(symbol, [Decimal(str(price))])

    def step(self, n: int = 1, symbol: str | None = None) -> dict[str, str]:
        """Reveal the next ``n`` candles (of one symbol or all), walking each candle's price path."""
        with self.lock:
            names = [self._market(symbol).rules.symbol] if symbol else list(self.markets)
            for _ in range(n):
                for name in names:
                    path = self.markets[name].step()
                    if path:
                        self.engine.advance(name, path)
            return self.prices()

    def prices(self) -> dict[str, str]:
        """Last price per symbol."""
        with self.lock:
            return {name: fmt(m.last) for name, m in self.markets.items()}

    def set_balances(self, balances: dict[str, Decimal | str | int], replace: bool = False) -> None:
        """Set free balances per asset (``replace`` drops assets not named)."""
        with self.lock:
            self.accounts.set({k: Decimal(str(v)) for k, v in balances.items()}, replace=replace)

    def configure(self, commission_rate: Decimal | str | None = None, step_volume: Decimal | str | None = None,
                  clear_step_volume: bool = False) -> None:
        """Change the commission rate or the per-step maker volume of the running exchange."""
        with self.lock:
            if commission_rate is not None:
                self.engine.commission_rate = Decimal(str(commission_rate))
            if step_volume is not None:
                self.engine.step_volume = Decimal(str(step_volume))
            if clear_step_volume:
                self.engine.step_volume = None

    def state(self) -> dict[str, Any]:
        """A JSON view for the controls: prices, balances, open orders, faults, skew."""
        with self.lock:
            return {
                "prices": self.prices(), "balances": self.accounts.snapshot(),
                "open_orders": [o.query() for o in self.engine.open_orders(None)],
                "faults": [f.to_dict() for f in self.faults.list()], "clock_skew_ms": self.clock_skew_ms,
                "server_time": self.server_time(),
            }

    def _market(self, symbol: str | None) -> SymbolMarket:
        m = self.markets.get(symbol or "")
        if m is None:
            raise KeyError(f"unknown symbol {symbol!r}")
        return m

    # -- timer -------------------------------------------------------------------------------------

    def start_timer(self, interval_s: float) -> None:
        """Step every symbol one candle each ``interval_s`` seconds (replaces a running timer)."""
        self.stop_timer()
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(interval_s):
                self.step()

        self._timer_stop = stop
        threading.Thread(target=run, name="sandbox-timer", daemon=True).start()

    def stop_timer(self) -> None:
        """Stop the stepping timer, if any."""
        if self._timer_stop is not None:
            self._timer_stop.set()
            self._timer_stop = None

    # -- request log -------------------------------------------------------------------------------

    def record(self, method: str, path: str, params: dict[str, str], status: int | None, note: str = "") -> None:
        """Append one exchange request (``status`` None when the connection was dropped unanswered)."""
        with self.lock:
            self._log_seq += 1
            self.log.append({"seq": self._log_seq, "time": self.server_time(), "method": method, "path": path,
                             "params": {k: v for k, v in params.items() if k != "signature"},
                             "status": status, "note": note})

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """Logged requests with ``seq`` greater than ``since``, oldest first."""
        with self.lock:
            return [dict(e) for e in self.log if e["seq"] > since]
