"""The alembic migrations build exactly the schema the models describe, and newer databases are noticed."""

from __future__ import annotations

from pathlib import Path

import attrs
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


def test_the_entry_quantity_of_plans_stored_before_it_had_a_column_is_rebuilt_from_their_entry_fills(
    tmp_path: Path,
) -> None:
    """Revision 0012 adds ``plans.entry_filled``; a plan stored before it gets the sum of its entry fills, to the
    last digit (summed as decimals)."""
    from alembic import command

    from tests.contract.test_store_contract import a_fill, a_plan, a_run, seed
    from trader_adapters.sql.migrate import alembic_config
    from trader_adapters.sql.store import SqlStore
    from trader_core.model import BotId, OrderRole, Quantity

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade_to_head(url)
    store = SqlStore.open(url, BotId("b"))
    entries = [attrs.evolve(a_fill(f"t-{n}"), role=OrderRole.ENTRY) for n in range(3)]
    seed(store, runs=(a_run(),), plans=(a_plan("p-1").evolve(entry_filled=Quantity("0.00369")),), fills=(
        *entries, a_fill("t-exit")))
    store.close()
    engine = create_store_engine(url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0011")  # as a database written before the column
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
        with engine.connect() as connection:
            rebuilt = connection.execute(text("SELECT entry_filled FROM plans WHERE plan_id = 'p-1'")).scalar_one()
    finally:
        engine.dispose()
    assert rebuilt == "0.00369000", "three entry fills of 0.00123, the exit fill left out"

