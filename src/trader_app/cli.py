"""``trader-app``: the command line. Progress and errors on stderr, results on stdout.

Exit codes: 0 clean stop, 2 bad usage, configuration or input (one line on stderr), 1 unexpected failure.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from trader_app.commands import COMMANDS
from trader_app.failures import RunFailedError
from trader_core.model import ConfigError

__all__ = ["main"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"trader-app: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = _Parser(prog="trader-app", description="A trading core for spot crypto bots.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``trader-app``; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ConfigError as exc:
        print(f"trader-app: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except RunFailedError as exc:
        print(f"trader-app: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:
        # The reader went away (``| head``): not a failure of ours. Silence the flush at exit too.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaced for the rest of the process
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the one top-level handler: report the cause, exit 1
        print(f"trader-app: unexpected failure: {type(exc).__name__}: {exc}", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        return EXIT_FAILURE


def _dispatch(args: argparse.Namespace) -> int:
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
