"""Ledger cache and fee details: cached totals, holdings, fees per asset and per-day rows per scope;
the rate a third-asset fee was valued at (and its source) on fills; the fee estimated at submission on
orders.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

New columns are nullable (rows written before this revision have none). Columns are added in batch
mode, so SQLite (which cannot alter tables in place) gets a copy-and-move that keeps every row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _decimal() -> sa.types.TypeEngine[Any]:
    return sa.String()


def _scoped(name: str, *columns: sa.Column[Any], key: tuple[str, ...]) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.String(32), nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint(*key, name=op.f(f"uq_{name}_{'_'.join(key)}")),
    )


def upgrade() -> None:
    """Add the fee columns and the four ledger cache tables."""
    with op.batch_alter_table("fills") as batch:
        batch.add_column(sa.Column("fee_rate", _decimal(), nullable=True))
        batch.add_column(sa.Column("fee_rate_source", sa.String(), nullable=True))
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("estimated_fee", _decimal(), nullable=True))
    _scoped(
        "ledger_totals",
        sa.Column("day_timezone", sa.String(), nullable=False),
        sa.Column("fills", sa.Integer(), nullable=False),
        sa.Column("realized_pnl", _decimal(), nullable=False),
        sa.Column("fees", _decimal(), nullable=False),
        sa.Column("cash", _decimal(), nullable=False),
        key=("bot_id", "scope"),
    )
    _scoped(
        "ledger_holdings",
        sa.Column("symbol", sa.String(41), nullable=False),
        sa.Column("quantity", _decimal(), nullable=False),
        sa.Column("cost", _decimal(), nullable=False),
        key=("bot_id", "scope", "symbol"),
    )
    _scoped(
        "ledger_fees",
        sa.Column("asset", sa.String(20), nullable=False),
        sa.Column("amount", _decimal(), nullable=False),
        key=("bot_id", "scope", "asset"),
    )
    _scoped(
        "ledger_days",
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("fills", sa.Integer(), nullable=False),
        sa.Column("realized_pnl", _decimal(), nullable=False),
        sa.Column("fees", _decimal(), nullable=False),
        sa.Column("cash", _decimal(), nullable=False),
        key=("bot_id", "scope", "day"),
    )


def downgrade() -> None:
    """Drop what this revision added."""
    for name in ("ledger_days", "ledger_fees", "ledger_holdings", "ledger_totals"):
        op.drop_table(name)
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("estimated_fee")
    with op.batch_alter_table("fills") as batch:
        batch.drop_column("fee_rate_source")
        batch.drop_column("fee_rate")
