"""Lanes: parts of a large PostgreSQL refresh, run in worker processes on connections of their own.

One process validates a nrw export (160 M rows) at a few microseconds a row on one core, then
derives its persons on the same core. On PostgreSQL the next generation is a schema that is
not live, so it may be committed in stages (a failed or killed build is dropped as a whole, see
``publish.next_generation``), and two parts run beside the main process:

- ``load_lane``: validates and loads ``benefit_payment`` (nothing refers to it, and only the
  money figures read it), indexes and analyses it, and sends its problems back;
- ``derive_lane``: derives the upper half of the persons (by customer number) and sends back
  their month marks, which the main process adds to its own half's.

Small exports stay in one process and one transaction: a worker costs about a second to start.
SQLite has one writer per file, so it never uses lanes.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from opal.casedb.schema import BASE_TABLES, EXPORT_TABLES
from opal.db import is_sqlite, make_engine
from opal.refresh.model import Manifest, ManifestTable, RefreshError
from opal.refresh.validate import ProblemLog, TableReader

#: the file loaded in a lane of its own: the largest, and no other table refers to it
LANE_TABLE = "benefit_payment"
#: rows of an export from which lanes pay (a kreis export has 2.7 M, a worker starts in ~1 s)
MIN_ROWS = 1_000_000
#: test hook: "1" forces lanes on (even for a small export), "0" off
FORCE_ENV = "OPAL_REFRESH_TEST_LANES"

MarksData = dict[tuple[str, str, int, int], tuple[dict[int, int], ...]]


def wanted(case_db_url: str, manifest: Manifest) -> bool:
    """Use lanes for this refresh? PostgreSQL and a large export (or the test hook)."""
    if is_sqlite(case_db_url):
        return False
    forced = os.environ.get(FORCE_ENV)
    if forced in ("0", "1"):
        return forced == "1"
    return sum(t.rows for t in manifest.tables.values()) >= MIN_ROWS


def _die_with(parent: int) -> None:
    """Be killed when the refresh that started us dies (SIGKILL included): a worker left behind
    would hold locks in the next generation and write into a schema being dropped."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):  # pragma: no cover - not Linux: the daemon flag remains
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _run(parent: int, send: Any, target: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """A worker's body: run ``target`` and send ``(True, value)`` or ``(False, traceback)``."""
    _die_with(parent)
    try:
        value = target(*args)
    except BaseException:  # noqa: BLE001 - everything goes back to the refresh, which fails
        send.send((False, traceback.format_exc(limit=8)))
    else:
        send.send((True, value))
    send.close()


class Lane:
    """One function run in a spawned worker process; ``result`` waits for what it returned."""

    def __init__(self, name: str, target: Callable[..., Any], *args: Any) -> None:
        ctx = multiprocessing.get_context("spawn")  # never fork a process holding connections
        self.name = name
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_run, args=(os.getpid(), send, target, args),
                                 name=f"opal-refresh-{name}", daemon=True)
        self._proc.start()
        send.close()

    def result(self) -> Any:
        """The worker's return value; RefreshError if it raised or died."""
        try:
            ok, value = self._recv.recv()
        except EOFError:
            self._proc.join()
            raise RefreshError(f"the refresh worker for {self.name} died "
                               f"(exit code {self._proc.exitcode})") from None
        finally:
            self._recv.close()
        self._proc.join()
        if not ok:
            raise RefreshError(f"the refresh worker for {self.name} failed:\n{value}")
        return value

    def kill(self) -> None:
        """Stop the worker (the refresh failed elsewhere); its transaction is rolled back."""
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join()


def _connect(url: str, schema: str) -> tuple[Any, Connection]:
    """A connection of a worker to the next generation (``schema``)."""
    engine = make_engine(url)
    conn = engine.connect()
    conn.exec_driver_sql(f'SET search_path TO "{schema}"')
    # a killed refresh drops the schema: let the server notice a vanished worker within a
    # second even while it sorts (PostgreSQL 14 and later)
    if (conn.dialect.server_version_info or (0,)) >= (14,):
        conn.exec_driver_sql("SET client_connection_check_interval = '1s'")
    return engine, conn


@dataclass
class LoadOutcome:
    """What a load lane sends back."""

    rows_read: int
    loaded: int
    log: ProblemLog


def load_lane(url: str, schema: str, export_dir: Path, name: str, entry: ManifestTable,
              as_of: date, keys: dict[str, set[str]]) -> LoadOutcome:
    """Validate and load the export file of table ``name``; index and analyse it if it is
    faultless. ``keys`` holds the key sets its references need."""
    from opal.refresh import load
    from opal.refresh.publish import checkpoint

    checkpoint("lane")
    spec = next(t for t in EXPORT_TABLES if t.name == name)
    table = BASE_TABLES[name]
    log = ProblemLog()
    engine, conn = _connect(url, schema)
    try:
        reader = TableReader(export_dir, spec, entry, as_of, keys, log)
        loaded = load.insert_rows(conn, table, reader.rows(), freeze=True)
        if log.total == 0:
            load.create_indexes(conn, [table])
            load.analyze(conn, [table])
        conn.commit()
    finally:
        conn.close()
        engine.dispose()
    return LoadOutcome(reader.rows_read, loaded, log)


def start_load(url: str, schema: str, export_dir: Path, name: str, entry: ManifestTable,
               as_of: date, keys: dict[str, set[str]]) -> Lane:
    """Start ``load_lane`` for ``name`` with only the key sets it refers to."""
    spec = next(t for t in EXPORT_TABLES if t.name == name)
    needed = {c.ref: keys[c.ref] for c in spec.columns if c.ref and c.ref in keys}
    return Lane(name, load_lane, url, schema, export_dir, name, entry, as_of, needed)


def derive_lane(url: str, schema: str, as_of: date, lo: str, chunk_persons: int) -> MarksData:
    """Derive the persons from customer number ``lo`` on; return their month marks."""
    from opal.refresh.derive import derive_persons
    from opal.refresh.derive_month import plain_marks

    engine, conn = _connect(url, schema)
    try:
        marks = derive_persons(conn, as_of, chunk_persons, lo=lo)
        conn.commit()
    finally:
        conn.close()
        engine.dispose()
    return plain_marks(marks)


def start_derive(url: str, schema: str, as_of: date, lo: str, chunk_persons: int) -> Lane:
    return Lane("persons", derive_lane, url, schema, as_of, lo, chunk_persons)
