"""LLM calls: ``llm_calls``, what each model call of a bot cost (issue 15).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

A new table only (nothing altered). Costs are exact decimal text, like every money column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.types.TypeEngine[Any]:
    return sa.String(32).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def upgrade() -> None:
    """Create ``llm_calls``."""
    op.create_table(
        "llm_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.String(32), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("trace_id", sa.String(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("tokens_in", sa.Integer(), nullable=True),
        sa.Column("tokens_out", sa.Integer(), nullable=True),
        sa.Column("cost", sa.String(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("replayed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_llm_calls")),
    )
    op.create_index(op.f("ix_llm_calls_bot_id_run_id"), "llm_calls", ["bot_id", "run_id"])


def downgrade() -> None:
    """Drop ``llm_calls``."""
    op.drop_index(op.f("ix_llm_calls_bot_id_run_id"), table_name="llm_calls")
    op.drop_table("llm_calls")
