"""A real uvicorn server on 127.0.0.1 (in a thread) over a database seeded by a real replay run."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy
import uvicorn

from tests.store.databases import fresh_postgres_schema
from trader_app.api import create_app
from trader_app.api.fleet import Fleet
from trader_app.api.sources import StoreReports
from trader_app.cli import main

TOKEN = "a-test-token-of-32-characters-xx"


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """uvicorn serving ``app`` in a thread until ``stop``."""

    def __init__(self, app: object) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Shut down and wait."""
        self.server.should_exit = True
        self.thread.join(10)


def seed(url: str, *bots: str) -> None:
    """One replay day per bot, through the CLI (in process)."""
    for bot in bots:
        assert main(["run", "--days", "1", "--db", url, "--bot", bot]) == 0


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database with bots ``alpha`` and ``beta``, each with one replay run."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'trader.db'}"
        seed(url, "alpha", "beta")
        yield url
    else:
        with fresh_postgres_schema() as url:
            seed(url, "alpha", "beta")
            yield url


@pytest.fixture(scope="module")
def client(database: str) -> Iterator[httpx.Client]:
    """An HTTP client of a server over ``database`` with the token set."""
    fleet = Fleet(database)
    server = Server(create_app(fleet, TOKEN, report=StoreReports(fleet.store)))
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            yield http
    finally:
        server.stop()


def tmp_sqlite(tmp_path: Path) -> str:
    """A migrated, empty SQLite database."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert main(["db", "upgrade", "--db", url]) == 0
    return url


def store_unreadable_state(url: str, bot: str) -> None:
    """Give ``bot`` a stored trading state this build cannot read (its status then fails as a store error)."""
    with sqlalchemy.create_engine(url).begin() as connection:
        connection.execute(sqlalchemy.text(
            "insert into trading_state(bot_id, state, reason, source, since, until) "
            f"values ('{bot}', 'sleepy', 'x', 'x', '2026-12-04T00:00:00+00:00', NULL)"))
