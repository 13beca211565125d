"""``trader-app db``: database operations for operators (upgrade, current, check, backup).

Exit codes follow the CLI's (0 ok, 2 bad URL, unreachable database or refused operation, 1 unexpected),
with one addition: ``db check`` exits 1 when it could read the database but its schema is not at head.
1 is the answer "no" (as with ``grep`` or ``diff``): a deployment script can tell "needs an upgrade"
(1) from "could not even look" (2) without parsing text.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from trader_app.backups import backup_database
from trader_app.outputs import check_outputs
from trader_app.settings import load_settings
from trader_app.storage import describe, schema_state, upgrade_database

__all__ = ["EXIT_NOT_AT_HEAD", "register"]

EXIT_NOT_AT_HEAD = 1


def register(sub: Any) -> None:
    """Add ``db`` and its four actions."""
    db = sub.add_parser("db", help="database operations: upgrade, current, check, backup")
    actions = db.add_subparsers(dest="action", required=True, parser_class=type(db))

    def action(name: str, help_text: str) -> Any:
        parser = actions.add_parser(name, help=help_text, description=help_text)
        parser.add_argument("--db", help="database URL (default: TRADER_DB, the config file, sqlite:///trader.db)")
        parser.add_argument("--config", help="TOML settings file to read the database URL from")
        return parser

    action("upgrade", "create or upgrade the schema to this program's head (a SQLite file is backed up first)"
           ).set_defaults(handler=upgrade_command)
    action("current", "print the schema revision and whether it is head, behind or ahead"
           ).set_defaults(handler=current_command)
    action("check", "exit 0 when the schema is at head, 1 (with the reason) otherwise"
           ).set_defaults(handler=check_command)
    backup = action("backup", "copy the database to a file (SQLite backup API, or pg_dump for PostgreSQL)")
    backup.add_argument("--out", type=Path,
                        help="backup file (default: <file>.<UTC time>.bak for SQLite, "
                             "<database>.<UTC time>.dump for PostgreSQL)")
    backup.set_defaults(handler=backup_command)


def _url(args: Any) -> str:
    # Through the settings, so TRADER_DB and the config file name the database exactly as for ``run``.
    url: str = load_settings({"db": args.db, "config": args.config}).db
    return url


def upgrade_command(args: Any) -> int:
    """Bring the schema to head and say what happened."""
    url = _url(args)
    result = upgrade_database(url)
    if result.backup is not None:
        print(f"backed up {describe(url)} to {result.backup}")
    if result.changed:
        print(f"upgraded {describe(url)} from {result.before or 'empty'} to {result.after}")
    else:
        print(f"{describe(url)} is at head {result.after} already; nothing to do")
    return 0


def current_command(args: Any) -> int:
    """Print the revision (``empty`` for a database without a schema) and where it stands."""
    print(schema_state(_url(args)).describe())
    return 0


def check_command(args: Any) -> int:
    """0 at head; ``EXIT_NOT_AT_HEAD`` with a one-line reason on stderr otherwise."""
    url = _url(args)
    state = schema_state(url)
    if state.status == "head":
        print(f"{describe(url)} is at head {state.head}")
        return 0
    print(f"trader-app: db check: {describe(url)} is not at head: {state.describe()}", file=sys.stderr)
    return EXIT_NOT_AT_HEAD


def backup_command(args: Any) -> int:
    """Write a backup and print its path."""
    url = _url(args)
    check_outputs({"--out": args.out}, db=url)
    written = backup_database(url, args.out)
    print(f"backed up {describe(url)} to {written}")
    return 0
