"""The case engine reuses connections, but never across a published generation (os.replace)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from opal.db import make_engine


def _generation(path: Path, value: int) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE d_meta (as_of_day INTEGER)")
    db.execute("INSERT INTO d_meta VALUES (?)", (value,))
    db.commit()
    db.close()


def _read(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT as_of_day FROM d_meta")).scalar_one())


def test_a_checkout_after_a_swap_reads_the_new_generation(tmp_path: Path) -> None:
    live = tmp_path / "case.db"
    _generation(live, 1)
    engine = make_engine(f"sqlite:///{live}", readonly=True)
    try:
        assert _read(engine) == 1
        assert _read(engine) == 1  # the pooled connection again
        for value in (2, 3):
            nxt = tmp_path / "case.db.next"
            _generation(nxt, value)
            os.link(live, tmp_path / f"case.db.prev{value}")
            os.replace(nxt, live)
            assert _read(engine) == value
    finally:
        engine.dispose()


def test_a_connection_is_reused_while_the_generation_stays(tmp_path: Path) -> None:
    live = tmp_path / "case.db"
    _generation(live, 7)
    engine = make_engine(f"sqlite:///{live}", readonly=True)
    try:
        with engine.connect() as conn:
            first = conn.connection.dbapi_connection
        with engine.connect() as conn:
            assert conn.connection.dbapi_connection is first
    finally:
        engine.dispose()


def test_a_missing_live_file_still_fails_to_connect(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'case.db'}", readonly=True)
    with pytest.raises(OperationalError):
        engine.connect()
    engine.dispose()
