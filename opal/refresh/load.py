"""Bulk loading of a new generation: DDL without indexes, fast inserts, indexes, final checks.

SQLite streams rows through ``executemany`` inside one transaction; PostgreSQL uses ``COPY``.
Both load a generation that is not live yet, so speed comes before crash safety here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Table, func, select
from sqlalchemy.schema import CreateIndex, CreateTable

from opal.casedb.schema import BASE_TABLES, DERIVED_TABLES, d_meta
from opal.refresh.model import Manifest, Problem


def _deferred_key(conn: Connection, table: Table) -> bool:
    """PostgreSQL builds a base table's primary key after the load: one sort instead of an
    index insert (and its WAL record) per row; the validator has already refused duplicates."""
    return conn.dialect.name == "postgresql" and bool(table.primary_key.columns)


def create_tables(conn: Connection) -> None:
    """Create every base and derived table; base indexes wait until the rows are in."""
    for table in BASE_TABLES.values():
        conn.execute(CreateTable(table))
        if _deferred_key(conn, table):
            conn.exec_driver_sql(f'ALTER TABLE "{table.name}" DROP CONSTRAINT "{table.name}_pkey"')
    for table in DERIVED_TABLES:
        conn.execute(CreateTable(table))
        for index in table.indexes:
            conn.execute(CreateIndex(index))


def create_indexes(conn: Connection, tables: Iterable[Table] | None = None) -> None:
    """Index the loaded base tables (all, or ``tables``): cheaper once than row by row."""
    for table in BASE_TABLES.values() if tables is None else tables:
        if _deferred_key(conn, table):
            cols = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
            conn.exec_driver_sql(f'ALTER TABLE "{table.name}" ADD PRIMARY KEY ({cols})')
        for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
            conn.execute(CreateIndex(index))


def insert_rows(conn: Connection, table: Table, rows: Iterable[tuple[Any, ...]],
                freeze: bool = False) -> int:
    """Insert ``rows`` (in the table's column order) and return how many there were.

    ``freeze`` (PostgreSQL; only for a base table loaded whole, with no cursor open) empties
    the table first, so that COPY may write the rows already frozen in any transaction (a
    parallel build commits in stages): reading them later dirties no page to set hint bits.
    """
    count = 0

    def counted() -> Iterable[tuple[Any, ...]]:
        nonlocal count
        for row in rows:
            count += 1
            yield row

    names = [c.name for c in table.columns]
    cols = ", ".join(f'"{n}"' for n in names)
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        if freeze:
            conn.exec_driver_sql(f'TRUNCATE "{table.name}"')
        with driver.cursor() as cur, cur.copy(f'COPY "{table.name}" ({cols}) FROM STDIN'
                                                   + (" (FREEZE)" if freeze else "")) as cp:
            for row in counted():
                cp.write_row(row)
    else:
        marks = ", ".join("?" for _ in names)
        driver.executemany(f'INSERT INTO "{table.name}" ({cols}) VALUES ({marks})', counted())
    return count


def count_rows(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def check_generation(conn: Connection, manifest: Manifest) -> list[Problem]:
    """Check the built generation before it may go live: one d_meta row, counts as promised."""
    problems: list[Problem] = []
    meta = conn.execute(select(d_meta.c.as_of)).all()
    if len(meta) != 1 or meta[0][0] != manifest.as_of:
        problems.append(Problem("d_meta", None, None,
                                f"expected one row for {manifest.as_of}, found {len(meta)}"))
    for name, table in BASE_TABLES.items():
        n = count_rows(conn, table)
        entry = manifest.tables.get(name)  # a table of a later format version stays empty
        expected = 0 if entry is None else entry.rows
        if n != expected:
            problems.append(Problem(f"{name}.csv", None, None,
                                    f"loaded {n} rows, the manifest says {expected}"))
    if conn.dialect.name == "sqlite":
        result = conn.exec_driver_sql("PRAGMA quick_check").scalar()
        if result != "ok":
            problems.append(Problem("case database", None, None, f"quick_check: {result}"))
    return problems


def analyze(conn: Connection, tables: Iterable[Table]) -> None:
    """Give the query planner fresh statistics for ``tables``.

    Without them PostgreSQL plans on default estimates: a Kreis-scale R13 took minutes instead
    of about a second, and the derive step's ordered reads chose plans for a few rows. Tables
    are named one by one: a bare ANALYZE would scan every schema of the database.
    """
    for table in tables:
        conn.exec_driver_sql(f'ANALYZE "{table.name}"')
