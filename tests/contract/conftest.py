"""Store fixtures: one ``make_store`` factory per implementation (memory, SQLite file, PostgreSQL).

Every test gets an empty database; stores of different bots made by one factory share it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from trader_adapters.memory import InMemoryDatabase, InMemoryStore
from trader_adapters.sql.migrate import upgrade_to_head
from trader_adapters.sql.store import SqlStore
from trader_core.model.ids import BotId
from trader_core.ports.store import Store

POSTGRES_URL_VARIABLE = "TRADER_TEST_POSTGRES_URL"
POSTGRES_MISSING = "PostgreSQL not available: set TRADER_TEST_POSTGRES_URL (scripts/check starts one)"

MakeStore = Callable[[str], Store]


def postgres_url_or_skip() -> str:
    """The test server's URL; skip without one, except under CI where a missing server is a failure."""
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail(POSTGRES_MISSING)
    pytest.skip(POSTGRES_MISSING)


def _psycopg_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file migrated from empty to the newest schema."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade_to_head(url)
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema on the test PostgreSQL server, migrated to head; dropped afterwards."""
    server = _psycopg_url(postgres_url_or_skip())
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        # search_path in the URL: the store, alembic and its version table all live in the schema.
        url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
        scoped = url.render_as_string(hide_password=False)
        upgrade_to_head(scoped)
        yield scoped
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def make_store(request: pytest.FixtureRequest) -> Iterator[MakeStore]:
    """A factory ``make_store(bot_id) -> Store`` over one empty database of the parametrised kind."""
    opened: list[Store] = []
    kind = request.param
    if kind == "memory":
        database = InMemoryDatabase()

        def factory(bot: str) -> Store:
            return InMemoryStore(BotId(bot), database)

    else:
        url = request.getfixturevalue("sqlite_url" if kind == "sqlite" else "postgres_url")

        def factory(bot: str) -> Store:
            return SqlStore.open(url, BotId(bot))

    def make(bot: str) -> Store:
        store = factory(bot)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: MakeStore) -> Store:
    """A store for bot ``bot-a``."""
    return make_store("bot-a")
