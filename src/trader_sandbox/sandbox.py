"""The in-process Python API: :func:`start_sandbox` runs the emulator on a loopback port in a background
thread and returns a :class:`Sandbox` handle to drive prices, faults and state."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import fields
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

from trader_sandbox.faults import Fault, GroupRate
from trader_sandbox.gemini import GeminiHandler
from trader_sandbox.server import SandboxHTTPServer
from trader_sandbox.state import Exchange, Settings

__all__ = ["VENUES", "Sandbox", "start_sandbox"]


class Sandbox:
    """A running emulator: ``url`` (``http://127.0.0.1:PORT``), ``api_key``/``secret`` for ccxt, and controls."""

    def __init__(self, server: SandboxHTTPServer) -> None:
        self._server = server
        self.exchange: Exchange = server.exchange
        host, port = server.server_address[:2]
        self.host = str(host)
        self.port = int(port)
        self.url = f"http://{self.host}:{self.port}"
        self.api_key = self.exchange.settings.api_key
        self.secret = self.exchange.settings.secret
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"sandbox-{self.port}", daemon=True)
        self._thread.start()
        self.exchange.start_driver()
        self._stopped = False

    # -- market ----------------------------------------------------------------------------------------

    def set_price(self, symbol: str, price: Decimal | str | int, *, gap: bool = False) -> None:
        """Move ``symbol``'s last price; resting orders and stops it crosses fill or trigger. ``gap``: the move is
        a jump with no trade on the way (a stop-limit whose limit it passes rests unfilled)."""
        self.exchange.set_price(symbol, price, gap=gap)

    def step(self, n: int = 1, symbol: str | None = None, *, quiet: bool = False) -> dict[str, str]:
        """Reveal the next ``n`` candles (all symbols, or one); returns the last prices. ``quiet``: the candles'
        time passes with no trade, at the last price (the price stays where ``set_price`` put it)."""
        return self.exchange.step(n, symbol, quiet=quiet)

    def prices(self) -> dict[str, str]:
        """Last price per symbol."""
        return self.exchange.prices()

    def server_time(self) -> int:
        """The server time in ms: the market clock plus the skew."""
        return self.exchange.server_time()

    def start_timer(self, interval_s: float) -> None:
        """Step one candle every ``interval_s`` seconds."""
        self.exchange.start_timer(interval_s)

    def stop_timer(self) -> None:
        """Stop the stepping timer."""
        self.exchange.stop_timer()

    # -- account ---------------------------------------------------------------------------------------

    def balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        """(free, locked) per asset."""
        with self.exchange.lock:
            acc = self.exchange.accounts
            return {a: (acc.free.get(a, Decimal(0)), acc.locked.get(a, Decimal(0)))
                    for a in sorted(set(acc.free) | set(acc.locked))}

    def set_balances(self, balances: dict[str, Decimal | str | int], replace: bool = False) -> None:
        """Set free balances (``replace`` drops assets not named)."""
        self.exchange.set_balances(balances, replace)

    def configure(self, *, commission_rate: Decimal | str | None = None,
                  step_volume: Decimal | str | None = None, unlimited_volume: bool = False,
                  taker_depth: Decimal | str | None = None, unlimited_depth: bool = False) -> None:
        """Change the commission rate, the maker volume filled per symbol and price step, or the base quantity
        one taker order finds at the touch (``taker_depth``: a market order meeting less fills that and expires)."""
        self.exchange.configure(commission_rate, step_volume, clear_step_volume=unlimited_volume,
                                taker_depth=taker_depth, clear_taker_depth=unlimited_depth)

    def orders(self) -> list[dict[str, Any]]:
        """Every order, in the ``GET /api/v3/order`` shape."""
        with self.exchange.lock:
            return [o.query() for o in self.exchange.engine.orders.values()]

    def state(self) -> dict[str, Any]:
        """Prices, balances, open orders, faults and clock skew."""
        return self.exchange.state()

    # -- faults, limits, clock ---------------------------------------------------------------------------

    def inject(self, path: str = "*", method: str = "*", **spec: Any) -> Fault:
        """Arm a fault: ``status``/``code``/``msg``/``body``/``headers``, ``delay`` (s), ``apply`` (run the
        request, then fail), ``drop`` (close unanswered), ``times`` (None: until cleared). See ``Fault``."""
        return self.exchange.faults.add(path=path, method=method, **spec)

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self.exchange.faults.clear()

    def rate_limit(self, limit: int | None, window_s: float = 60.0, ban_after: int | None = None,
                   ban_seconds: float = 120.0) -> None:
        """Request-weight budget per window (None: unlimited); past it 429, and 418 after ``ban_after`` 429s."""
        self.exchange.limiter.configure(limit, window_s, ban_after, ban_seconds)

    def gemini_rates(self, public_per_minute: int | None = 120, private_per_minute: int | None = 600) -> None:
        """Hold Gemini's request rates per group of entry points (its documented 120 public and 600 private a minute,
        a second's worth at once and five more queued, then 429: ``GroupRate``); None leaves a group unlimited."""
        self.exchange.group_rates = {name: GroupRate(per_minute) for name, per_minute in
                                     (("public", public_per_minute), ("private", private_per_minute))
                                     if per_minute is not None}

    def ban(self, seconds: float) -> None:
        """Answer 418 to every exchange request for ``seconds``."""
        self.exchange.limiter.ban(seconds, time.time())

    def set_clock_skew(self, ms: int) -> None:
        """Shift the server clock by ``ms`` (negative: the server is behind the client)."""
        self.exchange.clock_skew_ms = int(ms)

    # -- log and lifecycle ---------------------------------------------------------------------------------

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """Logged exchange requests (method, path, params without signature, status, seq, time, note)."""
        return self.exchange.requests(since)

    def request_count(self) -> int:
        """How many exchange requests were logged since start (or the last reset)."""
        with self.exchange.lock:
            return len(self.exchange.log)

    def clear_requests(self) -> None:
        """Empty the request log."""
        with self.exchange.lock:
            self.exchange.log.clear()

    def reset(self) -> None:
        """Back to the initial state (the URL and keys stay)."""
        self.exchange.reset()

    def stop(self) -> None:
        """Stop serving and close every connection (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self.exchange.stop_timer()
        self.exchange.stop_driver()
        self._server.shutdown()
        self._server.close_all()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


VENUES = ("binance", "gemini")


def start_sandbox(*, port: int = 0, data: Path | str | None = None, symbols: tuple[str, ...] | None = None,
                  host: str = "127.0.0.1", venue: str = "binance", **settings: Any) -> Sandbox:
    """Start the emulator on ``host:port`` (0: a free port) and return its handle.

    ``venue`` is the API it speaks: ``binance`` (spot, ``/api/v3``) or ``gemini`` (``/v1``; commissions in the
    quote asset, an ``account-`` API key as Gemini issues them).

    ``data`` is a candle CSV (``timestamp_ms,open,high,low,close,volume``) for ``data_symbol`` (BTCUSDT);
    further keywords are :class:`~trader_sandbox.state.Settings` fields (``balances``, ``commission_rate``,
    ``step_volume``, ``history``, ``seed``, ``api_key``, ``secret``, ...)."""
    known = {f.name for f in fields(Settings)}
    unknown = set(settings) - known
    if unknown:
        raise TypeError(f"unknown settings: {sorted(unknown)}")
    if symbols is not None:
        settings["symbols"] = tuple(symbols)
    if data is not None:
        settings["data"] = Path(data)
    for key in ("commission_rate", "step_volume"):
        if settings.get(key) is not None:
            settings[key] = Decimal(str(settings[key]))
    if "balances" in settings:
        settings["balances"] = {k: Decimal(str(v)) for k, v in settings["balances"].items()}
    if venue not in VENUES:
        raise ValueError(f"unknown venue {venue!r}; known: {', '.join(VENUES)}")
    handler = None
    if venue == "gemini":
        handler = GeminiHandler
        settings.setdefault("fee_in_quote", True)
        settings.setdefault("api_key", f"account-{secrets.token_hex(10)}")
    exchange = Exchange(Settings(**settings))
    return Sandbox(SandboxHTTPServer((host, port), exchange, handler))
