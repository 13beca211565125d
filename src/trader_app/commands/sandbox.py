"""``trader-app sandbox``: run the venue emulator (Binance spot or Gemini) on loopback until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
from typing import Any

from trader_app.commands.arguments import port
from trader_core.model import ConfigError

__all__ = ["register", "sandbox_command"]


def register(sub: Any) -> None:
    """Add ``sandbox``."""
    sandbox = sub.add_parser(
        "sandbox", help="run a Binance-spot- or Gemini-compatible emulator on 127.0.0.1 (prints url, api_key, secret)"
    )
    sandbox.add_argument("--venue", choices=("binance", "gemini"), default="binance",
                         help="the API it speaks: binance (spot /api/v3, default) or gemini (/v1)")
    sandbox.add_argument("--port", type=port, default=0, help="port on 127.0.0.1 (default: a free one)")
    sandbox.add_argument("--data", help="candle CSV: timestamp_ms,open,high,low,close,volume")
    sandbox.add_argument("--data-symbol", default="BTCUSDT", help="the symbol the CSV prices (default BTCUSDT)")
    sandbox.add_argument("--step-interval", type=float, default=0.0,
                         help="reveal one candle every N seconds (default 0: only on /sandbox/step)")
    sandbox.add_argument("--speed", type=float,
                         help="market clock at N times real time: server time, candles (the CSV rebased onto "
                              "it) and triggers follow it (default: candles move only when stepped)")
    sandbox.add_argument("--step-volume", help="maker volume filled per price step (default: unlimited)")
    sandbox.add_argument("--key-can-withdraw", action="store_true",
                         help="the API key it prints may withdraw (a bot refuses such a key unless told otherwise)")
    sandbox.add_argument("--key-read-only", action="store_true",
                         help="the API key it prints may not trade (a bot refuses such a key at start-up)")
    sandbox.set_defaults(handler=sandbox_command)


def sandbox_command(args: argparse.Namespace) -> int:
    """Serve until a signal; exit code 0. The emulator checks a ``--data`` file as the bot checks every candle CSV
    (``trader_formats.candle_csv``) and refuses bad options itself: its ``ValueError`` is a one-line error here."""
    from trader_sandbox.__main__ import build_parser as sandbox_parser
    from trader_sandbox.__main__ import run as sandbox_run

    argv = ["--venue", args.venue, "--port", str(args.port), "--data-symbol", args.data_symbol,
            "--step-interval", str(args.step_interval)]
    if args.data:
        argv += ["--data", args.data]
    if args.speed is not None:
        argv += ["--speed", str(args.speed)]
    if args.step_volume:
        argv += ["--step-volume", args.step_volume]
    if args.key_can_withdraw:
        argv.append("--key-can-withdraw")
    if args.key_read_only:
        argv.append("--key-read-only")
    try:
        return sandbox_run(sandbox_parser().parse_args(argv))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"sandbox: {exc}") from exc
