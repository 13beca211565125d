"""The bot's lease, so that one process at a time runs a bot: ``bot_leases``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

A new table only: one row per bot. Types are spelled out here rather than imported from the models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.types.TypeEngine[Any]:
    return sa.String(32).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def upgrade() -> None:
    """Create ``bot_leases``."""
    op.create_table(
        "bot_leases",
        sa.Column("bot_id", sa.String(32), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("since", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("bot_id", name=op.f("pk_bot_leases")),
    )


def downgrade() -> None:
    """Drop ``bot_leases``."""
    op.drop_table("bot_leases")
