"""Files a command writes (``--out``, ``--json``, ``--summary-json``, ``--report``, a recording LLM cassette...)
are checked before anything runs: none may be a folder, the database (a SQLite file or its ``-wal``, ``-shm``
or ``-journal`` file), a file the command reads (``--data``, ``--config``...), or another of its outputs,
and each must be writable if it exists and go into a writable folder that exists (unless its writer creates
folders, as ``--log-dir``).
Writing over any of them would lose data; a refusal is a ``ConfigError`` (exit 2, one line).

An output that is a symbolic link is written through it, to the file it names (as a plain write would), and a
target that exists but is not a regular file (a device, a pipe, a socket) is refused: ``write_output`` is the
one writer of whole output files, and it renames a complete temporary file onto the target, which would replace
the link or the device itself."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Collection, Mapping
from pathlib import Path

from trader_app.storage import sqlite_path
from trader_core.model import ConfigError

__all__ = ["check_outputs", "output_target", "write_output"]

# The files of a SQLite database: its main file and the ones SQLite keeps beside it.
_SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def check_outputs(outputs: Mapping[str, str | Path | None], *, reads: Mapping[str, str | Path | None] | None = None,
                  db: str | None = None, creates_folders: Collection[str] = ()) -> None:
    """Raise ``ConfigError`` when an output (flag -> file; None: not given) would replace the database ``db``
    (a URL), a file in ``reads`` (flag -> file), another output, is a folder or not a regular file, or cannot be
    written: it exists and is not writable, or its folder is missing (unless its flag is in ``creates_folders``),
    not a folder, or not writable."""
    taken: list[tuple[str, Path]] = []
    database = sqlite_path(db) if db else None
    if database is not None:
        if database.is_dir():  # "." or "/" has no name to put "-wal" after; any folder is refused alike
            raise ConfigError(f"{database} is a folder, not a database file")
        for suffix in _SQLITE_SUFFIXES:
            file = database.with_name(database.name + suffix)
            taken.append((f"the database {database}" if not suffix else f"the database's {suffix[1:]} file", file))
    taken += [(f"the file of {flag}", Path(name)) for flag, name in (reads or {}).items() if name]
    for flag, name in outputs.items():
        if not name:
            continue
        path = Path(name)
        target = output_target(flag, name)
        _check_folder(flag, name, target.parent, creates=flag in creates_folders)
        if target.exists() and not os.access(target, os.W_OK):
            # A read-only (or immutable) file: said now, not after the run when its writer fails.
            raise ConfigError(f"{flag} {name} is not writable")
        for what, other in taken:
            if _same_file(path, other):
                raise ConfigError(f"{flag} {name} is {what}; refusing to write over it (choose another file)")
        taken.append((f"the file of {flag}", path))


def output_target(flag: str, name: str | Path) -> Path:
    """The file an output named ``name`` (given as ``flag``) is written to: ``name``, or the file its symbolic
    link names. ``ConfigError`` when that file exists and is a folder or not a regular file."""
    path = Path(name)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        mode = target.stat().st_mode
    except OSError:
        return target  # not there yet (or unreadable: the write says why)
    if stat.S_ISDIR(mode):
        raise ConfigError(f"{flag} {name} is a folder; give a file name")
    if not stat.S_ISREG(mode):
        raise ConfigError(f"{flag} {name} is not a regular file (a device, pipe or socket); give a file name")
    return target


def write_output(flag: str, name: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) as the whole file ``name`` (through a symbolic link to the file it names): into a
    temporary file beside the target, renamed onto it when complete, so the file is never half-written and a
    link is never replaced by a file. An existing file keeps its permissions. ``ConfigError`` (one line) when
    the target is not a regular file or cannot be written; nothing is left behind then."""
    target = output_target(flag, name)
    partial: str | None = None
    try:
        handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(partial, stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o666 & ~_umask())
        os.replace(partial, target)
    except OSError as exc:
        if partial is not None:
            with contextlib.suppress(OSError):
                os.unlink(partial)
        raise ConfigError(f"cannot write {flag} {name}: {exc.strerror or exc}") from exc


def _umask() -> int:
    """The process's umask (read by setting it and putting it back: the CLI has one thread here)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _check_folder(flag: str, name: str | Path, folder: Path, *, creates: bool) -> None:
    """Refuse ``name`` when ``folder`` (its folder) is missing, not a folder or not writable; when the writer
    ``creates`` missing folders, they are made and removed again: a folder the permissions allow but the file system
    does not (``/proc``, or any folder for root, whom ``os.access`` never refuses) is said here, not met by the writer,
    and a refused run leaves nothing behind."""
    if creates and not folder.exists():
        _try_folders(flag, name, folder)
    while creates and not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.exists():
        raise ConfigError(f"{flag} {name}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise ConfigError(f"{flag} {name}: {folder} is not a folder")
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"{flag} {name}: the folder {folder} is not writable")


def _try_folders(flag: str, name: str | Path, folder: Path) -> None:
    """Make ``folder`` and the missing folders above it, then remove what was made; ``ConfigError`` when one cannot be
    made."""
    missing: list[Path] = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    made: list[Path] = []
    try:
        for path in reversed(missing):
            path.mkdir()
            made.append(path)
    except OSError as exc:
        raise ConfigError(f"{flag} {name}: cannot create the folder {folder}: {exc.strerror or exc}") from exc
    finally:
        for path in reversed(made):
            with contextlib.suppress(OSError):
                path.rmdir()


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (through links, relative or absolute; also when neither exists)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except OSError:
        return False
