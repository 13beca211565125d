"""A plan's entry quantity: ``plans.entry_filled`` (the gross quantity its entry bought).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

Without it a plan read back from the store had bought nothing, so an entry that filled in part before a restart
and the rest after it took the later fills' price alone as its entry price (the stop and target in percent, and
the breakeven trail, set from it). Existing plans get the sum of their entry fills.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the column, then fill it from each plan's entry fills (summed as decimals, never as floats)."""
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("entry_filled", sa.String(), nullable=True))
    bind = op.get_bind()
    bought: dict[tuple[str, str], Decimal] = {}
    for bot_id, plan_id, quantity in bind.execute(
        sa.text("SELECT bot_id, plan_id, quantity FROM fills WHERE role = 'entry' AND plan_id IS NOT NULL")
    ):
        bought[(bot_id, plan_id)] = bought.get((bot_id, plan_id), Decimal(0)) + Decimal(quantity)
    for (bot_id, plan_id), quantity in bought.items():
        bind.execute(sa.text("UPDATE plans SET entry_filled = :q WHERE bot_id = :b AND plan_id = :p"),
                     {"q": format(quantity, "f"), "b": bot_id, "p": plan_id})


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("entry_filled")
