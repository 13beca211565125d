"""Captured OHLCV candles: ``candles``, one row per (bot, symbol, timeframe, candle open time).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

A new table only (nothing altered, so SQLite needs no table rebuild; the downgrade drops the unique
constraint in batch mode like 0003). The unique key makes a repeated capture an update, never a
duplicate. Types are spelled out here rather than imported from the models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.types.TypeEngine[Any]:
    return sa.String(32).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def upgrade() -> None:
    """Create ``candles``."""
    op.create_table(
        "candles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(41), nullable=False),
        sa.Column("timeframe", sa.String(16), nullable=False),
        sa.Column("open_time", _utc(), nullable=False),
        sa.Column("open", sa.String(), nullable=False),
        sa.Column("high", sa.String(), nullable=False),
        sa.Column("low", sa.String(), nullable=False),
        sa.Column("close", sa.String(), nullable=False),
        sa.Column("volume", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_candles")),
        sa.UniqueConstraint("bot_id", "symbol", "timeframe", "open_time",
                            name=op.f("uq_candles_bot_id_symbol_timeframe_open_time")),
    )


def downgrade() -> None:
    """Drop ``candles``."""
    with op.batch_alter_table("candles") as batch:
        batch.drop_constraint(op.f("uq_candles_bot_id_symbol_timeframe_open_time"), type_="unique")
    op.drop_table("candles")
