"""``trader-app llm-sandbox``: run the OpenAI-compatible emulator on loopback until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from trader_app.commands.arguments import port
from trader_core.model import ConfigError

__all__ = ["llm_sandbox_command", "register"]


def register(sub: Any) -> None:
    """Add ``llm-sandbox``."""
    parser = sub.add_parser("llm-sandbox", help="run an OpenAI-compatible chat emulator on 127.0.0.1 (prints url)")
    parser.add_argument("--port", type=port, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--script", help="JSON lines of scripted answers, one per request (docs/llm.md)")
    parser.set_defaults(handler=llm_sandbox_command)


def llm_sandbox_command(args: argparse.Namespace) -> int:
    """Serve until a signal; exit code 0."""
    from trader_sandbox.llm import load_script, start_llm_sandbox

    try:
        script = load_script(Path(args.script)) if args.script else []
        sandbox = start_llm_sandbox(args.port, script)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"llm-sandbox: {exc}") from exc
    done = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        done.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        sys.stdout.write(f"url={sandbox.url}\n")
        sys.stdout.flush()
        while not done.wait(0.5):
            pass
    finally:
        sandbox.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
