"""The derived layer: every fact the reports need, computed once per generation (STUB)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert

from opal import dates
from opal.casedb.schema import d_meta, d_month


def build_derived(conn: Connection, as_of: date, manifest: dict[str, Any],
                  built_at: datetime) -> None:
    """Compute every ``d_*`` table from the loaded base tables on ``conn`` (stub: meta, months)."""
    conn.execute(insert(d_meta).values(
        as_of=as_of, as_of_day=dates.day(as_of), exported_at=manifest["exported_at"],
        source=manifest.get("source", ""), format_version=manifest.get("format_version", 1),
        built_at=built_at.strftime("%Y-%m-%dT%H:%M:%SZ")))
    months = []
    for idx in range(dates.month_idx(1900, 1), dates.month_of(as_of) + 1):
        last = dates.month_last(idx)
        months.append({"month_idx": idx, "month": dates.month_key(idx),
                       "first_day": dates.day(dates.month_first(idx)),
                       "last_day": dates.day(last), "last_date": last})
    conn.execute(insert(d_month), months)
