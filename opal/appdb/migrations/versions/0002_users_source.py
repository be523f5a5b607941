"""Users say where their password is checked: ``local`` (the hash here) or ``directory``.

Every account made before is local. Directory-managed accounts (``opal.signin``) have no local
password; their role and links are re-read from the county's directory at every sign-in.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("source", sa.String(10), nullable=False,
                                     server_default="local"))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("source")
