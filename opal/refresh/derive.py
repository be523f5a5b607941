"""The derived layer: every fact the reports need, computed once per generation.

Reads the loaded base tables on the refresh connection, computes per person in Python (rules in
``derive_calc``, ``derive_person``, ``derive_integration``) and bulk-inserts every ``d_*`` table,
identically on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Table, insert

from opal import dates
from opal.casedb.schema import (
    d_elb_interval,
    d_integration,
    d_list_scope,
    d_meta,
    d_month,
    d_person,
)
from opal.refresh.derive_calc import Interval, merge_intervals
from opal.refresh.derive_integration import integration_rows
from opal.refresh.derive_load import load_base
from opal.refresh.derive_person import interval_rows, person_rows, scope_rows

#: rows per INSERT executemany: bounded memory per round trip on both databases
CHUNK = 5000


def insert_chunked(conn: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    """Insert ``rows`` in chunks so a county's rows never build one huge statement."""
    it = iter(rows)
    total = 0
    while chunk := list(islice(it, CHUNK)):
        conn.execute(insert(table), chunk)
        total += len(chunk)
    return total


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
                  built_at: datetime) -> None:
    """Compute every ``d_*`` table from the loaded base tables on ``conn`` for ``as_of``."""
    conn.execute(insert(d_meta).values(
        as_of=as_of, as_of_day=dates.day(as_of), exported_at=manifest["exported_at"],
        source=manifest.get("source", ""), format_version=manifest.get("format_version", 1),
        built_at=built_at.strftime("%Y-%m-%dT%H:%M:%SZ")))
    insert_chunked(conn, d_month, month_rows(as_of))

    d = dates.day(as_of)
    base = load_base(conn, d)
    merged: dict[str, list[Interval]] = {
        cno: merge_intervals(spells, d) for cno, spells in base.elb.items()}
    insert_chunked(conn, d_elb_interval, interval_rows(merged))
    insert_chunked(conn, d_person, person_rows(base, merged, as_of))
    insert_chunked(conn, d_list_scope, scope_rows(base))
    insert_chunked(conn, d_integration, integration_rows(base, merged, as_of))
