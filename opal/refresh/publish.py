"""Generations: build the next one aside, swap it in atomically, keep the previous for rollback.

SQLite: ``<live>.next`` is built, fsynced, the live file hard-linked to ``<live>.prev`` and
``os.replace``d; readers open the file per request, so one in flight finishes on the old inode.
PostgreSQL: ``<schema>_next`` is loaded and committed (in one transaction, or in stages when
worker processes help: ``lanes``), then one short transaction with a ``lock_timeout`` renames
``live -> <schema>_prev`` and ``_next -> live``.
A crash at any moment leaves the live generation as it was; leftovers are cleared next time.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path

from sqlalchemy import Connection, text

from config import Config
from opal.casedb.schema import BASE_TABLES
from opal.db import is_sqlite, make_engine, sqlite_path
from opal.refresh.model import LiveInfo

#: env var of the crash tests: pause (for a SIGKILL) when this stage is reached
PAUSE_ENV = "OPAL_REFRESH_TEST_PAUSE_AT"
LOCK_TIMEOUT = "5s"


def checkpoint(stage: str) -> None:
    """Test hook: announce the stage on stderr and wait to be killed when PAUSE_ENV names it."""
    if os.environ.get(PAUSE_ENV) == stage:
        sys.stderr.write(f"PAUSED AT {stage}\n")
        sys.stderr.flush()
        time.sleep(600)


def _paths(config: Config) -> tuple[Path, Path, Path]:
    live = sqlite_path(config.case_db_url)
    return live, live.with_name(live.name + ".next"), live.with_name(live.name + ".prev")


def _names(config: Config) -> tuple[str, str, str]:
    live = config.case_db_schema
    return live, f"{live}_next", f"{live}_prev"


def next_schema(config: Config) -> str:
    """The PostgreSQL schema the next generation is built in (worker processes connect to it)."""
    return _names(config)[1]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def discard_next(config: Config) -> None:
    """Remove a half-built next generation left by a crashed run (call with the lock held)."""
    if is_sqlite(config.case_db_url):
        _, nxt, _ = _paths(config)
        for leftover in (nxt, nxt.with_name(nxt.name + "-journal")):
            leftover.unlink(missing_ok=True)
        return
    engine = make_engine(config.case_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{_names(config)[1]}" CASCADE'))
    finally:
        engine.dispose()


@contextmanager
def next_generation(config: Config) -> Iterator[Connection]:
    """Yield a connection to an empty next generation; commit and make it durable on success."""
    discard_next(config)
    if is_sqlite(config.case_db_url):
        _, nxt, _ = _paths(config)
        engine = make_engine(f"sqlite:///{nxt}")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=OFF")
                conn.exec_driver_sql("PRAGMA synchronous=OFF")
                conn.commit()
                with conn.begin():
                    yield conn
                conn.exec_driver_sql("PRAGMA journal_mode=DELETE")
                conn.commit()
            _fsync(nxt)
        except BaseException:
            engine.dispose()
            nxt.unlink(missing_ok=True)
            raise
        engine.dispose()
        return
    schema = _names(config)[1]
    engine = make_engine(config.case_db_url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            conn.execute(text(f'SET search_path TO "{schema}"'))  # the session's: see below
            try:
                yield conn
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
    except BaseException:
        # a parallel build (``lanes``) commits in stages: its parts must go, too
        engine.dispose()
        discard_next(config)
        raise
    finally:
        engine.dispose()


def swap(config: Config) -> None:
    """Make the next generation live in one atomic step; the old one becomes ``prev``."""
    if is_sqlite(config.case_db_url):
        live, nxt, prev = _paths(config)
        if live.exists():
            prev.unlink(missing_ok=True)
            os.link(live, prev)
        checkpoint("swap")
        os.replace(nxt, live)
        _fsync(live.parent)
        return
    live_s, next_s, prev_s = _names(config)
    checkpoint("swap")
    engine = make_engine(config.case_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{prev_s}" CASCADE'))
            exists = conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :n"),
                                  {"n": live_s}).first()
            if exists:
                conn.execute(text(f'ALTER SCHEMA "{live_s}" RENAME TO "{prev_s}"'))
            conn.execute(text(f'ALTER SCHEMA "{next_s}" RENAME TO "{live_s}"'))
    finally:
        engine.dispose()


def previous_generation(config: Config) -> LiveInfo | None:
    """The generation the last publish replaced (``<path>.prev``, ``<schema>_prev``), or None."""
    if is_sqlite(config.case_db_url):
        prev = _paths(config)[2]
        return live_generation(replace(config, case_db_url=f"sqlite:///{prev}"))
    return live_generation(replace(config, case_db_schema=_names(config)[2]))


def restore_previous(config: Config) -> None:
    """Make the previous generation live again in one atomic step; the current one is dropped
    (call with the refresh lock held, after ``previous_generation`` found it usable)."""
    if is_sqlite(config.case_db_url):
        live, _, prev = _paths(config)
        os.replace(prev, live)
        _fsync(live.parent)
        return
    live_s, _, prev_s = _names(config)
    engine = make_engine(config.case_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{live_s}" CASCADE'))
            conn.execute(text(f'ALTER SCHEMA "{prev_s}" RENAME TO "{live_s}"'))
    finally:
        engine.dispose()


def live_generation(config: Config, *, counts: bool = False) -> LiveInfo | None:
    """The live generation's d_meta (cheap), or None when nothing is live; counts on request."""
    if is_sqlite(config.case_db_url):
        live = sqlite_path(config.case_db_url)
        if not live.exists():
            return None
        db = sqlite3.connect(f"file:{live}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT as_of, exported_at, built_at, source FROM d_meta").fetchone()
            if row is None:
                return None
            numbers = ({name: db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                        for name in BASE_TABLES} if counts else None)
        except sqlite3.DatabaseError:  # not a generation (damaged): nothing usable is live
            return None
        finally:
            db.close()
        return LiveInfo(date.fromisoformat(row[0]), row[1], row[2], row[3], numbers)
    schema = config.case_db_schema
    engine = make_engine(config.case_db_url)
    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT to_regclass(:t)"), {"t": f'"{schema}".d_meta'})
            if found.scalar() is None:
                return None
            meta = conn.execute(text(f'SELECT as_of, exported_at, built_at, source '
                                     f'FROM "{schema}".d_meta')).first()
            if meta is None:
                return None
            numbers = ({name: int(conn.execute(text(f'SELECT count(*) FROM "{schema}"."{name}"'))
                                  .scalar_one()) for name in BASE_TABLES} if counts else None)
    finally:
        engine.dispose()
    return LiveInfo(meta[0], meta[1], meta[2], meta[3], numbers)
