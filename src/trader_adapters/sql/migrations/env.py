"""Alembic environment of the SQL store: the store's own metadata, batch mode for SQLite.

The database is a connection in ``config.attributes["connection"]`` (how ``migrate.py`` calls it), else
``sqlalchemy.url`` from the config, else ``$TRADER_DB_URL``, else ``sqlite:///trader.db``.
"""

from __future__ import annotations

import os
from contextlib import suppress
from logging.config import fileConfig

from alembic import context

from trader_adapters.sql.models import metadata
from trader_adapters.sql.store import create_store_engine

config = context.config
target_metadata = metadata

if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    # An ini without logging sections raises KeyError: logging then stays as the host program set it up.
    with suppress(KeyError):
        fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or os.environ.get("TRADER_DB_URL") or "sqlite:///trader.db"


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table instead
        compare_type=True,
        **kwargs,  # type: ignore[arg-type]
    )


def run_migrations_offline() -> None:
    """Emit the SQL to stdout instead of running it."""
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the given connection, or on a new engine for the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_store_engine(_url())
    try:
        with engine.connect() as new_connection:
            _configure(connection=new_connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
