"""Failures of a command that has started its work: said in one line, exit 1 (bad usage is ``ConfigError``, 2)."""

from __future__ import annotations

__all__ = ["RunFailedError"]


class RunFailedError(Exception):
    """A run that started and could not go on (a replay whose database refused a write): what it did until then
    is shown first; this is the one line it ends with, exit 1."""
