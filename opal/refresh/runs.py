"""The refresh lock and the ``refresh_runs`` record: who refreshed what, when, and how it ended.

A run is inserted as ``running`` before any work and closed as ``ok`` or ``failed``. A process
killed outright cannot close its row; the next ``refresh`` or ``status`` marks such a row failed
("abgebrochen") once the lock proves its process gone (or its pid no longer exists).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from sqlalchemy import Engine, insert, select, text, update

from config import Config
from opal.appdb.schema import refresh_runs
from opal.clock import Clock
from opal.db import app_engine, init_app_db, is_sqlite, make_engine
from opal.refresh.model import RefreshBusy

ABORTED = "abgebrochen (Prozess beendet, ohne den Lauf abzuschließen)"


def _naive(moment: datetime) -> datetime:
    """The app DB stores naive UTC."""
    return moment.replace(tzinfo=None) if moment.tzinfo else moment


def _try_lock(config: Config) -> IO[Any] | None:
    config.data_path.mkdir(parents=True, exist_ok=True)
    fh = (config.data_path / "refresh.lock").open("a+")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        return None
    return fh


@contextmanager
def _pg_lock(config: Config) -> Iterator[None]:
    """On PostgreSQL also take an advisory lock: refreshes from other hosts share the schema."""
    if is_sqlite(config.case_db_url):
        yield
        return
    engine = make_engine(config.case_db_url)
    try:
        with engine.connect() as conn:
            key = {"k": f"opal refresh {config.case_db_schema}"}
            got = conn.execute(text("SELECT pg_try_advisory_lock(hashtext(:k))"), key).scalar()
            conn.commit()
            if not got:
                raise RefreshBusy("another refresh is running (PostgreSQL advisory lock on "
                                  f"{config.case_db_schema} is held); try again when it has "
                                  "finished")
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(hashtext(:k))"), key)
                conn.commit()
    finally:
        engine.dispose()


@contextmanager
def refresh_lock(config: Config) -> Iterator[None]:
    """Hold the refresh lock (``<data_dir>/refresh.lock``) or raise RefreshBusy at once."""
    fh = _try_lock(config)
    if fh is None:
        raise RefreshBusy(f"another refresh is running (lock {config.data_path / 'refresh.lock'} "
                          "is held); try again when it has finished")
    try:
        with _pg_lock(config):
            yield
    finally:
        fh.close()  # closing the file releases the flock


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLog:
    """Rows of ``refresh_runs`` in the app database (created if missing)."""

    def __init__(self, config: Config, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.engine: Engine = app_engine(config)
        init_app_db(self.engine, config.app_db_schema)

    def close(self) -> None:
        self.engine.dispose()

    def reap(self, *, lock_held: bool) -> int:
        """Mark killed runs of this host failed; with the lock held every other running is dead."""
        host = socket.gethostname()
        if not lock_held:
            fh = _try_lock(self.config)
            if fh is not None:
                try:
                    return self.reap(lock_held=True)
                finally:
                    fh.close()
        with self.engine.begin() as conn:
            rows = conn.execute(select(refresh_runs.c.id, refresh_runs.c.pid)
                                .where(refresh_runs.c.status == "running",
                                       refresh_runs.c.host == host)).all()
            dead = [r.id for r in rows
                    if r.pid != os.getpid() and (lock_held or not _pid_alive(r.pid))]
            if dead:
                conn.execute(update(refresh_runs).where(refresh_runs.c.id.in_(dead)).values(
                    status="failed", message=ABORTED, finished_at=_naive(self.clock())))
        return len(dead)

    def start(self, source_dir: str) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(insert(refresh_runs).values(
                started_at=_naive(self.clock()), status="running", source_dir=source_dir,
                pid=os.getpid(), host=socket.gethostname()))
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def note(self, run_id: int, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(refresh_runs).where(refresh_runs.c.id == run_id).values(**values))

    def finish(self, run_id: int, status: str, message: str, *,
               published_at: datetime | None = None,
               counts: dict[str, int] | None = None) -> None:
        values: dict[str, Any] = {"status": status, "message": message[:20000],
                                  "finished_at": _naive(self.clock())}
        if published_at is not None:
            values["published_at"] = _naive(published_at)
        if counts is not None:
            values["row_counts"] = json.dumps(counts, sort_keys=True)
        self.note(run_id, **values)

    def last(self, status: str) -> RunInfo | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(refresh_runs).where(refresh_runs.c.status == status)
                               .order_by(refresh_runs.c.id.desc()).limit(1)).first()
        if row is None:
            return None
        return RunInfo(row.id, row.started_at, row.finished_at, row.status, row.message or "",
                       row.source_dir or "", row.as_of, row.published_at)


@dataclass(frozen=True)
class RunInfo:
    """One ``refresh_runs`` row as status and the admin page show it."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    status: str
    message: str
    source_dir: str
    as_of: str | None
    published_at: datetime | None
