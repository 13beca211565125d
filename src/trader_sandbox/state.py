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
from trader_sandbox.clock import MarketClock, PricePath, rebase
from trader_sandbox.engine import Engine
from trader_sandbox.faults import Faults, GroupRate, WeightLimiter
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
    speed: float | None = None  # market clock speed (1: real time); None: candles move only when stepped
    # The API key may withdraw (Binance's apiRestrictions ``enableWithdrawals``, Gemini's Fund Manager role).
    key_withdrawals: bool = False
    # The API key may trade (Binance's ``enableSpotAndMarginTrading``, Gemini's Trader role); without it every order
    # placement and cancel is refused (Binance -2015, Gemini 403 MissingRole), as on the venues.
    key_trading: bool = True
    # New orders the account may place per 10 s (Binance's ``ORDERS`` rate limit, advertised in exchangeInfo): one
    # more is refused with 429 -1015 and not placed. An OCO counts as two, as on Binance.
    order_limit_10s: int = 100
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
        # Gemini's per-group request rates ("public", "private"), when the emulator holds them (empty: not held).
        self.group_rates: dict[str, GroupRate] = {}
        self.order_times: list[float] = []  # when each order counted against ``order_limit_10s`` was placed
        self.keys = {settings.api_key: settings.secret}
        self.clock_skew_ms = 0
        self.nonces: dict[str, int] = {}  # the last nonce accepted per API key (Gemini's payload nonces)
        self.log: list[dict[str, Any]] = []
        self._log_seq = 0
        self._timer_stop: threading.Event | None = None
        self._driver_stop: threading.Event | None = None
        self._build()

    def _build(self) -> None:
        s = self.settings
        self.rules = {name: DEFAULT_SYMBOLS[name] for name in s.symbols}
        self.clock = MarketClock(s.speed)
        market_now = self.clock.now_ms()
        now = market_now // s.candle_ms * s.candle_ms
        start = now - (s.history - 1) * s.candle_ms
        self.markets: dict[str, SymbolMarket] = {}
        self.paths = {name: PricePath() for name in self.rules}
        for i, (name, r) in enumerate(self.rules.items()):
            candles: Iterable[Candle]
            if s.data is not None and name == s.data_symbol:
                # Rebased: the last revealed candle is the one forming now on the market clock.
                candles = rebase(load_candles(s.data), market_now, s.history)
            else:
                candles = synthetic_candles(r.seed_price, r.tick, start_ms=start, interval_ms=s.candle_ms,
                                            seed=s.seed + i)
            self.markets[name] = SymbolMarket(r, candles, s.history)
        self.accounts = Accounts(dict(s.balances))
        self.engine = Engine(self.rules, self.markets, self.accounts, self.market_time,
                             commission_rate=s.commission_rate, step_volume=s.step_volume,
                             bnb_fees=s.bnb_fees, fee_in_quote=s.fee_in_quote)

    # -- clock -------------------------------------------------------------------------------------

    def server_time(self) -> int:
        """Server time in ms as ``GET /api/v3/time`` and the recvWindow check see it: the market clock plus
        the skew (the skew stands for a client clock that drifted)."""
        return self.clock.now_ms() + self.clock_skew_ms

    def wall_time(self) -> int:
        """The real time in ms plus the skew: what a time-based nonce is checked against (Gemini's 30 s window is
        real time, at any market speed; the client makes its nonce from its own clock)."""
        return int(time.time() * 1000) + self.clock_skew_ms

    def market_time(self) -> int:
        """The market clock in ms, without skew: the time of every order, trade and candle (a venue's trade
        times never go back, whatever a client's clock does)."""
        return self.clock.now_ms()

    def drive(self) -> None:
        """Bring the markets up to the market clock: walk the price points whose time has come and reveal
        every candle whose open time the clock has reached (a no-op without a speed)."""
        if not self.clock.driven:
            return
        with self.lock:
            now = self.clock.now_ms()
            for name, market in self.markets.items():
                path = self.paths[name]
                while True:
                    due = path.due(now)
                    if due:
                        self.engine.advance(name, due)
                    upcoming = market.peek()
                    if not path.empty or upcoming is None or upcoming.time > now:
                        break
                    path.schedule(upcoming, market.interval_ms, market.step())

    def start_driver(self, poll_s: float = 0.02) -> None:
        """Run :meth:`drive` every ``poll_s`` wall seconds in a daemon thread (with a speed only)."""
        if not self.clock.driven or self._driver_stop is not None:
            return
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(poll_s):
                self.drive()

        self._driver_stop = stop
        threading.Thread(target=run, name="sandbox-clock", daemon=True).start()

    def stop_driver(self) -> None:
        """Stop the clock's driver thread, if any."""
        if self._driver_stop is not None:
            self._driver_stop.set()
            self._driver_stop = None

    # -- controls ----------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the initial state: markets, balances, no orders, no faults, empty log, no skew or limit."""
        with self.lock:
            driven = self._driver_stop is not None
            self.stop_driver()
            self._build()
            if driven:
                self.start_driver()
            self.faults.clear()
            self.limiter.configure(None)
            self.group_rates = {}
            self.clock_skew_ms = 0
            self.nonces.clear()
            self.order_times.clear()
            self.log.clear()

    def set_price(self, symbol: str, price: Decimal | str | int, *, gap: bool = False) -> None:
        """Move the last price of ``symbol`` to ``price``; orders it crosses trigger and fill (``gap``: in one jump,
        see ``Engine.advance``)."""
        with self.lock:
            self._market(symbol)
            self.engine.advance(symbol, [Decimal(str(price))], gap=gap)

    def step(self, n: int = 1, symbol: str | None = None, *, quiet: bool = False) -> dict[str, str]:
        """Reveal the next ``n`` candles (of one symbol or all), walking each candle's price path (``quiet``:
        candles with no trade, at the last price)."""
        with self.lock:
            names = [self._market(symbol).rules.symbol] if symbol else list(self.markets)
            for _ in range(n):
                for name in names:
                    path = self.markets[name].step(quiet=quiet)
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
                  clear_step_volume: bool = False, taker_depth: Decimal | str | None = None,
                  clear_taker_depth: bool = False) -> None:
        """Change the commission rate, the per-step maker volume or the taker depth of the running exchange."""
        with self.lock:
            if taker_depth is not None:
                self.engine.taker_depth = Decimal(str(taker_depth))
            if clear_taker_depth:
                self.engine.taker_depth = None
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
            self.log.append({"seq": self._log_seq, "time": self.market_time(), "method": method, "path": path,
                             "params": {k: v for k, v in params.items() if k != "signature"},
                             "status": status, "note": note})

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """Logged requests with ``seq`` greater than ``since``, oldest first."""
        with self.lock:
            return [dict(e) for e in self.log if e["seq"] > since]
