"""Users may be linked to an office: ``office_lead`` (the head of a local Jobcenter) sees the
aggregates of the office whose ``office_id`` is stored here.

Every account made before has no office (null): nothing changes for them.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("office_id", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("office_id")
