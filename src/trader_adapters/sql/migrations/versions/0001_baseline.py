"""Baseline schema: runs, orders, fills, plans and sequences, every row scoped by bot_id.

Revision ID: 0001
Revises:
Create Date: 2025-05-20

Types are spelled out here rather than imported from the models, so this revision keeps creating the
same schema whatever the models become. Decimals are exact text; times are TIMESTAMP WITH TIME ZONE on
PostgreSQL and fixed-width ISO-8601 UTC text elsewhere (text order is time order).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _decimal() -> sa.types.TypeEngine[Any]:
    return sa.String()


def _utc() -> sa.types.TypeEngine[Any]:
    return sa.String(32).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), nullable=False)


def upgrade() -> None:
    """Create the five tables and their indexes."""
    op.create_table(
        "runs",
        _id(),
        sa.Column("bot_id", sa.String(32), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("started_at", _utc(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("finished_at", _utc(), nullable=True),
        sa.Column("config_json", sa.Text(), nullable=False),
        sa.Column("summary_json", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.UniqueConstraint("bot_id", "run_id", name=op.f("uq_runs_bot_id_run_id")),
    )
    op.create_index(op.f("ix_runs_bot_id_started_at"), "runs", ["bot_id", "started_at"])

    op.create_table(
        "orders",
        _id(),
        sa.Column("bot_id", sa.String(32), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("client_order_id", sa.String(36), nullable=False),
        sa.Column("symbol", sa.String(41), nullable=False),
        sa.Column("side", sa.String(32), nullable=False),
        sa.Column("order_type", sa.String(32), nullable=False),
        sa.Column("quantity", _decimal(), nullable=False),
        sa.Column("price", _decimal(), nullable=True),
        sa.Column("stop_price", _decimal(), nullable=True),
        sa.Column("post_only", sa.Boolean(), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("plan_id", sa.String(), nullable=True),
        sa.Column("venue_order_id", sa.String(), nullable=True),
        sa.Column("filled_quantity", _decimal(), nullable=False),
        sa.Column("exit_reason", sa.String(32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("bot_id", "client_order_id", name=op.f("uq_orders_bot_id_client_order_id")),
    )
    op.create_index(op.f("ix_orders_bot_id_run_id_created_at"), "orders", ["bot_id", "run_id", "created_at"])
    op.create_index(op.f("ix_orders_bot_id_status_created_at"), "orders", ["bot_id", "status", "created_at"])

    op.create_table(
        "fills",
        sa.Column("booking_seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bot_id", sa.String(32), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("venue", sa.String(), nullable=False),
        sa.Column("symbol", sa.String(41), nullable=False),
        sa.Column("trade_id", sa.String(), nullable=False),
        sa.Column("venue_order_id", sa.String(), nullable=False),
        sa.Column("client_order_id", sa.String(36), nullable=True),
        sa.Column("side", sa.String(32), nullable=False),
        sa.Column("price", _decimal(), nullable=False),
        sa.Column("quantity", _decimal(), nullable=False),
        sa.Column("fee_amount", _decimal(), nullable=False),
        sa.Column("fee_asset", sa.String(20), nullable=False),
        sa.Column("time", _utc(), nullable=False),
        sa.Column("liquidity", sa.String(32), nullable=False),
        sa.Column("plan_id", sa.String(), nullable=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("realized_pnl", _decimal(), nullable=False),
        sa.Column("fee_quote", _decimal(), nullable=False),
        sa.PrimaryKeyConstraint("booking_seq", name=op.f("pk_fills")),
        sa.UniqueConstraint(
            "bot_id", "venue", "symbol", "trade_id", name=op.f("uq_fills_bot_id_venue_symbol_trade_id")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_fills_bot_id_run_id"), "fills", ["bot_id", "run_id"])

    op.create_table(
        "plans",
        _id(),
        sa.Column("bot_id", sa.String(32), nullable=False),
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("symbol", sa.String(41), nullable=False),
        sa.Column("side", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("entry_client_order_id", sa.String(36), nullable=False),
        sa.Column("opened_at", _utc(), nullable=False),
        sa.Column("quantity", _decimal(), nullable=False),
        sa.Column("entry_price", _decimal(), nullable=True),
        sa.Column("stop_price", _decimal(), nullable=True),
        sa.Column("target_price", _decimal(), nullable=True),
        sa.Column("stop_pct", _decimal(), nullable=True),
        sa.Column("target_pct", _decimal(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("closed_at", _utc(), nullable=True),
        sa.Column("exit_reason", sa.String(32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_plans_version_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint("bot_id", "plan_id", name=op.f("uq_plans_bot_id_plan_id")),
    )
    op.create_index(op.f("ix_plans_bot_id_run_id_opened_at"), "plans", ["bot_id", "run_id", "opened_at"])
    op.create_index(op.f("ix_plans_bot_id_status_opened_at"), "plans", ["bot_id", "status", "opened_at"])

    op.create_table(
        "sequences",
        _id(),
        sa.Column("bot_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.CheckConstraint("value >= 1", name=op.f("ck_sequences_value_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sequences")),
        sa.UniqueConstraint("bot_id", "name", name=op.f("uq_sequences_bot_id_name")),
    )


def downgrade() -> None:
    """Drop everything the baseline created."""
    op.drop_table("sequences")
    op.drop_index(op.f("ix_plans_bot_id_status_opened_at"), table_name="plans")
    op.drop_index(op.f("ix_plans_bot_id_run_id_opened_at"), table_name="plans")
    op.drop_table("plans")
    op.drop_index(op.f("ix_fills_bot_id_run_id"), table_name="fills")
    op.drop_table("fills")
    op.drop_index(op.f("ix_orders_bot_id_status_created_at"), table_name="orders")
    op.drop_index(op.f("ix_orders_bot_id_run_id_created_at"), table_name="orders")
    op.drop_table("orders")
    op.drop_index(op.f("ix_runs_bot_id_started_at"), table_name="runs")
    op.drop_table("runs")
