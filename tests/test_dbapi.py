"""Fixed statements on the driver's connection (opal.dbapi): the same rows and values as
SQLAlchemy's own execution, on SQLite and PostgreSQL, and the same exceptions."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from opal.appdb.schema import downloads
from opal.dbapi import Statement, connection, select_rows
from tests.fixtures.engine import EngineWorld

AT = datetime(2026, 12, 5, 8, 30, 15, 123456)


def test_a_row_written_here_reads_back_through_sqlalchemy_and_here(
        engine_world: EngineWorld) -> None:
    """A DateTime goes in as SQLAlchemy stores it and comes out as a datetime, either way; a
    statement's own values (``status == "ok"``) are bound with the caller's."""
    engine = engine_world.ctx.app_db
    put = Statement(insert(downloads), ["ts", "username", "seq"])
    get = Statement(select(downloads.c.ts, downloads.c.seq).where(
        downloads.c.username == bindparam("username"), downloads.c.seq == 7))
    with connection(engine) as db:
        put.execute(db.cursor, db.dialect, {"ts": AT, "username": "dbapi", "seq": 7})
        put.execute(db.cursor, db.dialect, {"ts": AT, "username": "dbapi", "seq": 8})
        db.conn.commit()
        assert get.first(db.cursor, db.dialect, {"username": "dbapi"}) == (AT, 7)
        assert get.first(db.cursor, db.dialect, {"username": "nobody"}) is None
        db.conn.commit()
    with engine.connect() as conn:
        assert conn.execute(select(downloads.c.ts).where(downloads.c.seq == 8)).scalar_one() == AT


def test_what_the_caller_leaves_open_is_rolled_back(engine_world: EngineWorld) -> None:
    engine = engine_world.ctx.app_db
    put = Statement(insert(downloads), ["ts", "username", "seq"])
    with pytest.raises(RuntimeError), connection(engine) as db:
        put.execute(db.cursor, db.dialect, {"ts": AT, "username": "gone", "seq": 1})
        raise RuntimeError("the caller fails before its commit")
    with connection(engine) as db:
        db.cursor.execute("SELECT 1")  # the pooled connection is usable again
    with engine.connect() as conn:
        left = conn.execute(select(downloads.c.id).where(downloads.c.username == "gone")).all()
    assert left == []


def test_an_expanding_in_is_refused_when_compiled(engine_world: EngineWorld) -> None:
    statement = Statement(select(downloads.c.id).where(downloads.c.username.in_(["a", "b"])))
    with pytest.raises(ValueError, match="IN"):
        statement.compiled(engine_world.ctx.app_db.dialect)


def test_case_rows_and_errors_are_sqlalchemys(engine_world: EngineWorld) -> None:
    """``select_rows`` gives the column names and rows ``Connection.execute`` gives, and a
    missing table is SQLAlchemy's exception with the driver's error as ``orig`` (the pipeline
    tells a missing derived table and a timeout by it)."""
    with engine_world.ctx.case_db.connect() as conn:
        query = text("SELECT staff_id, display_name FROM staff WHERE staff_id >= :s "
                     "ORDER BY staff_id")
        keys, rows = select_rows(conn, Statement(query), {"s": ""})
        expected = conn.execute(query, {"s": ""})
        assert keys == list(expected.keys()) and rows == [tuple(r) for r in expected]
        assert rows, "the mini case DB has staff"
        with pytest.raises((OperationalError, ProgrammingError)) as caught:
            select_rows(conn, Statement(text("SELECT x FROM no_such_table")), {})
        assert "no_such_table" in str(caught.value.orig)
