"""Throwaway databases for the store and CLI tests.

PostgreSQL comes from ``TRADER_TEST_POSTGRES_URL`` (``scripts/with-postgres`` sets it): without it the
PostgreSQL cases are skipped, loudly, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.contract.conftest import postgres_url_or_skip


def psycopg_url(url: str) -> str:
    """``url`` with the psycopg 3 driver named, for a plain SQLAlchemy engine."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


@contextmanager
def fresh_postgres_schema(password: str | None = None) -> Iterator[str]:
    """A URL whose ``search_path`` is a new, empty schema on the test server; dropped afterwards.

    ``password`` is put in the URL (the test server trusts every local connection, so it is ignored
    there, which lets a test check that it never shows).
    """
    server_url = postgres_url_or_skip()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(psycopg_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        # The store, alembic and its version table all live in the schema named by search_path.
        url = make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
        if password is not None:
            url = url.set(password=password)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
