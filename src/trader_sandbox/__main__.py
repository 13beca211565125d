"""``python -m trader_sandbox``: run the emulator until SIGINT/SIGTERM, after printing url, api_key, secret.

Bad options or data (a ``--data`` file the candle check refuses, a port in use) end it with exit 2 and one line
on stderr, as ``trader-app sandbox`` does."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Any

from trader_sandbox.fixtures import DEFAULT_SYMBOLS
from trader_sandbox.sandbox import VENUES, start_sandbox

__all__ = ["build_parser", "main"]


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The command-line options (shared with ``trader-app sandbox``)."""
    p = parser or argparse.ArgumentParser(prog="python -m trader_sandbox", description=__doc__)
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--venue", choices=VENUES, default="binance",
                   help="the API to speak: binance (spot /api/v3, default) or gemini (/v1)")
    p.add_argument("--data", type=Path, help="candle CSV: timestamp_ms,open,high,low,close,volume")
    p.add_argument("--data-symbol", default="BTCUSDT", help="the symbol the CSV prices (default BTCUSDT)")
    p.add_argument("--symbols", default=",".join(DEFAULT_SYMBOLS), help="comma-separated symbols to list")
    p.add_argument("--step-interval", type=float, default=0.0, help="step one candle every N seconds (0: off)")
    p.add_argument("--speed", type=float,
                   help="run the market clock at N times real time; candles (CSV rebased onto it) are revealed "
                        "as it reaches them (default: candles move only when stepped)")
    p.add_argument("--step-volume", help="maker volume filled per step (default: unlimited)")
    p.add_argument("--commission-rate", default="0.001", help="commission rate (default 0.001)")
    p.add_argument("--bnb-fees", action="store_true",
                   help="charge commissions in BNB (25 %% off) while BNB covers them")
    p.add_argument("--key-can-withdraw", action="store_true",
                   help="the API key may withdraw (Binance enableWithdrawals, Gemini Fund Manager role)")
    p.add_argument("--key-read-only", action="store_true",
                   help="the API key may not trade: orders are refused (Binance -2015, Gemini MissingRole)")
    p.add_argument("--api-key", help="API key to accept (default: random)")
    p.add_argument("--secret", help="API secret (default: random)")
    return p


def _decimal(option: str, text: str, *, positive: bool) -> Decimal:
    """``text`` as a finite Decimal, positive or at least zero; else a one-line ``ValueError`` naming ``option``."""
    try:
        value = Decimal(text)
    except ArithmeticError:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0 or (positive and value == 0):
        raise ValueError(f"{option} must be a {'positive' if positive else 'non-negative'} number, got {text!r}")
    return value


def _settings(args: argparse.Namespace, symbols: tuple[str, ...]) -> dict[str, Any]:
    """The emulator settings of ``args``; a bad option is a one-line ``ValueError``."""
    if args.data_symbol.upper() not in symbols:
        raise ValueError(f"--data-symbol {args.data_symbol!r} is not one of the listed symbols: {', '.join(symbols)}")
    if not 0 <= args.step_interval < 1e6:
        raise ValueError(f"--step-interval must be 0 (off) or a positive number of seconds, got {args.step_interval}")
    settings: dict[str, Any] = {"data_symbol": args.data_symbol.upper(),
                                "commission_rate": _decimal("--commission-rate", args.commission_rate, positive=False)}
    if args.speed is not None:
        if not 0 < args.speed < 1e6:
            raise ValueError(f"--speed must be a positive number below 1e6, got {args.speed}")
        settings["speed"] = args.speed
    if args.bnb_fees:
        settings["bnb_fees"] = True
    if args.key_can_withdraw:
        settings["key_withdrawals"] = True
    if args.key_read_only:
        settings["key_trading"] = False
    if args.step_volume:
        settings["step_volume"] = _decimal("--step-volume", args.step_volume, positive=True)
    if args.api_key:
        settings["api_key"] = args.api_key
    if args.secret:
        settings["secret"] = args.secret
    return settings


def run(args: argparse.Namespace) -> int:
    """Serve with parsed ``args`` until SIGINT or SIGTERM; exit code 0. Bad options raise a one-line
    ``ValueError``."""
    symbols = tuple(s.strip().upper() for s in args.symbols.split(",") if s.strip())
    settings = _settings(args, symbols)
    sandbox = start_sandbox(port=args.port, data=args.data, symbols=symbols, venue=args.venue, **settings)
    done = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        done.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if args.step_interval > 0:
            sandbox.start_timer(args.step_interval)
        sys.stdout.write(f"url={sandbox.url}\napi_key={sandbox.api_key}\nsecret={sandbox.secret}\n")
        if args.speed is not None:
            sys.stdout.write(f"speed={args.speed:g}\n")
        sys.stdout.flush()
        while not done.wait(0.5):
            pass
    finally:
        sandbox.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and serve; bad options or data: one line on stderr, exit 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (OSError, ValueError) as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")


if __name__ == "__main__":
    raise SystemExit(main())
