"""Targets (Zielwerte) of the key figures of § 48a SGB II per year, figure and office (R17).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "targets",
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("figure", sa.String(8), primary_key=True),
        sa.Column("office_id", sa.String(64), primary_key=True),
        sa.Column("value_e1", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("targets")
