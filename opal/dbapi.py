"""Statements every request runs, on the driver's connection: compiled by SQLAlchemy once
per dialect, then executed without its execution machinery, which cost more than SQLite's own
work on these short statements (about 30 µs a statement against 5 µs, bench/README.md "Issue
19, fifth pass"). The app database's session read, download count and audit row
(``Statement``), and on SQLite the case database's generation, linkage and report SQL
(``select_rows``).

Values go through the same type processors SQLAlchemy would use (a ``DateTime`` is stored in
SQLite as SQLAlchemy stores it), so rows written here and rows written through Core elsewhere
are the same. A driver error becomes SQLAlchemy's exception for it (``OperationalError`` with
``orig``), as through ``Connection.execute``. Transactions are the caller's:
``connection(engine)`` checks a pooled connection out and rolls back whatever the caller left
open when it goes back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import Select


@dataclass(frozen=True)
class Prepared:
    """One statement for one dialect: its text, how to bind and how to read its columns."""

    sql: str
    order: tuple[str, ...] | None  # positional drivers (sqlite3: ``?``): the names in order
    binds: tuple[tuple[str, Callable[[Any], Any]], ...]  # the names whose value is converted
    columns: tuple[Callable[[Any], Any] | None, ...]  # per selected column: its converter
    fixed: tuple[tuple[str, Any], ...] = ()  # the statement's own values (``x == 'ok'``)

    def params(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """The driver's parameters for ``values`` (every bind of the statement named)."""
        if self.fixed:
            values = {**dict(self.fixed), **values}
        if self.binds:
            values = dict(values)
            for name, convert in self.binds:
                values[name] = convert(values[name])
        if self.order is None:
            return dict(values)
        return tuple(values[name] for name in self.order)

    def row(self, found: Sequence[Any] | None) -> tuple[Any, ...] | None:
        """A fetched row with each column as SQLAlchemy would have read it."""
        if found is None:
            return None
        return tuple(v if conv is None or v is None else conv(v)
                     for v, conv in zip(found, self.columns, strict=True))


class Statement:
    """A fixed statement, compiled on first use for each dialect it meets."""

    def __init__(self, element: Executable, keys: Sequence[str] | None = None) -> None:
        self.element, self.keys = element, list(keys) if keys is not None else None
        self._by_dialect: dict[str, Prepared] = {}

    def compiled(self, dialect: Dialect) -> Prepared:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            found = self._by_dialect[dialect.name] = _compile(self.element, self.keys, dialect)
        return found

    def execute(self, cursor: Any, dialect: Dialect, values: Mapping[str, Any]) -> Prepared:
        """Execute on a DB-API cursor; return the compiled form (``row`` reads its result)."""
        found = self.compiled(dialect)
        cursor.execute(found.sql, found.params(values))
        return found

    def first(self, cursor: Any, dialect: Dialect, values: Mapping[str, Any]
              ) -> tuple[Any, ...] | None:
        """The first row of a SELECT, its columns converted."""
        found = self.execute(cursor, dialect, values)
        return found.row(cursor.fetchone())


def _compile(element: Executable, keys: list[str] | None, dialect: Dialect) -> Prepared:
    clause = cast(ClauseElement, element)
    compiled = cast(SQLCompiler, clause.compile(dialect=dialect, column_keys=keys))
    if compiled.post_compile_params:  # ``in_(...)``: its text depends on the values
        raise ValueError("a fixed statement cannot expand IN: write it as equalities")
    binds: list[tuple[str, Callable[[Any], Any]]] = []
    fixed: list[tuple[str, Any]] = []
    for bind, name in compiled.bind_names.items():
        convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if convert is not None:
            binds.append((name, convert))
        if not bind.required and bind.callable is None:
            fixed.append((name, bind.value))
    columns: tuple[Callable[[Any], Any] | None, ...] = ()
    if isinstance(element, Select):
        columns = tuple(col.type.dialect_impl(dialect).result_processor(dialect, None)
                        for col in element.selected_columns)
    order = tuple(compiled.positiontup or ()) if compiled.positional else None
    return Prepared(compiled.string, order, tuple(binds), columns, tuple(fixed))


class Driver(NamedTuple):
    """A pooled driver connection (``commit``, ``rollback``, ``invalidate``), a cursor on it
    and the dialect its statements are compiled for."""

    conn: Any
    cursor: Any
    dialect: Dialect


@contextmanager
def connection(engine: Engine) -> Iterator[Driver]:
    """A pooled driver connection with a cursor. Whatever the caller leaves uncommitted is
    rolled back when it returns to the pool (the pool's reset); after an error it is rolled
    back here, and discarded (``invalidate``) when even that fails."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            yield Driver(raw, cursor, engine.dialect)
        finally:
            cursor.close()
    except BaseException:
        try:
            raw.rollback()
        except Exception:
            raw.invalidate()
        raise
    finally:
        raw.close()


def select_rows(conn: Connection, statement: Statement, values: Mapping[str, Any]
                ) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of a SELECT on ``conn`` (a SQLAlchemy connection, inside its
    transaction). On SQLite the driver's cursor runs it; elsewhere ``Connection.execute``
    (a database round trip outweighs the machinery there)."""
    dialect = conn.dialect
    if dialect.name != "sqlite":
        found = conn.execute(statement.element, dict(values))
        return list(found.keys()), [tuple(row) for row in found]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        statement.execute(cursor, dialect, values)
        rows = cursor.fetchall()
        return [d[0] for d in cursor.description], rows
    except sqlite3.Error as exc:
        raise DBAPIError.instance(statement.compiled(dialect).sql, None, exc, sqlite3.Error,
                                  hide_parameters=True, dialect=dialect) from exc
    finally:
        cursor.close()


def first_row(conn: Connection, statement: Statement, values: Mapping[str, Any]
              ) -> tuple[Any, ...] | None:
    """The first row of ``select_rows``, None when there is none."""
    rows = select_rows(conn, statement, values)[1]
    return tuple(rows[0]) if rows else None

