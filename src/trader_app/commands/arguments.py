"""Argument types shared by the commands' parsers: a bad value is a usage error (exit 2, one line)."""

from __future__ import annotations

import argparse

__all__ = ["port"]


def port(text: str) -> int:
    """A TCP port on loopback: 0 (any free one) to 65535."""
    try:
        number = int(text)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 (any free one) to 65535, got {text!r}")
    return number
