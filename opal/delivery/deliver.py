"""`opal deliver`: make every due delivery exactly once, each under its recipient's scope now.

Three steps, safe from cron, a systemd timer and several hosts at once:

1. **Plan**: for every subscription its latest due moment (``schedule``) and its recipients now
   (the owner; every user of the role; every user of the team: its team leads and the case
   managers whose staff belongs to it in the live data) give rows ``(subscription, recipient,
   due)`` inserted as ``pending`` unless the unique key ``uq_deliveries_due`` already holds them.
   The key makes a delivery happen at most once, whoever plans it.
2. **Claim** one pending row at a time: PostgreSQL ``FOR UPDATE SKIP LOCKED`` (two processes
   share the work, never the row), SQLite a ``BEGIN IMMEDIATE`` transaction (one writer at a
   time reads and marks the row). A row left ``running`` by a process that died (same host and
   its pid gone, or claimed more than ``STALE_CLAIM`` ago) is pending again.
3. **Make** it: a disabled recipient, or one the engine no longer lets run the report (role,
   linkage in the live data), gets nothing (``skipped``; the audit log says why). Otherwise the
   engine runs the report as that user (client ``deliver``), the file is written under
   ``<OPAL_DATA_DIR>/inbox/<user id>/`` with its size and SHA-256, and the row becomes the inbox
   entry. A list over the export limit fails loudly in the entry, never truncated.

Then one notice per recipient (``notify``), if mail is configured.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from config import Config
from opal.appdb.schema import deliveries, users
from opal.audit import record
from opal.clock import Clock, system_clock
from opal.context import Context
from opal.db import init_app_db
from opal.delivery import subscriptions as subs
from opal.delivery.schedule import due_since
from opal.errors import AccessDenied, ExportTooLarge, OpalError, ParameterError, QueryFailed
from opal.pipeline import RunRequest, run, run_bundle
from opal.refresh.publish import live_generation
from opal.renderers import Rendered, get_renderer
from opal.renderers.cells import format_param
from opal.result import Result
from opal.users import User

log = logging.getLogger(__name__)

#: a claim older than this is taken to be from a process that died on another host
STALE_CLAIM = timedelta(hours=2)
INBOX_DIR = "inbox"
CLIENT = "deliver"


@dataclass
class DeliverResult:
    """What one `opal deliver` did (or, dry run, would do)."""

    due: int = 0  #: rows planned by this run (new pending rows)
    delivered: int = 0
    failed: int = 0
    skipped: int = 0
    notices: int = 0
    notices_failed: int = 0
    dry_run: bool = False
    planned: list[str] = field(default_factory=list)  #: dry run: one line per due delivery

    def summary(self) -> str:
        if self.dry_run:
            return f"deliver (dry run): {self.due} deliveries due, nothing made"
        line = (f"deliver: {self.delivered} delivered, {self.failed} failed, {self.skipped} "
                f"skipped (recipient disabled or not allowed)")
        if self.notices or self.notices_failed:
            line += f", {self.notices} notices mailed"
            if self.notices_failed:
                line += f", {self.notices_failed} notices not sent (see log)"
        return line


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _published_at(live: Any) -> datetime | None:
    if live is None or not getattr(live, "published_at", None):
        return None
    return datetime.fromisoformat(str(live.published_at).replace("Z", "+00:00")).astimezone(UTC)


def _users(engine: Engine) -> dict[int, User]:
    with engine.connect() as conn:
        rows = conn.execute(select(users.c.id, users.c.username, users.c.role, users.c.staff_id,
                                   users.c.team_id, users.c.active, users.c.office_id)).all()
    return {r.id: User(r.id, r.username, r.role, r.staff_id, r.team_id, bool(r.active),
                       office_id=r.office_id) for r in rows}


def _staff_teams(case_engine: Engine) -> dict[str, str]:
    """staff_id -> team_id in the live generation (team audiences)."""
    try:
        with case_engine.connect() as conn:
            return {r[0]: r[1] for r in conn.execute(text("SELECT staff_id, team_id FROM staff"))}
    except Exception:  # no generation yet: no case manager belongs to any team
        return {}


def recipients(sub: subs.Subscription, people: dict[int, User],
               staff_teams: Callable[[], dict[str, str]]) -> list[int]:
    """User ids a subscription goes to now (disabled users included: they are audited)."""
    if sub.user_id is not None:
        return [sub.user_id] if sub.user_id in people else []
    kind, _, value = (sub.audience or "").partition(":")
    if kind == "role":
        return sorted(u.id for u in people.values() if u.role == value)
    if kind == "team":
        teams = staff_teams()
        return sorted(u.id for u in people.values()
                      if (u.role == "team_lead" and u.team_id == value)
                      or (u.role == "case_manager" and u.staff_id
                          and teams.get(u.staff_id) == value))
    return []


def due_rows(ctx: Context, now: datetime, zone: ZoneInfo, live: Any) -> list[dict[str, Any]]:
    """Every (subscription, recipient, due) that should exist now, as insertable rows."""
    people = _users(ctx.app_db)
    published = _published_at(live)
    teams: dict[str, str] | None = None

    def staff_teams() -> dict[str, str]:
        nonlocal teams
        if teams is None:
            teams = _staff_teams(ctx.case_db)
        return teams

    rows = []
    created = _naive(now)
    for sub in subs.active(ctx.app_db):
        due = due_since(sub.schedule, sub.created_at, now, zone, published_at=published)
        if due is None:
            continue
        for user_id in recipients(sub, people, staff_teams):
            rows.append({"subscription_id": sub.id, "user_id": user_id, "due_at": _naive(due),
                         "status": "pending", "report": sub.report, "format": sub.format,
                         "created_at": created})
    return rows


def _new(engine: Engine, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows whose key is not taken yet."""
    if not rows:
        return []
    dues = sorted({r["due_at"] for r in rows})
    with engine.connect() as conn:
        taken = {(r[0], r[1], r[2]) for r in conn.execute(
            select(deliveries.c.subscription_id, deliveries.c.user_id, deliveries.c.due_at)
            .where(deliveries.c.due_at.in_(dues)))}
    return [r for r in rows if (r["subscription_id"], r["user_id"], r["due_at"]) not in taken]


def plan(engine: Engine, rows: list[dict[str, Any]]) -> int:
    """Insert the missing pending rows; a key another process inserted first is left alone."""
    fresh = _new(engine, rows)
    if not fresh:
        return 0
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(deliveries).on_conflict_do_nothing(
        index_elements=["subscription_id", "user_id", "due_at"])
    made = 0
    with engine.begin() as conn:
        for chunk in range(0, len(fresh), 500):
            made += conn.execute(stmt, fresh[chunk:chunk + 500]).rowcount or 0
    return max(made, 0)


def me() -> str:
    return f"{socket.gethostname()[:200]}:{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def release_dead_claims(engine: Engine, now: datetime) -> int:
    """Make rows of dead claimers pending again (same host: pid gone; any: too old)."""
    host = socket.gethostname()[:200]
    with engine.connect() as conn:
        running = conn.execute(select(deliveries.c.id, deliveries.c.claimed_by,
                                      deliveries.c.claimed_at)
                               .where(deliveries.c.status == "running")).all()
    dead = []
    for row in running:
        where, _, pid = (row.claimed_by or "").rpartition(":")
        if (where == host and pid.isdigit() and not _alive(int(pid))) or \
                (row.claimed_at is not None and row.claimed_at < _naive(now) - STALE_CLAIM):
            dead.append(row.id)
    if not dead:
        return 0
    with engine.begin() as conn:
        return conn.execute(update(deliveries).where(deliveries.c.id.in_(dead),
                                                     deliveries.c.status == "running")
                            .values(status="pending", claimed_by=None, claimed_at=None)).rowcount


class Claimer:
    """Takes one pending row at a time for this process."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self.owner = me()
        self._locking: Engine | None = None
        if engine.dialect.name == "sqlite":
            from opal.db import sqlite_immediate_engine

            self._locking = sqlite_immediate_engine(str(engine.url))

    def close(self) -> None:
        if self._locking is not None:
            self._locking.dispose()

    def claim(self) -> Any | None:
        now = _naive(self.clock())
        if self._locking is None:
            with self.engine.begin() as conn:
                return conn.execute(text(
                    "UPDATE deliveries SET status = 'running', claimed_by = :me, "
                    "claimed_at = :now WHERE id = (SELECT id FROM deliveries "
                    "WHERE status = 'pending' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) "
                    "RETURNING id, subscription_id, user_id, due_at, report, format"),
                    {"me": self.owner, "now": now}).first()
        with self._locking.begin() as conn:  # BEGIN IMMEDIATE: the write lock before the read
            row = conn.execute(select(deliveries.c.id, deliveries.c.subscription_id,
                                      deliveries.c.user_id, deliveries.c.due_at,
                                      deliveries.c.report, deliveries.c.format)
                               .where(deliveries.c.status == "pending")
                               .order_by(deliveries.c.id).limit(1)).first()
            if row is not None:
                conn.execute(update(deliveries).where(deliveries.c.id == row.id)
                             .values(status="running", claimed_by=self.owner, claimed_at=now))
            return row


def _finish(engine: Engine, delivery_id: int, owner: str, now: datetime, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(update(deliveries).where(deliveries.c.id == delivery_id,
                                              deliveries.c.claimed_by == owner)
                     .values(finished_at=_naive(now), **values))


def write_file(config: Config, user_id: int, delivery_id: int, fmt: str,
               chunks: Any) -> tuple[str, int, str]:
    """Write the rendered chunks under the inbox folder; return (relative path, size, sha256).

    Written to a temporary name and renamed: a reader never sees half a file.
    """
    rel = Path(INBOX_DIR) / str(user_id) / f"{delivery_id}.{fmt}"
    target = config.data_path / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    size = 0
    try:
        with tmp.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return rel.as_posix(), size, digest.hexdigest()


def make(ctx: Context, config: Config, row: Any, sub: subs.Subscription | None, user: User | None,
         owner: str) -> str:
    """Make one claimed delivery through the pipeline; return its final status."""
    clock = ctx.clock
    if user is None or sub is None:
        _finish(ctx.app_db, row.id, owner, clock(), status="skipped",
                message="Abonnement oder Benutzer gibt es nicht mehr")
        return "skipped"
    if not user.active:
        record(ctx.app_db, clock=clock, username=user.username, role=user.role,
               action="run", report=row.report, params=sub.params, format=row.format,
               outcome="denied", message="Zustellung entfällt: Benutzer deaktiviert",
               client=CLIENT)
        _finish(ctx.app_db, row.id, owner, clock(), status="skipped",
                message="Benutzer deaktiviert")
        return "skipped"
    try:  # the pipeline audits the run with its real outcome, file written or not
        made: list[Result] = []
        req = RunRequest(row.report, user.actor(), sub.params, row.format, client=CLIENT)
        bundle = ctx.catalogue.bundles.get(row.report)
        rendered = (run_bundle(ctx, req, made=made) if bundle is not None
                    else run(ctx, req, partial(_render, made, row.format)))
        path, size, sha = write_file(config, user.id, row.id, row.format, rendered.chunks())
        result = made[0]
    except AccessDenied:  # the pipeline audited why (role, or linkage missing in the live data)
        _finish(ctx.app_db, row.id, owner, clock(), status="skipped",
                message="nicht (mehr) berechtigt")
        return "skipped"
    except ExportTooLarge as exc:
        _finish(ctx.app_db, row.id, owner, clock(), status="failed", row_count=exc.rows,
                message=(f"Nicht zugestellt: die Liste hat {exc.rows} Zeilen, erlaubt sind "
                         f"höchstens {exc.limit}. Bitte schränken Sie die Parameter des "
                         "Abonnements ein."))
        return "failed"
    except ParameterError as exc:
        _finish(ctx.app_db, row.id, owner, clock(), status="failed",
                message="Nicht zugestellt: ungültige Parameter ("
                        + ", ".join(sorted(exc.errors))[:300] + ")")
        return "failed"
    except QueryFailed:  # query or file failed: audited with its incident id
        _finish(ctx.app_db, row.id, owner, clock(), status="failed",
                message="Nicht zugestellt: die Datei konnte nicht erstellt werden.")
        return "failed"
    except OpalError as exc:  # no data yet (already audited)
        _finish(ctx.app_db, row.id, owner, clock(), status="failed",
                message=f"Nicht zugestellt: {exc}"[:500])
        return "failed"
    except Exception as exc:  # the file could not be stored (disk): the run itself was audited
        log.exception("delivery %s: storing the file failed", row.id)
        record(ctx.app_db, clock=clock, username=user.username, role=user.role,
               action="run", report=row.report, format=row.format, outcome="error",
               message=f"Zustellung {row.id}: Datei nicht gespeichert ({exc.__class__.__name__})",
               client=CLIENT)
        _finish(ctx.app_db, row.id, owner, clock(), status="failed",
                message="Nicht zugestellt: die Datei konnte nicht erstellt werden.")
        return "failed"
    # a bundle records its own parameters (as its first part ran them) and all parts' rows
    kept = [p for p in result.params if bundle is None or p.name in bundle.params]
    shown = [[p.label, format_param(p)] for p in kept]
    params = json.dumps({"values": {p.name: p.value for p in kept}, "shown": shown,
                         "unit": result.unit}, ensure_ascii=False, default=str)
    _finish(ctx.app_db, row.id, owner, clock(), status="ok", params=params,
            data_as_of=result.as_of.isoformat(), row_count=rendered.rows, size_bytes=size,
            sha256=sha, file_name=rendered.filename[:120], path=path)
    return "ok"


def deliver(config: Config, *, clock: Clock = system_clock, dry_run: bool = False,
            progress: Callable[[str], None] | None = None, ctx: Context | None = None,
            jobs: int = 1) -> DeliverResult:
    """Plan, claim and make every due delivery; see the module docstring.

    ``jobs`` > 1 forks that many workers after planning; they share the work through the same
    claims as separate `opal deliver` runs would (rendering is CPU-bound: one per core).
    """
    own_ctx = ctx is None
    ctx = ctx or Context.build(config, clock=clock)
    result = DeliverResult(dry_run=dry_run)
    try:
        init_app_db(ctx.app_db, config.app_db_schema)
        now = clock()
        zone = ZoneInfo(config.timezone)
        rows = due_rows(ctx, now, zone, live_generation(config))
        if dry_run:
            fresh = _new(ctx.app_db, rows)
            people = _users(ctx.app_db)
            result.due = len(fresh)
            result.planned = [
                f"{r['report']} {r['format']} -> {people[r['user_id']].username} "
                f"(fällig {r['due_at']:%Y-%m-%d %H:%M} UTC)" for r in fresh]
            return result
        result.due = plan(ctx.app_db, rows)
        release_dead_claims(ctx.app_db, now)
        made = _make_all(ctx, config, result, progress) if jobs <= 1 else \
            _make_forked(ctx, config, result, progress, jobs)
        if made and config.smtp_url:
            from opal.delivery.notify import notify

            result.notices, result.notices_failed = notify(config, ctx.app_db, made,
                                                           ctx.clock)
    finally:
        if own_ctx:
            ctx.case_db.dispose()
            ctx.app_db.dispose()
    return result


def _make_all(ctx: Context, config: Config, result: DeliverResult,
              progress: Callable[[str], None] | None) -> dict[int, list[int]]:
    """Claim and make rows until none is pending; return user id -> finished delivery ids."""
    claimer = Claimer(ctx.app_db, ctx.clock)
    people = _users(ctx.app_db)
    by_id = {s.id: s for s in subs.active(ctx.app_db)}
    made: dict[int, list[int]] = {}
    last = time.monotonic()
    try:
        while True:
            row = claimer.claim()
            if row is None:
                break
            status = make(ctx, config, row, by_id.get(row.subscription_id),
                          people.get(row.user_id), claimer.owner)
            if status == "ok":
                result.delivered += 1
            elif status == "failed":
                result.failed += 1
            else:
                result.skipped += 1
            if status in ("ok", "failed"):
                made.setdefault(row.user_id, []).append(row.id)
            done = result.delivered + result.failed + result.skipped
            if progress is not None and (time.monotonic() - last > 5 or done % 50 == 0):
                progress(f"deliver: {done} made ({result.delivered} delivered, "
                         f"{result.failed} failed, {result.skipped} skipped) ...")
                last = time.monotonic()
    finally:
        claimer.close()
    return made


def _make_forked(ctx: Context, config: Config, result: DeliverResult,
                 progress: Callable[[str], None] | None, jobs: int) -> dict[int, list[int]]:
    """Run ``_make_all`` in ``jobs`` forked workers; add up their counts and deliveries."""
    import multiprocessing

    fork = multiprocessing.get_context("fork")
    queue = fork.Queue()

    def worker() -> None:
        ctx.app_db.dispose(close=False)  # never share a parent's socket or file handle
        ctx.case_db.dispose(close=False)
        mine = DeliverResult()
        try:
            made = _make_all(ctx, config, mine, progress)
            queue.put((mine.delivered, mine.failed, mine.skipped, made, None))
        except BaseException as exc:  # reported by the parent, never swallowed
            queue.put((mine.delivered, mine.failed, mine.skipped, {}, repr(exc)[:300]))

    workers = [fork.Process(target=worker, name=f"opal-deliver-{i}") for i in range(jobs)]
    for process in workers:
        process.start()
    made: dict[int, list[int]] = {}
    errors = []
    for _ in workers:
        delivered, failed, skipped, part, error = queue.get()
        result.delivered += delivered
        result.failed += failed
        result.skipped += skipped
        for user_id, ids in part.items():
            made.setdefault(user_id, []).extend(ids)
        if error:
            errors.append(error)
    for process in workers:
        process.join()
    if errors:
        raise RuntimeError(f"a delivery worker failed: {errors[0]}")
    return made


def _render(made: list[Result], fmt: str, result: Result) -> Rendered:
    """Render with the registry's renderer, keeping the Result for the delivery's record."""
    made.append(result)
    return get_renderer(fmt).render(result)
