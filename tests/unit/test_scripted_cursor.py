"""A signals file fires each line once per bot, across restarts; lines that fell due while the bot was down are
skipped (and said so) unless the operator asks to catch up."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from trader_adapters.memory import InMemoryStore
from trader_adapters.strategies.scripted import load_signals
from trader_core.model import BotId
from trader_core.ports import DecisionContext

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def write(path: Path, *lines: dict[str, object]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def line(minute: int, action: str = "BUY") -> dict[str, object]:
    return {"at": (T0 + timedelta(minutes=minute)).isoformat(), "action": action, "symbol": "BTC/USDT",
            "notional": "600", "reason": f"m{minute}"}


def fire(path: Path, store: InMemoryStore, start: datetime, until: datetime, *, catch_up: bool = False
         ) -> tuple[list[str], list[str]]:
    """One process: start at ``start``, tick every minute to ``until``; (reasons fired, reasons skipped)."""
    source = load_signals(path)
    missed = source.resume(store, start, catch_up=catch_up)
    fired: list[str] = []
    now = start
    while now <= until:
        fired += [s.reason for s in asyncio.run(source.decide(DecisionContext(now=now)))]
        now += timedelta(minutes=1)
    return fired, [m.signal.reason for m in missed]


def test_a_restart_never_fires_a_handled_line_again(tmp_path: Path) -> None:
    path = write(tmp_path / "s.jsonl", line(1), line(2, "CLOSE_POSITION"), line(10))
    store = InMemoryStore(BotId("b"))
    assert fire(path, store, T0, T0 + timedelta(minutes=3)) == (["m1", "m2"], [])
    # Stopped cleanly at minute 3, started again at minute 4: the past lines are done, not due again.
    assert fire(path, store, T0 + timedelta(minutes=4), T0 + timedelta(minutes=11)) == (["m10"], [])
    assert fire(path, store, T0 + timedelta(minutes=12), T0 + timedelta(minutes=20)) == ([], [])


def test_lines_due_while_the_bot_was_down_are_skipped_unless_caught_up(tmp_path: Path) -> None:
    path = write(tmp_path / "s.jsonl", line(1), line(5), line(6), line(30))
    store = InMemoryStore(BotId("b"))
    fire(path, store, T0, T0 + timedelta(minutes=2))
    fired, skipped = fire(path, store, T0 + timedelta(minutes=20), T0 + timedelta(minutes=31))
    assert (fired, skipped) == (["m30"], ["m5", "m6"])
    other = InMemoryStore(BotId("b"))
    fire(path, other, T0, T0 + timedelta(minutes=2))
    assert fire(path, other, T0 + timedelta(minutes=20), T0 + timedelta(minutes=31), catch_up=True) == (
        ["m5", "m6", "m30"], [])


def test_a_line_is_known_by_its_text_so_edits_around_it_do_not_refire_it(tmp_path: Path) -> None:
    store = InMemoryStore(BotId("b"))
    path = write(tmp_path / "s.jsonl", line(1), line(2))
    fire(path, store, T0, T0 + timedelta(minutes=2))
    write(path, line(0, "HOLD"), line(1), line(2), line(2), line(8))  # a line inserted above; one repeated
    fired, skipped = fire(path, store, T0 + timedelta(minutes=3), T0 + timedelta(minutes=9))
    assert fired == ["m8"]
    assert sorted(skipped) == ["m0", "m2"], "the new lines in the past are skipped, the old ones stay done"


def test_each_bot_in_one_database_has_its_own_cursor(tmp_path: Path) -> None:
    path = write(tmp_path / "s.jsonl", line(1))
    alpha = InMemoryStore(BotId("a"))
    beta = InMemoryStore(BotId("b"), alpha.database)
    assert fire(path, alpha, T0, T0 + timedelta(minutes=2))[0] == ["m1"]
    assert fire(path, beta, T0, T0 + timedelta(minutes=2))[0] == ["m1"], "another bot has not handled it"
    assert fire(path, alpha, T0, T0 + timedelta(minutes=2))[0] == [], "alpha has"
