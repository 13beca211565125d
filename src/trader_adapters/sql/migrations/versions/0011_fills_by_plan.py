"""Fills by plan: an index on ``fills (bot_id, run_id, plan_id, role)`` (issue 19, the API's round trips).

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-03

An index only (no table or column changes). It lets a page of round trips find a plan's entry fills and the
page's fills without reading every fill of the run.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "ix_fills_bot_id_run_id_plan_id_role"


def upgrade() -> None:
    """Create the index."""
    op.create_index(op.f(_NAME), "fills", ["bot_id", "run_id", "plan_id", "role"])


def downgrade() -> None:
    """Drop the index."""
    op.drop_index(op.f(_NAME), table_name="fills")
