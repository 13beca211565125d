"""What people see in the terminal: progress of long jobs (replays, downloads) and tables, through ``rich``.

On a terminal a progress bar with the rate and the time left; elsewhere (a log file, CI, a pipe) a plain line
every tenth of the job, so logs stay readable. Updates are cheap: the bar is told about progress at most every
1/500th of the job, and rich redraws it from its own thread.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

__all__ = ["JobProgress", "ReaderConsole", "key_value_table", "rows_table", "show"]


class ReaderConsole(Console):
    """A rich console that lets a reader going away (``| head``) end as a ``BrokenPipeError``, which the CLI's
    one handler turns into a quiet exit 0, instead of rich's own ``SystemExit(1)``: output cut short by its reader
    is not a failure of the command."""

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError


class _RateColumn(TextColumn):
    """Units per second, in the job's own unit."""

    def __init__(self, unit: str) -> None:
        super().__init__("")
        self.unit = unit

    def render(self, task: Any) -> Any:
        from rich.text import Text

        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} {self.unit}/s", style="progress.data.speed")


class JobProgress:
    """Progress of a job of ``total`` units (``unit`` names them, once): call it with the units done so far.

    ``stream`` defaults to stderr; ``terminal`` (default: whether the stream is a terminal) chooses the bar."""

    def __init__(self, label: str, total: int, unit: str, *, stream: TextIO | None = None,
                 terminal: bool | None = None) -> None:
        self.label, self.unit, self.total = label, unit, max(total, 1)
        self.stream = sys.stderr if stream is None else stream
        is_terminal = self.stream.isatty() if terminal is None else terminal
        self._step = max(1, self.total // 500)  # how often the bar hears about progress
        self._next = 0
        self._next_tenth = 1
        self._bar: Progress | None = None
        self._task: Any = None
        if is_terminal:
            console = ReaderConsole(file=self.stream, force_terminal=True)
            self._bar = Progress(
                TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), MofNCompleteColumn(),
                TextColumn(unit), _RateColumn(unit), TimeRemainingColumn(), console=console, transient=False,
            )
            self._task = self._bar.add_task(label, total=self.total)
            self._bar.start()

    def __call__(self, done: int) -> None:
        if done < self._next:
            return
        self._next = done + self._step
        if self._bar is not None:
            self._bar.update(self._task, completed=min(done, self.total))
            return
        while done * 10 >= self._next_tenth * self.total and self._next_tenth <= 10:
            print(f"{self.label} {self._next_tenth * 10:3d}%  {min(done, self.total):,}/{self.total:,} {self.unit}",
                  file=self.stream)
            self._next_tenth += 1

    def close(self, done: int | None = None) -> None:
        """Finish at ``done`` units (or where it stands) and release the terminal."""
        if done is not None:
            self._next = 0
            self(done)
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def key_value_table(rows: Mapping[str, object], title: str | None = None) -> Table:
    """Two columns, ``name`` and ``value``, for a summary."""
    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    table.add_column("name", style="bold")
    table.add_column("value", overflow="fold")
    for name, value in rows.items():
        table.add_row(name, str(value))
    return table


def rows_table(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], title: str | None = None) -> Table:
    """One row per mapping, the given columns; ``-`` for a missing value."""
    table = Table(title=title, title_justify="left", title_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("-" if row.get(c) is None else str(row.get(c)) for c in columns))
    return table


def show(parts: Iterable[Table | str], plain: str, stream: TextIO | None = None, *,
         terminal: bool | None = None) -> None:
    """On a terminal, print ``parts`` (rich tables and lines); anywhere else print ``plain``, the same content as
    aligned text that scripts read line by line."""
    stream = sys.stdout if stream is None else stream
    if not (stream.isatty() if terminal is None else terminal):
        stream.write(plain if plain.endswith("\n") else plain + "\n")
        return
    console = ReaderConsole(file=stream, force_terminal=True)
    for part in parts:
        console.print(part)
