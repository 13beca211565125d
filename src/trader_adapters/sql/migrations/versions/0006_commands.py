"""Operator commands: ``commands``, a queue and audit log per bot.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24

A new table only (nothing altered). The index on (bot, status) serves the loop's "any pending?" query,
asked every few seconds while it sleeps. Types are spelled out here rather than imported from the models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.types.TypeEngine[Any]:
    return sa.String(32).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def upgrade() -> None:
    """Create ``commands``."""
    op.create_table(
        "commands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.String(32), nullable=False),
        sa.Column("command_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("handled_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commands")),
        sa.UniqueConstraint("bot_id", "command_id", name=op.f("uq_commands_bot_id_command_id")),
    )
    op.create_index(op.f("ix_commands_bot_id_status"), "commands", ["bot_id", "status"])


def downgrade() -> None:
    """Drop ``commands``."""
    op.drop_index(op.f("ix_commands_bot_id_status"), table_name="commands")
    with op.batch_alter_table("commands") as batch:
        batch.drop_constraint(op.f("uq_commands_bot_id_command_id"), type_="unique")
    op.drop_table("commands")
