"""Each download a user makes gets the next number of that user (``seq``), so that the per-minute
limit is one indexed lookup (is the download ``limit`` places back younger than a minute?)
instead of counting every download of the last minute: the cost no longer grows with the limit.

The rows there are (the last 16 minutes of counting) are numbered in the order they were made.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("downloads", sa.Column("seq", sa.Integer))
    op.execute("UPDATE downloads SET seq = (SELECT COUNT(*) FROM downloads d2 "
               "WHERE d2.username = downloads.username AND d2.id <= downloads.id)")
    with op.batch_alter_table("downloads") as batch:
        batch.alter_column("seq", existing_type=sa.Integer, nullable=False)
        batch.drop_index("ix_downloads_user")
        batch.create_index("ix_downloads_user_seq", ["username", "seq"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("downloads") as batch:
        batch.drop_index("ix_downloads_user_seq")
        batch.drop_column("seq")
        batch.create_index("ix_downloads_user", ["username", "ts"])
