"""Time build_derived on a synthetic kreis-scale base-table load (SQLite and/or PostgreSQL).

Usage: .venv/bin/python bench/bench_derive.py [sqlite|pg] [--persons 40000]
The load itself is not timed; only build_derived inside one transaction, as refresh runs it.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Date, Engine, insert, select, text
from sqlalchemy import func as sqlfunc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opal.casedb.schema import (  # noqa: E402
    BASE_TABLES,
    DERIVED_TABLES,
    day_column_name,
    metadata,
)
from opal.db import make_engine  # noqa: E402
from opal.refresh.derive import build_derived  # noqa: E402

AS_OF = date(2026, 11, 23)
D = AS_OF.toordinal()
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_SCHEMA = "bench_derive"


def _rows(table: str, rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Fill every ``*_day`` column (and defaults) the loader would fill."""
    t = BASE_TABLES[table]
    dcols = [c.name for c in t.columns if isinstance(c.type, Date)]
    names = [c.name for c in t.columns]
    for r in rows:
        row = dict.fromkeys(names)
        row.update(r)
        for c in dcols:
            row[day_column_name(c)] = row[c].toordinal() if row[c] else None
        if table == "measure_participation":
            end = row["exit_date"] or row["planned_end_date"]
            row["active_to_day"] = end.toordinal() if end else 3652059
        yield row


def _load(engine: Engine, table: str, rows: Iterator[dict[str, Any]]) -> None:
    batch: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for row in _rows(table, rows):
            batch.append(row)
            if len(batch) == 10000:
                conn.execute(insert(BASE_TABLES[table]), batch)
                batch = []
        if batch:
            conn.execute(insert(BASE_TABLES[table]), batch)


def _day(n: int) -> date:
    return date.fromordinal(n)


def generate(engine: Engine, persons: int, rnd: random.Random) -> None:
    """A kreis-like load: 17 offices, ~0.7 BG per person, long ELB histories, 500k contacts."""
    scale = persons / 40000
    _load(engine, "office", ({"office_id": f"O{i:02d}", "name": f"Office {i}"}
                             for i in range(17)))
    _load(engine, "team", ({"team_id": f"T{i:03d}", "office_id": f"O{i % 17:02d}",
                            "name": f"Team {i}", "focus": "UE25"} for i in range(51)))
    n_staff = max(20, int(200 * scale))
    _load(engine, "staff", ({"staff_id": f"S{i:04d}", "team_id": f"T{i % 51:03d}",
                             "display_name": f"Staff {i}", "function": "FALLMANAGEMENT",
                             "fte_e4": 10000, "active": 1} for i in range(n_staff)))
    _load(engine, "stand_in", ({"staff_id": f"S{i:04d}", "covers_staff_id": f"S{i + 1:04d}",
                                "from_date": _day(D - 10), "to_date": _day(D + 10)}
                               for i in range(0, n_staff - 1, 10)))
    n_bg = int(persons * 0.7)
    _load(engine, "benefit_unit", ({
        "bg_id": f"B{i:06d}", "office_id": f"O{i % 17:02d}",
        "bg_type": rnd.choice(("SINGLE", "ALLEINERZIEHEND", "PAAR_MIT_KIND")),
        "start_date": _day(D - rnd.randint(0, 5000)),
        "end_date": None if rnd.random() < 0.6 else _day(D - rnd.randint(0, 300))}
        for i in range(n_bg)))
    cnos = [f"K{i:07d}" for i in range(persons)]
    _load(engine, "person", ({
        "customer_no": c, "bg_id": f"B{rnd.randrange(n_bg):06d}",
        "bg_role": rnd.choice(("HAUPTPERSON", "KIND", "PARTNER")), "last_name": "Muster",
        "first_name": "Max", "sex": "W", "birth_date": _day(D - rnd.randint(0, 80 * 365)),
        "citizenship": "DE", "residence_status": "DEUTSCH", "severely_disabled": 0,
        "case_manager_id": f"S{rnd.randrange(n_staff):04d}", "protected": int(
            rnd.random() < 0.005)} for c in cnos))

    def spells() -> Iterator[dict[str, Any]]:
        for i in range(int(60000 * scale)):
            start = D - rnd.randint(0, 5400)
            yield {"spell_id": f"BS{i:07d}", "customer_no": rnd.choice(cnos),
                   "status": "ELB" if rnd.random() < 0.85 else "NEF",
                   "from_date": _day(start),
                   "to_date": None if rnd.random() < 0.4 else _day(start + rnd.randint(0, 900))}
    _load(engine, "benefit_spell", spells())
    _load(engine, "unemployment_spell", ({
        "spell_id": f"US{i:07d}", "customer_no": rnd.choice(cnos), "status": "ARBEITSLOS",
        "from_date": _day(D - rnd.randint(0, 2000)), "to_date": None}
        for i in range(int(30000 * scale))))
    _load(engine, "profile", ({"customer_no": c, "valid_from": _day(D - k * 400),
                               "profile_group": "A"} for c in cnos for k in range(2)))
    _load(engine, "contact", ({
        "contact_id": f"C{i:07d}", "customer_no": rnd.choice(cnos), "staff_id": "S0000",
        "contact_date": _day(D - rnd.randint(0, 1825)), "channel": "TELEFON",
        "outcome": rnd.choice(("WAHRGENOMMEN", "WAHRGENOMMEN", "NICHT_ERSCHIENEN"))}
        for i in range(int(500000 * scale))))
    _load(engine, "integration_plan", ({
        "plan_id": f"P{i:07d}", "customer_no": rnd.choice(cnos), "plan_type": "EGV",
        "signed_date": _day(D - rnd.randint(0, 1825)), "next_review_date": _day(D + 30),
        "end_date": None, "status": rnd.choice(("AKTIV", "ABGELAUFEN"))}
        for i in range(int(50000 * scale))))
    _load(engine, "measure_type", iter([{"measure_code": "M1", "name": "AGH",
                                         "legal_basis": "P16D_AGH", "category": "KOMMUNAL",
                                         "counts_for_activation": 1}]))
    _load(engine, "measure_participation", ({
        "participation_id": f"M{i:07d}", "customer_no": rnd.choice(cnos), "measure_code": "M1",
        "entry_date": _day(D - rnd.randint(0, 1825)), "planned_end_date": None,
        "exit_date": None} for i in range(int(50000 * scale))))
    _load(engine, "employment_spell", ({
        "employment_id": f"E{i:07d}", "customer_no": rnd.choice(cnos),
        "kind": rnd.choice(("SVB", "AUSBILDUNG", "GERINGFUEGIG")),
        "start_date": _day(D - rnd.randint(0, 1825)), "end_date": None, "subsidised": 0,
        "wz_section": "N", "full_time": 1} for i in range(int(50000 * scale))))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("backend", choices=("sqlite", "pg"))
    ap.add_argument("--persons", type=int, default=40000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.backend == "pg":
            engine = make_engine(PG_URL, PG_SCHEMA)
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
                conn.execute(text(f'CREATE SCHEMA "{PG_SCHEMA}"'))
        else:
            engine = make_engine(f"sqlite:///{tmp}/case.db")
        metadata.create_all(engine)
        t0 = time.perf_counter()
        generate(engine, args.persons, random.Random(7))
        print(f"load: {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        with engine.begin() as conn:
            build_derived(conn, AS_OF, {"exported_at": "2026-11-24T01:30:00Z"},
                          datetime.now(UTC))
        elapsed = time.perf_counter() - t0
        with engine.connect() as conn:
            counts = {t.name: conn.execute(select(sqlfunc.count()).select_from(t)).scalar()
                      for t in DERIVED_TABLES}
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"build_derived ({args.backend}, {args.persons} persons): {elapsed:.2f} s, "
              f"peak RSS {rss:.0f} MB, rows {counts}")
        if args.backend == "pg":
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
        engine.dispose()


if __name__ == "__main__":
    main()
