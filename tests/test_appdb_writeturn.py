"""The write turn on a SQLite app database: one holder across threads and processes, a forked
worker with its own lock file, nothing at all on PostgreSQL."""

from __future__ import annotations

import fcntl
import logging
import os
import stat
import subprocess
import sys
import threading
from contextlib import nullcontext
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from config import Config
from opal.appdb.writeturn import turn_for, write_turn
from opal.audit import recent, record
from opal.db import app_engine, init_app_db, sqlite_path
from tests.conftest import PG_URL

#: tries the lock file without waiting: exit 0 when it got it, 1 when another holds it
TRY = ("import fcntl, os, sys\n"
       "fd = os.open(sys.argv[1], os.O_RDWR)\n"
       "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
       "except BlockingIOError:\n    sys.exit(1)\n")


def turn_file(config: Config) -> Path:
    path = sqlite_path(config.app_db_url)
    return path.with_name(path.name + ".writeturn")


def other_process_gets_it(path: Path) -> bool:
    return subprocess.run([sys.executable, "-c", TRY, str(path)]).returncode == 0


def test_one_holder_across_processes(sqlite_config: Config) -> None:
    engine = app_engine(sqlite_config)
    try:
        with write_turn(engine):
            assert turn_file(sqlite_config).exists()
            assert not other_process_gets_it(turn_file(sqlite_config))
        assert other_process_gets_it(turn_file(sqlite_config))
    finally:
        engine.dispose()


@pytest.mark.timed_wait  # it waits 0.2 s for the second thread in vain
def test_threads_of_one_process_take_turns(sqlite_config: Config) -> None:
    engine = app_engine(sqlite_config)
    order: list[str] = []
    holding, waiting = threading.Event(), threading.Event()

    def second() -> None:
        waiting.set()
        with write_turn(engine):
            order.append("second")

    try:
        with write_turn(engine):
            worker = threading.Thread(target=second)
            worker.start()
            assert waiting.wait(10)
            holding.set()
            worker.join(timeout=0.2)  # it cannot finish while the first holds the turn
            assert worker.is_alive()
            order.append("first")
        worker.join(timeout=10)
        assert order == ["first", "second"]
    finally:
        engine.dispose()


def test_a_forked_worker_opens_its_own_lock_file(sqlite_config: Config) -> None:
    """gunicorn forks its workers from a master that may have held the turn: a child using the
    parent's open file would share its lock (flock belongs to the open file) and write at the
    same time; it must wait like any other process."""
    engine = app_engine(sqlite_config)
    try:
        with write_turn(engine):
            pass  # the master has opened its lock file
        with write_turn(engine):
            pid = os.fork()
            if pid == 0:  # the child: its own file, so the parent's lock shuts it out
                code = 3
                try:
                    turn = turn_for(engine)
                    assert turn is not None
                    fd = turn.fileno()
                    assert fd is not None
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    code = 0
                except BlockingIOError:
                    code = 1
                finally:
                    os._exit(code)
            _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 1
    finally:
        engine.dispose()


def test_postgresql_needs_no_turn(config: Config) -> None:
    engine = (create_engine(PG_URL) if config.app_db_url.startswith("postgresql")
              else app_engine(config))
    try:
        pg = engine.url.drivername.startswith("postgresql")
        assert (turn_for(engine) is None) == pg
        assert isinstance(write_turn(engine), nullcontext) == pg
    finally:
        engine.dispose()


def test_the_lock_file_has_the_databases_permissions(sqlite_config: Config) -> None:
    """Made as SQLite makes its -wal file: an operator's command and the portal's workers that
    may both write the database may both take the turn."""
    engine = app_engine(sqlite_config)
    try:
        database = sqlite_path(sqlite_config.app_db_url)
        with engine.begin():
            pass  # the database exists
        os.chmod(database, 0o640)
        umask = os.umask(0)
        os.umask(umask)
        with write_turn(engine):
            assert stat.S_IMODE(os.stat(turn_file(sqlite_config)).st_mode) == 0o640 & ~umask
    finally:
        engine.dispose()


def test_a_lock_file_that_cannot_be_opened_costs_the_queue_not_the_write(
        sqlite_config: Config, caplog: pytest.LogCaptureFixture) -> None:
    """The turn only orders writers: without its file the audit row is still written (SQLite's
    locking decides between processes), and the log says why once."""
    engine = app_engine(sqlite_config)
    try:
        init_app_db(engine, sqlite_config.app_db_schema)
        turn_file(sqlite_config).mkdir(parents=True)  # a directory: open(O_RDWR) fails
        with caplog.at_level(logging.WARNING, logger="opal.appdb.writeturn"):
            record(engine, username="fm.arendt", role="case_manager", report="R02",
                   outcome="ok")
            record(engine, username="fm.arendt", role="case_manager", report="R03",
                   outcome="ok")
        assert [r["report"] for r in recent(engine, 2)] == ["R03", "R02"]
        assert [r.getMessage() for r in caplog.records] == [
            f"no write turn across processes ({turn_file(sqlite_config)}): Is a directory"]
    finally:
        engine.dispose()
