"""Opening the store for a command: migrate (with a SQLite backup first) or refuse, with one clear error."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from trader_core.model import BotId, ConfigError, StoreError

if TYPE_CHECKING:
    from trader_adapters.sql.store import SqlStore

__all__ = ["open_store", "sqlite_path"]


def sqlite_path(url: str) -> Path | None:
    """The file behind a ``sqlite:///`` URL (None for other databases and in-memory SQLite)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url in (prefix, prefix + ":memory:"):
        return None
    return Path(url[len(prefix):].split("?", 1)[0])


def open_store(url: str, bot: BotId, *, migrate: bool = True) -> SqlStore:
    """A ``SqlStore`` for ``bot`` at ``url``, its schema at head.

    With ``migrate``, an older schema is upgraded (a SQLite file is copied aside first); a schema
    newer than this code is refused. Every failure is a ``ConfigError`` whose text hides passwords.
    """
    from trader_adapters.sql.migrate import current_revision, head_revision, upgrade_to_head
    from trader_adapters.sql.store import SqlStore

    try:
        current = current_revision(url)
        head = head_revision()
        if current != head:
            if not migrate:
                raise ConfigError(
                    f"database schema is at {current or 'nothing'}, not {head}: run trader-app db upgrade"
                )
            path = sqlite_path(url)
            if current is not None and path is not None and path.exists():
                backup = path.with_name(f"{path.name}.{current}.bak")
                shutil.copy2(path, backup)
            upgrade_to_head(url)
        return SqlStore.open(url, bot)
    except StoreError as exc:
        raise ConfigError(str(exc)) from exc
