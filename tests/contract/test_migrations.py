"""The alembic migrations build exactly the schema the models describe, and newer databases are noticed."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from trader_adapters.sql.migrate import current_revision, head_revision, is_ahead, upgrade_to_head
from trader_adapters.sql.models import metadata
from trader_adapters.sql.store import create_store_engine
from trader_core.model.errors import StoreError


@pytest.fixture
def empty_sqlite_url(tmp_path: Path) -> str:
    """A SQLite file that does not exist yet."""
    return f"sqlite:///{tmp_path / 'fresh.db'}"


def test_an_empty_database_migrated_to_head_matches_the_models(empty_sqlite_url: str) -> None:
    assert current_revision(empty_sqlite_url) is None
    upgrade_to_head(empty_sqlite_url)
    engine = create_store_engine(empty_sqlite_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()
    assert current_revision(empty_sqlite_url) == head_revision()
    assert not is_ahead(empty_sqlite_url)


def test_upgrading_twice_changes_nothing(empty_sqlite_url: str) -> None:
    upgrade_to_head(empty_sqlite_url)
    upgrade_to_head(empty_sqlite_url)
    assert current_revision(empty_sqlite_url) == head_revision()


def test_a_database_stamped_by_newer_code_is_ahead_and_is_not_migrated(empty_sqlite_url: str) -> None:
    upgrade_to_head(empty_sqlite_url)
    engine = create_store_engine(empty_sqlite_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'ffff_from_the_future'"))
    finally:
        engine.dispose()
    assert is_ahead(empty_sqlite_url)
    with pytest.raises(StoreError, match="ffff_from_the_future"):
        upgrade_to_head(empty_sqlite_url)
