"""Retention (``opal purge``): the only way rows leave the audit log, and it records that it did.

One app-DB transaction lifts the append-only guard (``opal.appdb.guard.lifted``), deletes the
audit entries older than the cutoff, puts the guard back and appends a ``purge`` entry (how many
rows, which cutoff); either all of it commits or nothing does. The same transaction drops
throttle rows (``login_failures``, ``downloads``) older than ``THROTTLE_KEEP`` (they only serve
the 15-minute and 1-minute windows) and sessions that can no longer be used. After the commit,
stored output files under ``<OPAL_DATA_DIR>/<d>`` for ``d`` in ``OUTPUT_DIRS`` last modified
before the cutoff are removed (the portal renders downloads in memory, so today there are none).

Inbox entries (``deliveries``) finished more than ``OPAL_INBOX_RETENTION_DAYS`` ago go in the
same transaction (whatever ``DAYS`` says: the inbox has its own period), their files after the
commit; pending or running deliveries are never touched.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, delete, func, or_, select
from sqlalchemy.exc import DBAPIError

from config import Config
from opal.appdb import guard
from opal.appdb.schema import audit_log, deliveries, downloads, login_failures, user_sessions
from opal.audit import record_in
from opal.clock import Clock, system_clock

#: the smallest retention ``opal purge`` accepts without ``--force`` (days)
MIN_DAYS = 30
#: throttle rows are needed for 15 minutes at most
THROTTLE_KEEP = timedelta(hours=1)
#: folders under OPAL_DATA_DIR whose files are stored outputs subject to retention
OUTPUT_DIRS = ("rendered",)


class PurgeError(RuntimeError):
    """The purge could not run (bad period, not the owning account); nothing was removed."""


@dataclass(frozen=True)
class PurgeResult:
    cutoff: datetime  #: naive UTC: entries before it are gone
    audit_rows: int
    throttle_rows: int
    sessions: int
    files: int
    dry_run: bool
    inbox_entries: int = 0

    def summary(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        return (f"purge {'(dry run) ' if self.dry_run else ''}{verb} {self.audit_rows} audit "
                f"entries before {self.cutoff:%Y-%m-%d %H:%M:%S} UTC, {self.throttle_rows} "
                f"throttle rows, {self.sessions} expired sessions, {self.files} stored files, "
                f"{self.inbox_entries} inbox entries")


def operator_name() -> str:
    """The operating-system account that runs the purge (recorded in the audit entry)."""
    try:
        return getpass.getuser()[:64]
    except Exception:  # no passwd entry in a container: still record something
        return "operator"


def old_files(config: Config, cutoff: datetime) -> list[Path]:
    """Stored output files last modified before ``cutoff`` (naive UTC)."""
    limit = cutoff.replace(tzinfo=UTC).timestamp()
    found: list[Path] = []
    for name in OUTPUT_DIRS:
        root = config.data_path / name
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime < limit:
                found.append(path)
    return found


def purge(config: Config, days: int, *, clock: Clock = system_clock, dry_run: bool = False,
          operator: str | None = None) -> PurgeResult:
    """Remove what is older than ``days`` days (see the module docstring); ``days >= 1``."""
    from opal.db import app_engine, init_app_db

    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise PurgeError(f"the retention period must be a whole number of days >= 1, not {days!r}")
    now = clock().astimezone(UTC).replace(tzinfo=None)
    try:
        cutoff = now - timedelta(days=days)
    except OverflowError:
        raise PurgeError(f"{days} days reach back before the year 1") from None
    files = old_files(config, cutoff)
    engine = app_engine(config)
    try:
        init_app_db(engine, config.app_db_schema)
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")  # DDL and DML in one write transaction
            try:
                entries, inbox_files = _purge_inbox(conn, config, now, dry_run)
                result = _purge_rows(conn, config, days, now, cutoff, len(files), dry_run,
                                     operator or operator_name(), entries)
            except DBAPIError as exc:
                conn.rollback()
                raise PurgeError(_explain(exc)) from exc
            except BaseException:
                conn.rollback()
                raise
            if dry_run:
                conn.rollback()
            else:
                conn.commit()
            assert guard.is_installed(conn), "the audit guard must be back after a purge"
    finally:
        engine.dispose()
    if not dry_run:
        for path in files + inbox_files:
            path.unlink(missing_ok=True)
    return result


def _purge_inbox(conn: Connection, config: Config, now: datetime, dry_run: bool
                 ) -> tuple[int, list[Path]]:
    """Delete inbox entries past ``inbox_retention_days``; return how many and their files
    (removed after the commit)."""
    before = now - timedelta(days=config.inbox_retention_days)
    old = (deliveries.c.finished_at < before) & deliveries.c.status.in_(
        ("ok", "failed", "skipped"))
    rows = conn.execute(select(deliveries.c.id, deliveries.c.path).where(old)).all()
    if not dry_run and rows:
        conn.execute(delete(deliveries).where(old))
    root = (config.data_path / "inbox").resolve()
    paths = [(config.data_path / r.path).resolve() for r in rows if r.path]
    return len(rows), [p for p in paths if root in p.parents]


def _purge_rows(conn: Connection, config: Config, days: int, now: datetime, cutoff: datetime,
                files: int, dry_run: bool, operator: str, inbox_entries: int = 0
                ) -> PurgeResult:
    old = audit_log.c.ts < cutoff
    if dry_run:
        audit_rows = int(conn.execute(select(func.count()).select_from(audit_log)
                                      .where(old)).scalar_one())
    else:
        with guard.lifted(conn):
            audit_rows = conn.execute(delete(audit_log).where(old)).rowcount
    throttle_before = now - THROTTLE_KEEP
    throttle_rows = 0
    for table in (login_failures, downloads):
        stmt = delete(table).where(table.c.ts < throttle_before)
        throttle_rows += conn.execute(stmt).rowcount
    dead = or_(user_sessions.c.last_seen_at < now - timedelta(minutes=config.session_idle_minutes),
               user_sessions.c.created_at < now - timedelta(hours=config.session_max_hours))
    sessions = conn.execute(delete(user_sessions).where(dead)).rowcount
    result = PurgeResult(cutoff, audit_rows, throttle_rows, sessions, files, dry_run,
                         inbox_entries)
    if not dry_run:
        record_in(conn, clock=lambda: now.replace(tzinfo=UTC), username=operator, role=None,
                  action="purge", row_count=audit_rows, outcome="ok", client="cli",
                  message=(f"Aufbewahrung {days} Tage: {audit_rows} Protokolleinträge vor "
                           f"{cutoff:%Y-%m-%d %H:%M:%S} UTC gelöscht; {throttle_rows} "
                           f"Drosselungszeilen, {sessions} abgelaufene Sitzungen, {files} "
                           f"gespeicherte Dateien, {inbox_entries} Postfacheinträge "
                           f"(älter als {config.inbox_retention_days} Tage) entfernt"))
    return result


def _explain(exc: DBAPIError) -> str:
    text = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    if "owner" in text or "permission" in text.lower():
        return (f"the database refused the purge ({text}); run `opal purge` with the account "
                "that owns the app tables (OPAL_APP_DB_URL of the operator), not the portal's")
    return f"the database refused the purge ({text}); nothing was removed"
