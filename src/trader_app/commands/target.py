"""Which database and bot a command works on: ``--db``/``--bot`` flags, then ``TRADER_DB``/``TRADER_BOT``, then
the config file (``--config`` or ``TRADER_CONFIG``), then the defaults; the same settings, in the same precedence,
as ``trader-app run``. A command that looked at another database than the bot writes to would lie."""

from __future__ import annotations

from typing import Any

from trader_app.settings import load_settings

__all__ = ["add_target", "target"]


def add_target(parser: Any) -> None:
    """Add ``--db``, ``--bot`` and ``--config`` to ``parser``."""
    parser.add_argument("--db", help="database URL (default: TRADER_DB, the config file, sqlite:///trader.db)")
    parser.add_argument("--bot", help="bot id (default: TRADER_BOT, the config file, 'default')")
    parser.add_argument("--config", help="TOML settings file (default: TRADER_CONFIG)")


def target(args: Any) -> tuple[str, str]:
    """``(database URL, bot id)`` for ``args``, read through the settings."""
    settings = load_settings({"db": args.db, "bot": args.bot, "config": args.config})
    return settings.db, settings.bot.value
