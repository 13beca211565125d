"""Rows of captured candles and operator commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trader_core.model.commands import CommandName, CommandStatus, OperatorCommand
from trader_core.model.ids import Symbol
from trader_core.model.market import Candle, Timeframe

__all__ = [
    "candle_columns",
    "candle_reader",
    "command_columns",
    "command_from_row",
]


def candle_columns(candle: Candle) -> dict[str, Any]:
    """Column values of a captured candle (without ``bot_id``)."""
    return {"symbol": str(candle.symbol), "timeframe": candle.timeframe.text, "open_time": candle.open_time,
            "open": candle.open, "high": candle.high, "low": candle.low, "close": candle.close,
            "volume": candle.volume}


def candle_reader(symbol: Symbol, timeframe: Timeframe) -> Callable[[Any], Candle]:
    """Rows of one (symbol, timeframe), selected as (open_time, open, high, low, close, volume), as candles
    (validated again: a stored row that is not a valid candle raises)."""

    def read(row: Any) -> Candle:
        return Candle(symbol=symbol, timeframe=timeframe, open_time=row.open_time, open=row.open, high=row.high,
                      low=row.low, close=row.close, volume=row.volume)

    return read


def command_columns(command: OperatorCommand) -> dict[str, Any]:
    """Column values of ``command`` (without ``bot_id``)."""
    return {
        "command_id": command.command_id, "name": command.name.value, "minutes": command.minutes,
        "status": command.status.value, "result": command.result, "created_at": command.created_at,
        "handled_at": command.handled_at,
    }


def command_from_row(row: Any) -> OperatorCommand:
    """The command a commands row holds."""
    return OperatorCommand(
        command_id=row.command_id, name=CommandName(row.name), minutes=row.minutes,
        status=CommandStatus(row.status), result=row.result, created_at=row.created_at,
        handled_at=row.handled_at,
    )
