"""Opening and looking after the store's database: URL checks, schema state, upgrades, backups.

Every failure a person can fix (a bad URL, an unknown or unsupported database, a missing driver, a
refused connection, a schema newer than this program) becomes one ``ConfigError`` whose text never
holds a credential of the URL. ``trader-app run`` and ``trader-app db`` share these helpers.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import attrs

from trader_core.model import BotId, ConfigError, StoreError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

    from trader_adapters.sql.store import SqlStore

__all__ = [
    "SUPPORTED",
    "SchemaState",
    "UpgradeResult",
    "backup_database",
    "backup_sqlite",
    "check_url",
    "describe",
    "find_pg_dump",
    "open_store",
    "redact",
    "schema_state",
    "sqlite_path",
    "upgrade_database",
]

SUPPORTED = "use sqlite:///FILE or postgresql://user:password@host:port/database"
# Query parameters that carry a credential (libpq reads ``password`` from the query string too).
_SECRET_KEYS = ("password", "sslpassword", "secret", "token")


def _parse(url: str) -> URL:
    """The parsed URL, or a ``ConfigError`` that does not repeat the (possibly secret-bearing) text."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url)
    except (ArgumentError, ValueError) as exc:
        # ValueError: a non-numeric port. The URL itself is not shown: unparsed, its secrets are unknown.
        raise ConfigError(f"not a database URL ({type(exc).__name__}); {SUPPORTED}") from None


def _secrets(url: str) -> list[str]:
    """Every credential in ``url``, as typed and as decoded, longest first (so none is half-replaced)."""
    from sqlalchemy.engine import make_url

    found: set[str] = set()
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - an unparsable URL: fall back to the text between ':' and '@' below
        parsed = None
    if parsed is not None:
        if parsed.password:
            found.add(str(parsed.password))
        for key, value in parsed.query.items():
            if any(word in key.lower() for word in _SECRET_KEYS):
                found.update([value] if isinstance(value, str) else value)
    # What looks like user:password@ in the raw text, even when the URL does not parse.
    scheme_end = url.find("://")
    at = url.rfind("@")
    if scheme_end >= 0 and at > scheme_end:
        userinfo = url[scheme_end + 3:at]
        if ":" in userinfo:
            found.add(userinfo.split(":", 1)[1])
    found |= {quote(secret, safe="") for secret in found}
    return sorted((secret for secret in found if secret), key=len, reverse=True)


def redact(text: str, url: str) -> str:
    """``text`` with every credential of ``url`` replaced by ``***``."""
    for secret in _secrets(url):
        text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", "***", text)
    return text


def describe(url: str) -> str:
    """The URL as it may be shown to a person: password and secret query parameters hidden."""
    from trader_adapters.sql.store import describe_url

    return redact(describe_url(url), url)


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (None for other databases and in-memory SQLite)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    database = str(parsed.database)
    if database.startswith("file:") and str(parsed.query.get("uri", "")).lower() == "true":
        # SQLite's URI form (sqlite:///file:trader.db?mode=ro&uri=true) names the same file.
        database = database.removeprefix("file:")
        if database in ("", ":memory:") or parsed.query.get("mode") == "memory":
            return None
    return Path(database)


def _opened_read_only(url: str) -> bool:
    """Whether a SQLite URL asks for the file read-only (``mode=ro`` or ``immutable=1``)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        query = make_url(url).query
    except (ArgumentError, ValueError):
        return False
    return query.get("mode") == "ro" or query.get("immutable") == "1"


def check_url(url: str) -> None:
    """Refuse, with a ``ConfigError``, a URL that is unparsable, of an unsupported database, or whose
    driver is not installed. Opens no connection."""
    from sqlalchemy.exc import NoSuchModuleError

    parsed = _parse(url)
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"unsupported database {backend!r} in {describe(url)}; {SUPPORTED}")
    try:
        dialect = parsed.set(drivername="postgresql+psycopg").get_dialect() if parsed.drivername == "postgresql" \
            else parsed.get_dialect()
        dialect.import_dbapi()
    except NoSuchModuleError:
        raise ConfigError(f"unknown database driver {parsed.drivername!r} in {describe(url)}; {SUPPORTED}") from None
    except ImportError as exc:
        raise ConfigError(
            f"the driver for {describe(url)} is not installed ({exc.name or exc}); {SUPPORTED} "
            "(PostgreSQL goes through psycopg 3: pip install 'psycopg[binary]')"
        ) from None
    if getattr(dialect, "is_async", False):
        raise ConfigError(f"driver {parsed.drivername!r} is asynchronous; the store needs a synchronous one; "
                          f"{SUPPORTED}")


@contextmanager
def config_errors(url: str) -> Iterator[None]:
    """Turn a ``StoreError`` (or a ``ConfigError``) raised inside into a ``ConfigError`` that names the
    driver's reason (``Connection refused``...) and holds no credential of ``url``."""
    try:
        yield
    except ConfigError as exc:
        raise ConfigError(redact(str(exc), url)) from None
    except StoreError as exc:
        message = str(exc)
        reason = _driver_reason(exc)
        if reason and reason not in message:
            message = f"{message} ({reason})"
        # from None: the chained driver exception is not shown to the operator, and cannot leak later.
        raise ConfigError(redact(message, url)) from None


def _driver_reason(exc: BaseException) -> str:
    """The first line of the database driver's own message, found down the exception chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException):
            lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
            if lines:
                # psycopg: "connection failed: connection to server at ... failed: Connection refused"
                return lines[0].removeprefix("connection failed: ")
        current = current.__cause__ or current.__context__
    return ""


@attrs.frozen
class SchemaState:
    """Where a database's schema stands against this program's migrations."""

    current: str | None
    head: str
    ahead: bool

    @property
    def status(self) -> str:
        """``head``, ``behind`` (older or empty: ``db upgrade`` fixes it) or ``ahead`` (newer code wrote it)."""
        if self.current == self.head:
            return "head"
        return "ahead" if self.ahead else "behind"

    def describe(self) -> str:
        """One line: the revision (or ``empty``) and what it means."""
        revision = self.current or "empty"
        if self.status == "head":
            return f"{revision} (head)"
        if self.status == "ahead":
            return f"{revision} (ahead: unknown to this program, whose head is {self.head}; upgrade the program)"
        return f"{revision} (behind: head is {self.head}; run trader-app db upgrade)"


@attrs.frozen
class UpgradeResult:
    """What an upgrade did: the revisions before and after, and the backup taken first (SQLite)."""

    before: str | None
    after: str
    backup: Path | None

    @property
    def changed(self) -> bool:
        """False when the database was at head already."""
        return self.before != self.after


def _require_existing_sqlite(url: str) -> None:
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        raise ConfigError(f"no database file at {path}")


def schema_state(url: str, *, must_exist: bool = True) -> SchemaState:
    """The schema revision of the database at ``url`` against this program's head.

    With ``must_exist``, a missing SQLite file is an error instead of being created empty.
    """
    from trader_adapters.sql.migrate import current_revision, head_revision, is_ahead

    check_url(url)
    if must_exist:
        _require_existing_sqlite(url)
    path = sqlite_path(url)
    probe = read_only_url(url) if path is not None and path.exists() else url  # reading needs no write access
    with config_errors(url):
        current = current_revision(probe)
        head = head_revision()
        ahead = current is not None and current != head and is_ahead(probe)
        return SchemaState(current, head, ahead)


def _refuse_ahead(url: str, state: SchemaState) -> None:
    if state.status == "ahead":
        raise ConfigError(
            f"database {describe(url)} is at schema revision {state.current!r}, which this program does not "
            f"know (its newest is {state.head!r}); upgrade the program instead"
        )


def upgrade_database(url: str) -> UpgradeResult:
    """Create or upgrade the schema at ``url`` to head; a SQLite file is backed up first.

    A database newer than this program is refused (``ConfigError``), never touched.
    """
    from trader_adapters.sql.migrate import upgrade_to_head

    state = schema_state(url, must_exist=False)
    _refuse_ahead(url, state)
    if state.status == "head":
        return UpgradeResult(state.current, state.head, None)
    backup = None
    path = sqlite_path(url)
    if state.current is not None and path is not None:
        # Only a database with a schema holds data worth keeping; an empty one is just created.
        backup = backup_sqlite(path, _default_backup_path(path, state.current))
    with config_errors(url):
        upgrade_to_head(url)
    return UpgradeResult(state.current, state.head, backup)


def read_only_url(url: str) -> str:
    """``url`` opened for reading only: a SQLite file read with ``mode=ro`` (nothing created, nothing written),
    and ``immutable=1`` when its folder cannot be written (a WAL database needs its ``-shm`` file otherwise).
    Other databases are returned as they are."""
    path = sqlite_path(url)
    if path is None:
        return url
    flags = "mode=ro" if os.access(path.resolve().parent, os.W_OK) else "mode=ro&immutable=1"
    return f"sqlite:///file:{path.resolve()}?{flags}&uri=true"


def _refuse_read_only(url: str) -> None:
    path = sqlite_path(url)
    if path is not None and (_opened_read_only(url) or (
            path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)))):
        raise ConfigError(f"database {path} is read-only (this command writes to it): use a copy you can write, "
                          "or a command that only reads (status, trades, report)")


def open_store(url: str, bot: BotId, *, migrate: bool = True, read_only: bool = False) -> SqlStore:
    """A ``SqlStore`` for ``bot`` at ``url``, its schema at head.

    With ``migrate``, an older schema is upgraded (a SQLite file is backed up first); a schema
    newer than this code is refused. With ``read_only`` the database must exist and is opened for reading only
    (a read-only file works). Every failure is a ``ConfigError`` whose text hides credentials.
    """
    from trader_adapters.sql.store import SqlStore

    if read_only:
        state = schema_state(url, must_exist=True)  # never creates a missing file
        _refuse_ahead(url, state)
        if state.status != "head":
            raise ConfigError(
                f"database schema is at {state.current or 'nothing'}, not {state.head}: run trader-app db upgrade"
            )
        with config_errors(url):
            return SqlStore.open(read_only_url(url), bot)
    _refuse_read_only(url)
    if migrate:
        upgrade_database(url)
    else:
        state = schema_state(url, must_exist=True)  # a command that does not migrate never creates a database
        _refuse_ahead(url, state)
        if state.status != "head":
            raise ConfigError(
                f"database schema is at {state.current or 'nothing'}, not {state.head}: run trader-app db upgrade"
            )
    with config_errors(url):
        return SqlStore.open(url, bot)


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _free(path: Path) -> Path:
    """``path``, or ``path`` with ``.1``, ``.2``... added when it is taken (two backups in one second)."""
    candidate, number = path, 0
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}.{number}")
    return candidate


def _default_backup_path(path: Path, label: str | None = None) -> Path:
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
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if path is None:
            raise ConfigError("an in-memory SQLite database cannot be backed up")
        return backup_sqlite(path, out or _default_backup_path(path))
    program = pg_dump or find_pg_dump()
    if program is None:
        raise ConfigError("pg_dump not found on PATH nor in /usr/lib/postgresql/*/bin: install the PostgreSQL "
                          "client (apt-get install postgresql-client) to back up a PostgreSQL database")
    target = out or _free(Path(f"{parsed.database or 'postgres'}.{_timestamp()}.dump"))
    if target.exists():
        raise ConfigError(f"backup file {target} exists already; choose another --out")
    partial = target.with_name(f".{target.name}.partial")
    env = dict(os.environ if environ is None else environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
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
        if key.lower() not in _SECRET_KEYS:
            params[key] = value if isinstance(value, str) else value[-1]
    parts: dict[str, object] = {"host": parsed.host, "port": parsed.port, "user": parsed.username,
                                "dbname": parsed.database}
    params.update({key: str(part) for key, part in parts.items() if part is not None})
    return make_conninfo("", **params)
