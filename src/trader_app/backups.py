"""Backups of the store's database: SQLite through its online backup API (a consistent snapshot while a bot
writes), PostgreSQL through ``pg_dump`` (the password in its environment, never on its command line)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Mapping
from contextlib import closing, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from trader_app.storage import SECRET_KEYS, check_url, describe, parse_url, redact, sqlite_path
from trader_core.model import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

__all__ = ["backup_database", "backup_sqlite", "default_backup_path", "find_pg_dump"]


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _free(path: Path) -> Path:
    """``path``, or ``path`` with ``.1``, ``.2``... added when it is taken (two backups in one second)."""
    candidate, number = path, 0
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}.{number}")
    return candidate


def default_backup_path(path: Path, label: str | None = None) -> Path:
    middle = f".{label}" if label else ""
    return _free(path.with_name(f"{path.name}{middle}.{_timestamp()}.bak"))


def backup_sqlite(path: Path, out: Path) -> Path:
    """Copy the SQLite database at ``path`` to ``out`` with SQLite's online backup API.

    The copy is one consistent snapshot that includes what is still in the WAL file, even while a bot
    writes (a plain file copy would miss the WAL and could catch a page half-written). It is written
    under a temporary name and renamed, so ``out`` never holds a partial backup.
    """
    if not path.is_file():
        raise ConfigError(f"no database file at {path}")
    if out.exists():
        raise ConfigError(f"backup file {out} exists already; choose another --out")
    partial = out.with_name(f".{out.name}.partial")
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as source, \
                closing(sqlite3.connect(partial)) as target:
            source.execute("PRAGMA busy_timeout = 5000")
            source.backup(target)  # all pages in one step: one read transaction, one snapshot
        partial.replace(out)
    except (sqlite3.Error, OSError) as exc:
        with suppress(OSError):
            partial.unlink()
        raise ConfigError(f"backing up {path} to {out} failed: {exc}") from None
    return out


def find_pg_dump(path: str | None = None, debian_root: Path = Path("/usr/lib/postgresql")) -> Path | None:
    """``pg_dump`` on ``path`` (default ``$PATH``), else the newest ``/usr/lib/postgresql/<version>/bin``."""
    found = shutil.which("pg_dump", path=path)
    if found:
        return Path(found)
    versions = []
    for candidate in debian_root.glob("*/bin/pg_dump"):
        with suppress(ValueError):
            versions.append((float(candidate.parent.parent.name), candidate))
    return max(versions)[1] if versions else None


def backup_database(url: str, out: Path | None = None, *, pg_dump: Path | None = None,
                    environ: Mapping[str, str] | None = None) -> Path:
    """Back up the database at ``url`` to ``out`` and return the file written.

    SQLite: the online backup API (default ``<file>.<UTC timestamp>.bak``). PostgreSQL: ``pg_dump`` in
    its custom format, for ``pg_restore`` (default ``<database>.<UTC timestamp>.dump`` here). The
    password goes to ``pg_dump`` through its environment, never on its command line.
    """
    check_url(url)
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if path is None:
            raise ConfigError("an in-memory SQLite database cannot be backed up")
        return backup_sqlite(path, out or default_backup_path(path))
    program = pg_dump or find_pg_dump()
    if program is None:
        raise ConfigError("pg_dump not found on PATH nor in /usr/lib/postgresql/*/bin: install the PostgreSQL "
                          "client (apt-get install postgresql-client) to back up a PostgreSQL database")
    target = out or _free(Path(f"{parsed.database or 'postgres'}.{_timestamp()}.dump"))
    if target.exists():
        raise ConfigError(f"backup file {target} exists already; choose another --out")
    partial = target.with_name(f".{target.name}.partial")
    env = dict(os.environ if environ is None else environ)
    # The password as user info, else as libpq's password= query parameter (which _conninfo leaves out).
    queried = next((value for key, value in parsed.query.items() if key.lower() == "password"), None)
    password = parsed.password or (queried if isinstance(queried, str) or queried is None else queried[-1])
    if password:
        env["PGPASSWORD"] = str(password)
    command = [str(program), "--format=custom", "--no-password", f"--file={partial}",
               f"--dbname={_conninfo(parsed)}"]
    try:
        # No shell, a fixed program: the only input is the URL, passed as one argument.
        result = subprocess.run(  # noqa: S603
            command, env=env, capture_output=True, text=True, check=False, timeout=3600,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        with suppress(OSError):
            partial.unlink()
        raise ConfigError(redact(f"running {program} failed: {exc}", url)) from None
    if result.returncode != 0:
        with suppress(OSError):
            partial.unlink()
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        reason = lines[0] if lines else f"exit code {result.returncode}"
        raise ConfigError(redact(f"pg_dump of {describe(url)} failed: {reason}", url))
    partial.replace(target)
    return target


def _conninfo(parsed: URL) -> str:
    """A libpq connection string for ``parsed`` without its password (that goes in ``PGPASSWORD``)."""
    from psycopg.conninfo import make_conninfo

    params: dict[str, str] = {}
    for key, value in parsed.query.items():
        if key.lower() not in SECRET_KEYS:
            params[key] = value if isinstance(value, str) else value[-1]
    parts: dict[str, object] = {"host": parsed.host, "port": parsed.port, "user": parsed.username,
                                "dbname": parsed.database}
    params.update({key: str(part) for key, part in parts.items() if part is not None})
    return make_conninfo("", **params)
