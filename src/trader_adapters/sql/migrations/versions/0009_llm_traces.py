"""LLM decision traces: ``llm_traces``, each decision's prompt, answer, signals and outcome (issue 15).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

A new table only (nothing altered). Pruned by the strategy's ``trace_retention_days``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.types.TypeEngine[Any]:
    return sa.String(32).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def upgrade() -> None:
    """Create ``llm_traces``."""
    op.create_table(
        "llm_traces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.String(32), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("trace_id", sa.String(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("signals", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("cost", sa.String(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("replayed", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_llm_traces")),
    )
    op.create_index(op.f("ix_llm_traces_bot_id_at"), "llm_traces", ["bot_id", "at"])
    op.create_index(op.f("ix_llm_traces_bot_id_trace_id"), "llm_traces", ["bot_id", "trace_id"])


def downgrade() -> None:
    """Drop ``llm_traces``."""
    op.drop_index(op.f("ix_llm_traces_bot_id_trace_id"), table_name="llm_traces")
    op.drop_index(op.f("ix_llm_traces_bot_id_at"), table_name="llm_traces")
    op.drop_table("llm_traces")
