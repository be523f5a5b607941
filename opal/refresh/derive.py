"""The derived layer: every fact the reports need, computed once per generation.

Reads the loaded base tables on the refresh connection, computes per person in Python (rules in
``derive_calc``, ``derive_person``, ``derive_integration``) and writes every ``d_*`` table through
the loader's bulk path (``COPY`` on PostgreSQL, ``executemany`` on SQLite), identically on both.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import date, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select

from opal import dates
from opal.casedb.schema import (
    BASE_TABLES,
    d_elb_interval,
    d_entry,
    d_integration,
    d_list_scope,
    d_meta,
    d_month,
    d_month_stock,
    d_person,
)
from opal.refresh.derive_calc import Interval, merge_intervals
from opal.refresh.derive_fact import build_month_fact
from opal.refresh.derive_integration import entry_rows, integration_rows
from opal.refresh.derive_load import CHUNK_PERSONS, BaseReader
from opal.refresh.derive_month import Marks, mark_persons, month_stock_rows, new_marks
from opal.refresh.derive_person import interval_rows, person_rows, scope_rows
from opal.refresh.derive_summary import build_summaries
from opal.refresh.load import insert_rows


def write_rows(conn: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    """Stream dict rows into ``table`` by the bulk path: per-row SQLAlchemy binding cost 3x more."""
    as_tuple = itemgetter(*(c.name for c in table.columns))
    return insert_rows(conn, table, map(as_tuple, rows))


def month_rows(as_of: date) -> list[dict[str, Any]]:
    """``d_month`` from 1900-01 to the month of ``as_of``: month parameters resolve here."""
    months = []
    for idx in range(dates.month_idx(1900, 1), dates.month_of(as_of) + 1):
        last = dates.month_last(idx)
        months.append({"month_idx": idx, "month": dates.month_key(idx),
                       "first_day": dates.day(dates.month_first(idx)),
                       "last_day": dates.day(last), "last_date": last})
    return months


def build_derived(conn: Connection, as_of: date, manifest: dict[str, Any],
                  built_at: datetime, chunk_persons: int = CHUNK_PERSONS,
                  progress: Callable[[str], None] | None = None) -> None:
    """Compute every ``d_*`` table from the loaded base tables on ``conn`` for ``as_of``."""
    start_derived(conn, as_of, manifest, built_at)
    marks = derive_persons(conn, as_of, chunk_persons, progress)
    finish_derived(conn, marks, as_of)


def start_derived(conn: Connection, as_of: date, manifest: dict[str, Any],
                  built_at: datetime) -> None:
    """``d_meta`` and ``d_month``: what the generation is, and the months parameters resolve to."""
    conn.execute(insert(d_meta).values(
        as_of=as_of, as_of_day=dates.day(as_of), exported_at=manifest["exported_at"],
        source=manifest.get("source", ""), format_version=manifest.get("format_version", 1),
        built_at=built_at.strftime("%Y-%m-%dT%H:%M:%SZ")))
    write_rows(conn, d_month, month_rows(as_of))


def derive_persons(conn: Connection, as_of: date, chunk_persons: int = CHUNK_PERSONS,
                   progress: Callable[[str], None] | None = None,
                   lo: str | None = None, hi: str | None = None) -> Marks:
    """Write the per-person tables for customer numbers in ``[lo, hi)`` (None: unbounded) and
    return their month marks (``d_month_stock`` adds up every part's).

    Persons are read and derived ``chunk_persons`` at a time in customer-number order (every
    per-person fact depends on that person's rows only; the BG's children are read once for
    all), so memory is bounded by the chunk, not by the county, and each table is read once.
    """
    d = dates.day(as_of)
    marks = new_marks()
    person = BASE_TABLES["person"]
    count = select(func.count()).select_from(person)
    if lo is not None:
        count = count.where(person.c.customer_no >= lo)
    if hi is not None:
        count = count.where(person.c.customer_no < hi)
    total = conn.execute(count).scalar_one()
    done, began = 0, time.monotonic()
    with BaseReader(conn, d, lo=lo, hi=hi) as reader:
        for base in reader.chunks(chunk_persons):
            merged: dict[str, list[Interval]] = {
                cno: merge_intervals(spells, d) for cno, spells in base.elb.items()}
            write_rows(conn, d_elb_interval, interval_rows(merged))
            write_rows(conn, d_person, person_rows(base, merged, as_of))
            write_rows(conn, d_list_scope, scope_rows(base))
            write_rows(conn, d_integration, integration_rows(base, merged, as_of))
            write_rows(conn, d_entry, entry_rows(base, merged))
            mark_persons(marks, base, merged, as_of, base.activation)
            done += len(base.persons)
            if progress is not None:
                progress(f"  persons derived: {done:,} of {total:,} "
                         f"({time.monotonic() - began:.1f} s)")
            del base, merged
    return marks


def finish_derived(conn: Connection, marks: Marks, as_of: date) -> None:
    """The county-wide tables once every person is derived: month stocks, facts, summaries."""
    write_rows(conn, d_month_stock, month_stock_rows(marks, as_of))
    build_month_fact(conn)
    build_summaries(conn, dates.day(as_of))
