"""One writer at a time on a SQLite app database, queued instead of polled.

SQLite lets one connection write; the others poll with growing sleeps (1, 2, 5, 10 … ms) until
the lock is free, so under load a free lock stays idle while waiters sleep. The portal's
frequent writes (audit rows, the download counter) queue here instead: a thread lock within the
process, then an exclusive ``flock`` on a file next to the database across processes; a blocked
``flock`` wakes the moment the holder lets go. PostgreSQL needs none of this (a no-op there).

The turn only orders writers; SQLite's own locking still makes every write safe. A lock file
that cannot be opened (another account made it, a read-only directory) costs the queue, never a
write: the threads of the process still take turns, and SQLite decides between processes.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import Engine

from opal.db import is_sqlite, sqlite_path


class WriteTurn:
    """The write turn on one SQLite file, for the threads of every process that opens it."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = database.with_name(database.name + SUFFIX)
        self._thread = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def fileno(self) -> int | None:
        """The lock file, opened once per process: a forked worker must not share its parent's
        open file (a flock belongs to the open file, so both would hold the turn at once).
        Made with the database's permissions, as SQLite makes its -wal file; None when it
        cannot be opened."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            try:
                mode = os.stat(self.database).st_mode & 0o666
            except OSError:
                mode = 0o600
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, mode)
            except OSError as exc:
                log.warning("no write turn across processes (%s): %s", self.path, exc.strerror)
                self._fd = None
        return self._fd

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._thread:
            fd = self.fileno()
            if fd is None:
                yield
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _forked(self) -> None:
        """In a forked child: a fresh thread lock (a thread of the parent may have held the old
        one) and, at its first write, its own lock file. Closing the inherited descriptor does
        not release the parent's flock: the parent still has the file open."""
        self._thread = threading.Lock()
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._pid = None, 0


log = logging.getLogger(__name__)
#: the lock file's name: the database's plus this
SUFFIX = ".writeturn"
_TURNS: dict[str, WriteTurn] = {}
_GUARD = threading.Lock()


def _after_fork() -> None:
    global _GUARD
    _GUARD = threading.Lock()
    for turn in _TURNS.values():
        turn._forked()


os.register_at_fork(after_in_child=_after_fork)


def turn_for(engine: Engine) -> WriteTurn | None:
    """The write turn of ``engine``'s SQLite file, one per file and process; None on
    PostgreSQL."""
    url = engine.url
    if not is_sqlite(str(url)) or not url.database:
        return None
    key = url.database
    with _GUARD:
        turn = _TURNS.get(key)
        if turn is None:
            turn = _TURNS[key] = WriteTurn(sqlite_path(str(url)))
    return turn


def write_turn(engine: Engine) -> AbstractContextManager[None]:
    """Hold the write turn on ``engine``'s SQLite file (nothing on PostgreSQL)."""
    turn = turn_for(engine)
    return nullcontext() if turn is None else turn.held()
