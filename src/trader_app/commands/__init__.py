"""One module per ``trader-app`` command. Each has ``register(subparsers)``, which adds its parser and
sets ``handler`` (a function of the parsed arguments returning the exit code). Modules import their
heavy dependencies inside the handler, so every command starts fast."""

from trader_app.commands import (
    command,
    data,
    db,
    llm,
    llm_sandbox,
    rebuild,
    report,
    run,
    sandbox,
    serve,
    status,
    trades,
)

COMMANDS = (run, trades, report, db, sandbox, rebuild, data, status, command, serve, llm_sandbox, llm)

__all__ = ["COMMANDS"]
