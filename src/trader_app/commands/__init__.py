"""One module per ``trader-app`` command. Each has ``register(subparsers)``, which adds its parser and
sets ``handler`` (a function of the parsed arguments returning the exit code). Modules import their
heavy dependencies inside the handler, so every command starts fast."""

from trader_app.commands import db, run, trades

COMMANDS = (run, trades, db)

__all__ = ["COMMANDS"]
