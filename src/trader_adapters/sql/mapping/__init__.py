"""Conversion between table rows and the core's records; the only place that knows both shapes."""

from __future__ import annotations

from trader_adapters.sql.mapping.ledger import (
    day_columns,
    fee_columns,
    holding_columns,
    ledger_from_rows,
    totals_columns,
    trading_state_columns,
    trading_state_from_row,
)
from trader_adapters.sql.mapping.operations import (
    candle_columns,
    candle_reader,
    command_columns,
    command_from_row,
)
from trader_adapters.sql.mapping.orders import (
    FILL_READ_COLUMNS,
    fill_columns,
    fill_from_row,
    fill_reader,
    order_columns,
    order_from_row,
    plan_columns,
    plan_from_row,
    run_columns,
    run_from_row,
)

__all__ = [
    "FILL_READ_COLUMNS",
    "candle_columns",
    "candle_reader",
    "command_columns",
    "command_from_row",
    "day_columns",
    "fee_columns",
    "fill_columns",
    "fill_from_row",
    "fill_reader",
    "holding_columns",
    "ledger_from_rows",
    "order_columns",
    "order_from_row",
    "plan_columns",
    "plan_from_row",
    "run_columns",
    "run_from_row",
    "totals_columns",
    "trading_state_columns",
    "trading_state_from_row",
]
