"""Schema migrations through alembic's Python API, independent of the repository's ``alembic.ini``.

The migrations ship inside this package, so an installed ``trader_adapters`` can upgrade a database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from trader_adapters.sql.store import create_store_engine, describe_url
from trader_core.model.errors import StoreError

__all__ = ["alembic_config", "current_revision", "head_revision", "is_ahead", "upgrade_to_head"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An alembic ``Config`` for the store's migrations; ``connection`` is the database to work on."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise StoreError(f"no migrations found in {MIGRATIONS}")
    return head


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is stamped with; None for an empty database."""
    with _connection(url, "read the schema revision of") as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_ahead(url: str) -> bool:
    """True when the database was migrated by newer code: its revision is unknown here."""
    current = current_revision(url)
    return current is not None and current not in _known_revisions()


def upgrade_to_head(url: str) -> None:
    """Create or upgrade the schema of the database at ``url`` to the newest revision, in one transaction.

    Refuses a database stamped by newer code rather than guessing what its schema is.
    """
    with _connection(url, "migrate") as connection:
        if connection.dialect.name == "postgresql":
            # Two bots starting at once on a fresh database: the second waits, then finds it at head.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727172)")
        current = MigrationContext.configure(connection).get_current_revision()
        if current is not None and current not in _known_revisions():
            raise StoreError(
                f"database {describe_url(url)} is at schema revision {current!r}, which this code does not "
                f"know (newest here: {head_revision()!r}); upgrade the program instead"
            )
        try:
            command.upgrade(alembic_config(connection), "head")
        except CommandError as exc:
            raise StoreError(f"migrating {describe_url(url)} failed: {exc}") from exc


def _known_revisions() -> set[str]:
    return {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


@contextmanager
def _connection(url: str, action: str) -> Iterator[Connection]:
    """A connection in a transaction that commits on success; database errors become ``StoreError``."""
    engine = create_store_engine(url)
    try:
        with engine.begin() as connection:
            yield connection
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot {action} database {describe_url(url)}: {type(exc).__name__}") from exc
    finally:
        engine.dispose()
