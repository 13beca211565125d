"""The trading state: one row per bot (active, reducing, halted; reason, source, since, until), so a
pause or halt in force survives a restart.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

A new table only; created in batch mode like the other revisions' changes (SQLite cannot alter tables in
place). Types are spelled out here rather than imported from the models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.types.TypeEngine[Any]:
    return sa.String(32).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def upgrade() -> None:
    """Create ``trading_state``."""
    op.create_table(
        "trading_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.String(32), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("since", _utc(), nullable=False),
        sa.Column("until", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trading_state")),
        sa.UniqueConstraint("bot_id", name=op.f("uq_trading_state_bot_id")),
    )


def downgrade() -> None:
    """Drop ``trading_state``."""
    with op.batch_alter_table("trading_state") as batch:
        batch.drop_constraint(op.f("uq_trading_state_bot_id"), type_="unique")
    op.drop_table("trading_state")
