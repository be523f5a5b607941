"""The inbox (Postfach): a user's delivered files, newest first; a file only for its recipient."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, case, func, or_, select, update

from config import Config
from opal.appdb.schema import deliveries
from opal.dbapi import Statement
from opal.dbapi import connection as fixed_connection

#: entries per inbox page (newest first; older ones on the next pages)
PAGE = 50
#: statuses a recipient sees (skipped ones were never theirs; pending/running are not done)
SHOWN = ("ok", "failed")


@dataclass(frozen=True)
class Entry:
    """One inbox entry as the page shows it."""

    id: int
    report: str
    format: str
    status: str
    shown_params: list[tuple[str, str]]
    unit: str
    data_as_of: str | None
    row_count: int | None
    size_bytes: int | None
    sha256: str | None
    message: str | None
    delivered_at: datetime | None  #: aware UTC
    new: bool


def _entry(r: Any) -> Entry:
    params = json.loads(r.params) if r.params else {}
    finished = r.finished_at.replace(tzinfo=UTC) if r.finished_at else None
    return Entry(r.id, r.report, r.format, r.status,
                 [(str(a), str(b)) for a, b in params.get("shown", [])], params.get("unit", ""),
                 r.data_as_of, r.row_count, r.size_bytes, r.sha256, r.message, finished,
                 r.seen_at is None)


def entries(engine: Engine, user_id: int, *, report: str | None = None,
            limit: int = PAGE, offset: int = 0) -> list[Entry]:
    """The user's entries, newest first (optionally of one report: "frühere Ausgaben")."""
    cols = [deliveries.c.id, deliveries.c.report, deliveries.c.format, deliveries.c.status,
            deliveries.c.params, deliveries.c.data_as_of, deliveries.c.row_count,
            deliveries.c.size_bytes, deliveries.c.sha256, deliveries.c.message,
            deliveries.c.finished_at, deliveries.c.seen_at]
    query = select(*cols).where(deliveries.c.user_id == user_id,
                                deliveries.c.status.in_(SHOWN))
    if report:
        query = query.where(deliveries.c.report == report)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(deliveries.c.id.desc()).limit(limit)
                            .offset(offset)).all()
    return [_entry(r) for r in rows]


#: built once: every page's header asks (see ``_OVERVIEW``)
_NEW = select(func.count()).select_from(deliveries).where(
    deliveries.c.user_id == bindparam("user_id"), deliveries.c.status.in_(SHOWN),
    deliveries.c.seen_at.is_(None))


def count_new(engine: Engine, user_id: int) -> int:
    """Entries the user has not seen on the inbox page yet (the header's number)."""
    with engine.connect() as conn:
        return int(conn.execute(_NEW, {"user_id": user_id}).scalar_one())


#: built once with its binds: a report page asks on every view, on the driver's connection
#: (``opal.dbapi``; the statuses as equalities: a fixed statement has no expanding IN)
_OVERVIEW = Statement(select(
    func.count(case((deliveries.c.seen_at.is_(None), 1))),
    func.count(case((deliveries.c.report == bindparam("report"), 1)))).where(
    deliveries.c.user_id == bindparam("user_id"),
    or_(*(deliveries.c.status == status for status in SHOWN))))


def overview(engine: Engine, user_id: int, report: str) -> tuple[int, bool]:
    """``count_new`` and whether the user has any entry of ``report`` ("frühere Ausgaben"),
    in one query: a report page shows both."""
    with fixed_connection(engine) as db:
        found = _OVERVIEW.first(db.cursor, db.dialect, {"user_id": user_id, "report": report})
        db.conn.commit()  # PostgreSQL began a transaction for the read
    assert found is not None  # an aggregate has its one row
    return int(found[0]), int(found[1]) > 0


def mark_seen(engine: Engine, user_id: int, ids: list[int], now: datetime) -> None:
    """Mark the entries the page showed as seen."""
    if not ids:
        return
    with engine.begin() as conn:
        conn.execute(update(deliveries).where(deliveries.c.user_id == user_id,
                                              deliveries.c.id.in_(ids),
                                              deliveries.c.seen_at.is_(None))
                     .values(seen_at=now.astimezone(UTC).replace(tzinfo=None)))


@dataclass(frozen=True)
class StoredFile:
    path: Path
    file_name: str
    report: str
    format: str
    owner_id: int


def stored_file(config: Config, engine: Engine, delivery_id: int) -> StoredFile | None:
    """The delivered file of ``delivery_id`` (whoever owns it; the caller checks), or None."""
    with engine.connect() as conn:
        row = conn.execute(select(deliveries.c.user_id, deliveries.c.path,
                                  deliveries.c.file_name, deliveries.c.report,
                                  deliveries.c.format)
                           .where(deliveries.c.id == delivery_id,
                                  deliveries.c.status == "ok")).first()
    if row is None or not row.path:
        return None
    path = (config.data_path / row.path).resolve()
    root = (config.data_path / "inbox").resolve()
    if root not in path.parents or not path.is_file():
        return None
    return StoredFile(path, row.file_name, row.report, row.format, row.user_id)


def owner_of(engine: Engine, delivery_id: int) -> int | None:
    """The recipient of any entry (for the audit of a foreign id), or None."""
    with engine.connect() as conn:
        found = conn.execute(select(deliveries.c.user_id)
                             .where(deliveries.c.id == delivery_id)).scalar()
    return None if found is None else int(found)
