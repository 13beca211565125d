"""Opening the store's database: URL checks, schema state, upgrades (backups: ``trader_app.backups``).

Every failure a person can fix (a bad URL, an unknown or unsupported database, a missing driver, a
refused connection, a schema newer than this program) becomes one ``ConfigError`` whose text never
holds a credential of the URL. ``trader-app run`` and ``trader-app db`` share these helpers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import attrs

from trader_core.model import BotId, ConfigError, StoreError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

    from trader_adapters.sql.store import SqlStore

__all__ = [
    "SECRET_KEYS",
    "SUPPORTED",
    "SchemaState",
    "UpgradeResult",
    "check_url",
    "describe",
    "open_store",
    "parse_url",
    "redact",
    "schema_state",
    "sqlite_path",
    "upgrade_database",
]

SUPPORTED = "use sqlite:///FILE or postgresql://user:password@host:port/database"
# Query parameters that carry a credential (libpq reads ``password`` from the query string too).
SECRET_KEYS = ("password", "sslpassword", "secret", "token")


def parse_url(url: str) -> URL:
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
            if any(word in key.lower() for word in SECRET_KEYS):
                found.update([value] if isinstance(value, str) else value)
    # What looks like user:password@ in the raw text, even when the URL does not parse.
    scheme_end = url.find("://")
    at = url.rfind("@")
    if scheme_end >= 0 and at > scheme_end:
        userinfo = url[scheme_end + 3:at]
        if ":" in userinfo:
            typed = userinfo.split(":", 1)[1]
            found.add(typed)
            # An '@' typed unencoded in the password: the URL parser ends the password at the first one and
            # takes the rest for the host, which every message would then show. Each piece is a secret too.
            found.update(typed.split("@"))
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
    """Refuse, with a ``ConfigError``, a URL that is unparsable, of an unsupported database, whose
    driver is not installed, or a SQLite "file" that is a folder. Opens no connection."""
    from sqlalchemy.exc import NoSuchModuleError

    parsed = parse_url(url)
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"unsupported database {backend!r} in {describe(url)}; {SUPPORTED}")
    if backend == "sqlite" and sqlite_path(url) is None:
        # Each connection would get a database of its own, and the run would be gone with the process.
        raise ConfigError(f"an in-memory database ({describe(url)}) keeps nothing a run or another command could "
                          f"read back; {SUPPORTED}")
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
    path = sqlite_path(url)
    if path is not None and path.is_dir():
        raise ConfigError(f"{path} is a folder, not a database file")


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
        # The user's URL, not the read-only form a reader opened (sqlite:///file%3A...?mode=ro&uri=true).
        message = message.replace(describe(read_only_url(url)), describe(url))
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
    if path is not None and path.is_dir():
        raise ConfigError(f"{path} is a folder, not a database file")
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
    from trader_app.backups import backup_sqlite, default_backup_path

    state = schema_state(url, must_exist=False)
    _refuse_ahead(url, state)
    if state.status == "head":
        return UpgradeResult(state.current, state.head, None)
    backup = None
    path = sqlite_path(url)
    if state.current is not None and path is not None:
        # Only a database with a schema holds data worth keeping; an empty one is just created.
        backup = backup_sqlite(path, default_backup_path(path, state.current))
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


def open_store(url: str, bot: BotId, *, migrate: bool = True, read_only: bool = False,
               must_exist: bool = False) -> SqlStore:
    """A ``SqlStore`` for ``bot`` at ``url``, its schema at head.

    With ``migrate``, an older schema is upgraded (a SQLite file is backed up first); a schema
    newer than this code is refused. With ``read_only`` the database must exist and is opened for reading only
    (a read-only file works); with ``must_exist`` a missing SQLite file is refused rather than created (a command
    that only works on what a run stored). Every failure is a ``ConfigError`` whose text hides credentials.
    """
    from trader_adapters.sql.store import SqlStore

    if must_exist:
        _require_existing_sqlite(url)

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
