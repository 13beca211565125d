"""Database fixtures of the store tests: a migrated SQLite file or a fresh PostgreSQL schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.store.databases import fresh_postgres_schema
from trader_adapters.sql.migrate import upgrade_to_head


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    """A new, empty schema on the test PostgreSQL server (skipped without one, failing under CI)."""
    with fresh_postgres_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database migrated to head: a SQLite file, or a fresh schema on the test PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("empty_postgres_url")
    upgrade_to_head(url)
    return url
