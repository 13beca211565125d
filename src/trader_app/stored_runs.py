"""A run as the store holds it (its record, plans, fills and LLM calls, and for a report the candles captured while
it ran), read the one way every reader does: ``trader-app trades`` and ``report`` and the API's report source."""

from __future__ import annotations

import json
from collections.abc import Sequence

import attrs

from trader_core.model import (
    BotId,
    Candle,
    ConfigError,
    FillRecord,
    InvalidValueError,
    Plan,
    RunId,
    RunRecord,
    Symbol,
    Timeframe,
)
from trader_core.model.llm import LlmCallRecord
from trader_core.ports import UnitOfWork

__all__ = ["StoredRun", "captured_prices", "find_run", "no_runs", "read_run"]


@attrs.frozen
class StoredRun:
    """One run of a bot with everything the readers of a finished or running run need (``captured``: when asked
    for, see ``captured_prices``)."""

    record: RunRecord
    plans: tuple[Plan, ...]
    fills: tuple[FillRecord, ...]
    llm_calls: tuple[LlmCallRecord, ...]
    captured: tuple[Candle, ...] = ()


def no_runs(bot: str, db: str) -> ConfigError:
    """The refusal for a bot that has no run in the store: an unknown bot (trades, report, rebuild, status,
    command)."""
    return ConfigError(f"bot {bot} has no runs in {db}")


def find_run(uow: UnitOfWork, run: str | None, *, prices: bool = False) -> StoredRun | None:
    """Run ``run`` of the unit of work's bot (its latest when ``None``), or ``None`` when there is no such run;
    with ``prices``, the candles captured while it ran too."""
    record = uow.runs.find(RunId(run)) if run else uow.runs.find_latest()
    if record is None:
        return None
    fills = tuple(uow.fills.list_for_run(record.run_id))
    return StoredRun(record, tuple(uow.plans.list_for_run(record.run_id)), fills,
                     tuple(uow.llm_calls.list_calls(record.run_id)),
                     captured_prices(uow, record, fills) if prices else ())


def captured_prices(uow: UnitOfWork, record: RunRecord, fills: Sequence[FillRecord]) -> tuple[Candle, ...]:
    """The candles the bot's OHLCV capture stored (paper, sandbox and live runs; never a replay) of the run's
    symbols (configured, and those it traded) at the run's timeframe, closed while the run ran; by close time.
    As many as the capture keeps (``ohlcv_max_rows``, ``ohlcv_max_age_days``)."""
    if record.mode == "replay":
        return ()
    try:
        config = json.loads(record.config_json)
        timeframe = Timeframe(str(config.get("timeframe") or "1m"))
        configured = {Symbol.parse(s) for s in str(config.get("symbols") or "").split(",") if s.strip()}
    except (ValueError, AttributeError, InvalidValueError):
        return ()
    end = record.finished_at
    kept = [candle for symbol in sorted(configured | {f.fill.symbol for f in fills}, key=str)
            for candle in uow.candles.list_for(symbol, timeframe)
            if candle.close_time >= record.started_at and (end is None or candle.close_time <= end)]
    return tuple(sorted(kept, key=lambda c: c.close_time))


def read_run(db: str, bot: str, run: str | None, *, prices: bool = False) -> StoredRun:
    """Run ``run`` (default: the latest) of ``bot`` in the database at ``db``, opened read-only (``prices``: as
    ``find_run``). ``ConfigError`` (one line) for a bad bot id, a missing database or run."""
    from trader_app.storage import open_store

    try:
        bot_id = BotId(bot)
    except InvalidValueError as exc:
        raise ConfigError(str(exc)) from exc
    store = open_store(db, bot_id, read_only=True)
    try:
        with store.unit_of_work() as uow:
            found = find_run(uow, run, prices=prices)
    finally:
        store.close()
    if found is None:
        raise ConfigError(f"no run {run!r} for bot {bot}") if run else no_runs(bot, db)
    return found
