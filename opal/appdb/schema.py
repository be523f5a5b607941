"""The app database: users, sessions, the audit log, refresh runs, throttles, subscriptions, the
inbox (deliveries) and the targets (Zielwerte) of the key figures. Changed only by migrations
(``opal/appdb/migrations``), kept equal to them.

All times are naive UTC ``DateTime`` values (the app writes ``datetime.now(UTC)`` without tzinfo).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

#: where an account's password is checked: the local hash, or the county's directory
SOURCES = ("local", "directory")

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(255)),  #: argon2id; null: cannot log in
    Column("role", String(20)),  #: a name in opal.roles.ROLES; null: no role, sees nothing
    Column("staff_id", String(64)),  #: case_manager: the linked staff id
    Column("team_id", String(64)),  #: team_lead: the linked team id
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    #: local (password hash here) or directory (role and links re-read at every sign-in)
    Column("source", String(10), nullable=False, server_default="local"),
    Column("email", String(254)),  #: delivery notices (no data in them); null: no mail
    Column("office_id", String(64)),  #: office_lead: the linked office id
)

#: server-side sessions: a cookie is only a random id; logout or disable deletes the row
user_sessions = Table(
    "user_sessions", metadata,
    Column("id", String(64), primary_key=True),  #: sha256 of the random token in the cookie
    Column("user_id", Integer, nullable=False, index=True),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False),
    Column("role_at_login", String(20)),  #: a role change ends the session
)

#: append-only: one row per report run, denial, invalid call, login event, admin action
audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", DateTime, nullable=False, index=True),  #: UTC
    Column("username", String(64)),  #: who (null: anonymous)
    Column("role", String(20)),
    Column("action", String(20), nullable=False),  #: run, login, logout, admin, purge ...
    Column("report", String(40)),  #: report code (or bundle name) for runs
    Column("params", Text),  #: JSON of the arguments as given (values truncated)
    Column("format", String(10)),
    Column("row_count", Integer),
    Column("outcome", String(10), nullable=False),  #: ok, denied, invalid, error
    Column("duration_ms", Integer),
    Column("data_as_of", String(10)),  #: data date of the generation the run used
    Column("message", Text),  #: short reason; never personal data
    Column("client", String(64)),  #: web address or "cli"
)

refresh_runs = Table(
    "refresh_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("status", String(10), nullable=False),  #: running, ok, failed
    Column("message", Text),
    Column("source_dir", Text),
    Column("as_of", String(10)),
    Column("exported_at", String(40)),
    Column("published_at", DateTime),
    Column("row_counts", Text),  #: JSON {table: rows}
    Column("pid", Integer),  #: a running run whose pid is gone was killed
    Column("host", String(255)),
)

#: failed logins, per account and per address, for throttling
login_failures = Table(
    "login_failures", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", DateTime, nullable=False),
    Column("username", String(64)),
    Column("address", String(64)),
)
Index("ix_login_failures_user", login_failures.c.username, login_failures.c.ts)
Index("ix_login_failures_addr", login_failures.c.address, login_failures.c.ts)

#: downloads per user, for the per-minute limit; ``seq`` numbers a user's downloads 1, 2, 3 …
#: so that "the download ``limit`` places back" is one index lookup (``opal.web.security``)
downloads = Table(
    "downloads", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", DateTime, nullable=False),
    Column("username", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
)
Index("ix_downloads_user_seq", downloads.c.username, downloads.c.seq, unique=True)

#: what a user (``user_id``) or an admin for a role or team (``audience``) asked to be delivered;
#: never deleted (``deleted_at``), so that a delivery's key never points at a reused id
subscriptions = Table(
    "subscriptions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer),  #: personal: the owner and only recipient
    Column("audience", String(80)),  #: standard: "role:<role>" or "team:<team_id>"
    Column("report", String(40), nullable=False),
    Column("params", Text, nullable=False),  #: JSON {name: value} as given on the report page
    Column("format", String(10), nullable=False),
    Column("schedule", String(10), nullable=False),  #: refresh, weekly, monthly
    Column("weekday", Integer),  #: weekly: 0 = Monday ... 6 = Sunday
    Column("month_day", Integer),  #: monthly: 1 ... 31 (past a month's end: its last day)
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("deleted_at", DateTime),
)
Index("ix_subscriptions_user", subscriptions.c.user_id)

#: one row per subscription, recipient and due time: the claim that makes a delivery happen
#: exactly once, then the inbox entry (Postfach) and the run history (parameters, date, hash)
deliveries = Table(
    "deliveries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", Integer, nullable=False),
    Column("user_id", Integer, nullable=False),
    Column("due_at", DateTime, nullable=False),  #: UTC; for "refresh": the publish time
    Column("status", String(10), nullable=False),  #: pending, running, ok, failed, skipped
    Column("report", String(40), nullable=False),
    Column("format", String(10), nullable=False),
    Column("params", Text),  #: JSON [[label, value], ...] as run
    Column("data_as_of", String(10)),
    Column("row_count", Integer),
    Column("size_bytes", Integer),
    Column("sha256", String(64)),
    Column("file_name", String(120)),  #: server-made
    Column("path", String(255)),  #: relative to OPAL_DATA_DIR
    Column("message", Text),  #: why failed or skipped; never personal data
    Column("claimed_by", String(255)),  #: host:pid of the `opal deliver` making it
    Column("claimed_at", DateTime),
    Column("created_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("seen_at", DateTime),  #: first opening of the inbox after delivery
    Column("notified_at", DateTime),
    UniqueConstraint("subscription_id", "user_id", "due_at", name="uq_deliveries_due"),
)
Index("ix_deliveries_inbox", deliveries.c.user_id, deliveries.c.status, deliveries.c.id)
Index("ix_deliveries_status", deliveries.c.status, deliveries.c.id)

#: the year's target (Zielwert, in %) per key figure of § 48a SGB II and office; office_id ''
#: is the county. ``value_e1`` holds tenths of a percentage point (exact, no float).
targets = Table(
    "targets", metadata,
    Column("year", Integer, primary_key=True),
    Column("figure", String(8), primary_key=True),
    Column("office_id", String(64), primary_key=True),
    Column("value_e1", Integer, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("updated_by", String(64), nullable=False),
)
