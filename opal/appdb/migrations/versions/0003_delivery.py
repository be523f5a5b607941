"""Delivery: subscriptions, deliveries (claims, inbox, run history), users.email for notices.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("email", sa.String(254)))
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer),
        sa.Column("audience", sa.String(80)),
        sa.Column("report", sa.String(10), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("format", sa.String(10), nullable=False),
        sa.Column("schedule", sa.String(10), nullable=False),
        sa.Column("weekday", sa.Integer),
        sa.Column("month_day", sa.Integer),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("deleted_at", sa.DateTime),
    )
    op.create_index("ix_subscriptions_user", "subscriptions", ["user_id"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("due_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("report", sa.String(10), nullable=False),
        sa.Column("format", sa.String(10), nullable=False),
        sa.Column("params", sa.Text),
        sa.Column("data_as_of", sa.String(10)),
        sa.Column("row_count", sa.Integer),
        sa.Column("size_bytes", sa.Integer),
        sa.Column("sha256", sa.String(64)),
        sa.Column("file_name", sa.String(120)),
        sa.Column("path", sa.String(255)),
        sa.Column("message", sa.Text),
        sa.Column("claimed_by", sa.String(255)),
        sa.Column("claimed_at", sa.DateTime),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("seen_at", sa.DateTime),
        sa.Column("notified_at", sa.DateTime),
        sa.UniqueConstraint("subscription_id", "user_id", "due_at", name="uq_deliveries_due"),
    )
    op.create_index("ix_deliveries_inbox", "deliveries", ["user_id", "status", "id"])
    op.create_index("ix_deliveries_status", "deliveries", ["status", "id"])
