"""The app database as it was before versioned migrations (users, sessions, audit, runs, throttles).

Exactly what ``metadata.create_all`` made up to then (tests/data/appdb_v0 is such a database),
plus the audit log's append-only guard. A database made before migrations is stamped at this
revision by ``opal.appdb.migrate`` and upgraded from here.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opal.appdb import guard

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255)),
        sa.Column("role", sa.String(20)),
        sa.Column("staff_id", sa.String(64)),
        sa.Column("team_id", sa.String(64)),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("last_seen_at", sa.DateTime, nullable=False),
        sa.Column("role_at_login", sa.String(20)),
    )
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ts", sa.DateTime, nullable=False),
        sa.Column("username", sa.String(64)),
        sa.Column("role", sa.String(20)),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("report", sa.String(10)),
        sa.Column("params", sa.Text),
        sa.Column("format", sa.String(10)),
        sa.Column("row_count", sa.Integer),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("duration_ms", sa.Integer),
        sa.Column("data_as_of", sa.String(10)),
        sa.Column("message", sa.Text),
        sa.Column("client", sa.String(64)),
    )
    op.create_index("ix_audit_log_ts", "audit_log", ["ts"])
    op.create_table(
        "refresh_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("message", sa.Text),
        sa.Column("source_dir", sa.Text),
        sa.Column("as_of", sa.String(10)),
        sa.Column("exported_at", sa.String(40)),
        sa.Column("published_at", sa.DateTime),
        sa.Column("row_counts", sa.Text),
        sa.Column("pid", sa.Integer),
        sa.Column("host", sa.String(255)),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ts", sa.DateTime, nullable=False),
        sa.Column("username", sa.String(64)),
        sa.Column("address", sa.String(64)),
    )
    op.create_index("ix_login_failures_user", "login_failures", ["username", "ts"])
    op.create_index("ix_login_failures_addr", "login_failures", ["address", "ts"])
    op.create_table(
        "downloads",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ts", sa.DateTime, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
    )
    op.create_index("ix_downloads_user", "downloads", ["username", "ts"])
    guard.install_in(op.get_bind())
