"""One module per ``trader-app`` command. Each has ``register(subparsers)``, which adds its parser and
sets ``handler`` (a function of the parsed arguments returning the exit code). Modules import their
heavy dependencies inside the handler, so every command starts fast."""

from trader_app.commands import data, db, rebuild, run, sandbox, trades

COMMANDS = (run, trades, db, sandbox, rebuild, data)

__all__ = ["COMMANDS"]
