"""Engines for the two databases: the live case generation (read-only) and the app database.

A pooled SQLite connection would keep reading a swapped-out generation file forever: the case
engine checks on every checkout that its connection's file is still the live one (else it
reconnects). PostgreSQL connections pin ``search_path`` to the configured schema, so
report SQL names tables unqualified on both databases.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import NullPool, QueuePool

from config import Config


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


@lru_cache(maxsize=64)
def sqlite_path(url: str) -> Path:
    """Return the file path of a ``sqlite:///PATH`` URL (parsed once: every run asks)."""
    database = make_url(url).database
    if not database:
        raise ValueError(f"{url!r} names no SQLite file")
    return Path(database)


def _pin_search_path(engine: Engine, schema: str, timeout_ms: int | None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f'SET search_path TO "{schema}"')  # schema is a validated identifier
        if timeout_ms:
            cur.execute(f"SET statement_timeout = {int(timeout_ms)}")
        cur.close()
        dbapi_conn.commit()


def make_engine(url: str, schema: str | None = None, *, readonly: bool = False,
                timeout_ms: int | None = None, wal: bool = False) -> Engine:
    """Build an engine; ``schema`` pins PostgreSQL's search_path, ``readonly`` opens SQLite ro.

    ``wal`` (app database only) lets gunicorn workers append audit rows without blocking
    readers, each durable at commit (``synchronous=FULL``); the case database stays in DELETE
    mode so that a generation is one file.
    Bound values never appear in error messages (``hide_parameters``): they would carry report
    parameters and scope ids into the application log.
    """
    if is_sqlite(url):
        path = sqlite_path(url)
        if readonly:
            engine = _generation_engine(path)
        elif wal:
            # the app database is never swapped: keep connections open. Closing the last
            # connection to a WAL database checkpoints, fsyncs and deletes the -wal file, which
            # made every request pay several ms per app-DB transaction (bench/http_load.py)
            path.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, poolclass=QueuePool, pool_size=8, max_overflow=8,
                                   hide_parameters=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, poolclass=NullPool, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=OFF")
            if not readonly:
                cur.execute("PRAGMA busy_timeout=10000")
            if wal:
                cur.execute("PRAGMA journal_mode=WAL")
                # FULL: a commit returns only once its WAL frames are on disk, so an audit row
                # (or a counted download) survives a power cut; NORMAL may lose the last ones
                cur.execute("PRAGMA synchronous=FULL")
            cur.close()

        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5,
                           hide_parameters=True)
    if schema:
        _pin_search_path(engine, schema, timeout_ms)
    return engine


def file_id(path: Path) -> tuple[int, int] | None:
    """Return the identity (device, inode) of ``path``, None when it does not exist."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _generation_engine(path: Path) -> Engine:
    """A read-only engine on the live generation file that reuses connections safely.

    A publish replaces the file (``os.replace``: a new inode). Each connection remembers the
    identity of the file *before* it opened it; a checkout whose file is no longer the one at
    ``path`` discards the connection and opens the live one, so a request never starts on a
    swapped-out generation (as with a fresh connection per request), without paying the open and
    schema parse of a new connection on every checkout (bench/http_load.py).
    """
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true", poolclass=QueuePool,
                           pool_size=4, max_overflow=12, hide_parameters=True)

    @event.listens_for(engine, "do_connect")
    def _remember_file(_dialect: Any, record: Any, _cargs: Any, _cparams: Any) -> None:
        record.info["opal_file"] = file_id(path)  # before the open: a race discards, never keeps

    @event.listens_for(engine, "checkout")
    def _same_generation(_dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        opened = record.info.get("opal_file")
        if opened is None or opened != file_id(path):
            raise DisconnectionError("another generation is live")  # the pool reconnects

    return engine


def case_engine(config: Config) -> Engine:
    """The live case generation, read-only for the portal."""
    return make_engine(config.case_db_url, config.case_db_schema, readonly=True,
                       timeout_ms=config.statement_timeout_ms)


def app_engine(config: Config) -> Engine:
    return make_engine(config.app_db_url, config.app_db_schema, wal=True)


def sqlite_immediate_engine(url: str) -> Engine:
    """A SQLite engine (one kept connection) whose transactions begin with ``BEGIN IMMEDIATE``.

    The driver stops managing transactions (so DDL is transactional too) and every
    ``engine.begin()`` takes the write lock at once: the one way to make "read, decide, write"
    atomic across processes on SQLite (migrations, delivery claims).
    """
    # one kept connection: `opal deliver` claims row after row (a new connection each time cost
    # a third of the claim); dispose() closes it
    engine = create_engine(url, poolclass=QueuePool, pool_size=1, max_overflow=0,
                           hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _driver_autocommit(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def init_app_db(engine: Engine, schema: str) -> None:
    """Create a new app database at the current schema, or check an existing one is current.

    An older database raises ``opal.appdb.migrate.SchemaOutdated`` naming `opal db upgrade`:
    only that command changes existing tables (``opal.appdb.migrate``).
    """
    from opal.appdb import migrate

    migrate.ensure(engine, schema)
