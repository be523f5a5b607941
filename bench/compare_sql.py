"""Run a report's SQL as of an earlier commit and as in the working tree on one live generation:
the rows must be equal; prints the query times (best of two) for the county.

Usage: .venv/bin/python bench/compare_sql.py URL [SCHEMA] [--rev REV] [--only R09,R10,R15,R16]
       [--county-only]

URL is a case database (``sqlite:///var/bench-reports/case.db`` or a PostgreSQL URL with the
generation's SCHEMA). Without ``--county-only`` every team (up to 40) and office (up to 20) scope
runs too, R10 for days 1, 2, 30, 89, 90, 91, 180, 364, 365 and R15 for 35 ranges. Used for the
steering summaries (54eef06): ``--rev 54eef06~1``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Connection, create_engine, text  # noqa: E402

from opal import dates  # noqa: E402
from opal.catalogue.load import split_sql  # noqa: E402


def sql_at(rev: str | None, code: str) -> str:
    if rev is None:
        return split_sql((ROOT / "sql" / f"{code}.sql").read_text(encoding="utf-8"))[1]
    shown = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:sql/{code}.sql"],
                           capture_output=True, text=True, check=True).stdout
    return split_sql(shown)[1]


def timed(conn: Connection, sql: str, binds: dict[str, Any]) -> tuple[list[tuple[Any, ...]], float]:
    statement = text(sql)
    names = set(statement._bindparams)
    began = time.perf_counter()
    rows = conn.execute(statement, {k: v for k, v in binds.items() if k in names}).all()
    return [tuple(r) for r in rows], (time.perf_counter() - began) * 1000


def cases(conn: Connection, codes: list[str],
          county_only: bool) -> list[tuple[str, dict[str, Any]]]:
    d = conn.execute(text("SELECT as_of_day FROM d_meta")).scalar_one()
    as_of = dates.from_day(d)
    base = {"_as_of": d, "_viewer": "", "_staff_id": "", "target_u25": 75, "target_ue25": 150,
            "target_fm": 75}
    scopes = [{"_county": 1, "_team_id": "", "_office_id": ""}]
    if not county_only:
        teams = [r[0] for r in conn.execute(text("SELECT team_id FROM team ORDER BY team_id"))]
        offices = [r[0] for r in conn.execute(text(
            "SELECT office_id FROM office ORDER BY office_id"))]
        scopes += [{"_county": 0, "_team_id": t, "_office_id": ""} for t in teams[:40]]
        scopes += [{"_county": 0, "_team_id": "", "_office_id": o} for o in offices[:20]]
    days_list = (90, 365) if county_only else (1, 2, 30, 89, 90, 91, 180, 364, 365)
    out: list[tuple[str, dict[str, Any]]] = []
    for scope in scopes:
        for code in codes:
            if code == "R10":
                out += [(code, {**base, **scope, "days": n}) for n in days_list]
            elif code != "R15":
                out.append((code, {**base, **scope}))
    if "R15" in codes:
        ranges = ((0, 91), (500, 300)) if county_only else (
            (0, 0), (0, 90), (30, 365), (400, 91), (1500, 200), (3000, 366), (6000, 30))
        bases = ("",) if county_only else ("", "P16_AVGS", "P16I", "P16D_AGH", "P16E")
        for basis in bases:
            for back, length in ranges:
                last = as_of - timedelta(days=back)
                out.append(("R15", {**base, "_county": 1, "_team_id": "", "_office_id": "",
                                    "from_date": dates.day(last - timedelta(days=length)),
                                    "to_date": dates.day(last), "legal_basis": basis}))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("schema", nargs="?")
    parser.add_argument("--rev", default="54eef06~1", help="the earlier commit")
    parser.add_argument("--only", default="R09,R10,R15,R16")
    parser.add_argument("--county-only", action="store_true")
    args = parser.parse_args()
    codes = args.only.split(",")
    old = {c: sql_at(args.rev, c) for c in codes}
    new = {c: sql_at(None, c) for c in codes}
    engine = create_engine(args.url)
    differences = 0
    with engine.connect() as conn:
        if args.schema:
            conn.exec_driver_sql(f'SET search_path TO "{args.schema}"')
        todo = cases(conn, codes, args.county_only)
        for code, binds in todo:
            a, t_old = timed(conn, old[code], binds)
            b, t_new = timed(conn, new[code], binds)
            if a != b:
                differences += 1
                print(f"DIFFERENT {code} {binds}")
            if binds["_county"] == 1:
                t_old = min(t_old, timed(conn, old[code], binds)[1])
                t_new = min(t_new, timed(conn, new[code], binds)[1])
                extra = {k: v for k, v in binds.items() if not k.startswith("_")
                         and not k.startswith("target")}
                print(f"{code} county {extra}: {len(b)} rows, {args.rev} {t_old:.1f} ms, "
                      f"now {t_new:.1f} ms")
    print(f"{len(todo)} runs, {differences} with different rows")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
