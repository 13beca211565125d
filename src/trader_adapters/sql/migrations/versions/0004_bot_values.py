"""Small named values per bot (a sync cursor, a loss-limit baseline...): ``bot_values``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

A new table only. Types are spelled out here rather than imported from the models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``bot_values``."""
    op.create_table(
        "bot_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_values")),
        sa.UniqueConstraint("bot_id", "key", name=op.f("uq_bot_values_bot_id_key")),
    )


def downgrade() -> None:
    """Drop ``bot_values``."""
    op.drop_table("bot_values")
