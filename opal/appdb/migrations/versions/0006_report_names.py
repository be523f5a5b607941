"""Room for a bundle's name where a report code went (``monatsbericht``: 13 characters): the
``report`` column of the audit log, subscriptions and deliveries grows from 10 to 40.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opal.appdb import guard

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: table -> whether its report column may be null
TABLES = {"audit_log": True, "subscriptions": False, "deliveries": False}


def upgrade() -> None:
    for table, nullable in TABLES.items():
        # SQLite: a copy of the table under the new declaration (its indexes rebuilt);
        # PostgreSQL: ALTER COLUMN ... TYPE, in place
        with op.batch_alter_table(table) as batch:
            batch.alter_column("report", type_=sa.String(40), existing_type=sa.String(10),
                               existing_nullable=nullable)
    guard.install_in(op.get_bind())  # SQLite's copy of audit_log dropped its triggers


def downgrade() -> None:
    for table, nullable in TABLES.items():
        with op.batch_alter_table(table) as batch:
            batch.alter_column("report", type_=sa.String(10), existing_type=sa.String(40),
                               existing_nullable=nullable)
    guard.install_in(op.get_bind())
