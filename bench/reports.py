"""Benchmark the report engine: per report and role, median/p95 of repeated in-process runs.

Usage: .venv/bin/python bench/reports.py [--runs 15] [--data-dir DIR] [--seed 1]
       [--as-of 2026-11-23] [--from-env] [--only R12,R13] [--roles controlling]

Without a live generation in ``--data-dir`` (default ``var/bench-reports``) it first runs
``opal demo-export --scale kreis`` and ``opal refresh`` there. Each report then runs ``--runs``
times for the largest case load (case_manager), the largest team (team_lead) and the county
(controlling), through ``run_report`` exactly as the portal calls it (audit rows go to a scratch
SQLite app DB). ``overhead`` is the time outside the database (parameters, coercion, compute,
suppression, sort; the audit insert is shown apart as ``audit``): the engine's own cost;
``db`` is the time inside the case DB (the ``d_meta``/linkage reads and the report's query);
``cpu`` is this process's CPU time of the run (on a loaded machine the wall time waits for a
core; SQLite's work is in this process, PostgreSQL's is not).

``--from-env`` benchmarks the live generation the ``OPAL_*`` variables name instead (e.g. a
PostgreSQL case DB: ``OPAL_CASE_DB_URL``, ``OPAL_CASE_DB_SCHEMA``; nothing is built then).
``--only`` and ``--roles`` restrict the run to some reports or roles.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from config import Config  # noqa: E402
from opal.access import Actor, can_run  # noqa: E402
from opal.catalogue import load_and_check  # noqa: E402
from opal.context import Context  # noqa: E402
from opal.db import case_engine, init_app_db, make_engine  # noqa: E402
from opal.pipeline import run_report  # noqa: E402

OPAL = Path(sys.executable).with_name("opal")


def ensure_generation(data_dir: Path, seed: int, as_of: str) -> Config:
    """Return a Config on ``data_dir``, building a kreis-scale generation there if needed."""
    env = {**os.environ, "OPAL_DATA_DIR": str(data_dir)}
    for key in ("OPAL_CASE_DB_URL", "OPAL_APP_DB_URL"):
        env.pop(key, None)
    config = Config.from_env({"OPAL_DATA_DIR": str(data_dir)})
    if not (data_dir / "case.db").exists():
        export = data_dir / "export"
        data_dir.mkdir(parents=True, exist_ok=True)
        print(f"building a kreis-scale generation in {data_dir} ...", file=sys.stderr)
        subprocess.run([str(OPAL), "demo-export", str(export), "--scale", "kreis", "--seed",
                        str(seed), "--as-of", as_of], check=True, env=env)
        subprocess.run([str(OPAL), "refresh", str(export)], check=True, env=env)
    return config


def pick_actors(ctx: Context) -> dict[str, Actor]:
    """The largest case load, the largest team, and controlling."""
    with ctx.case_db.connect() as conn:
        staff = conn.execute(text(
            "SELECT p.case_manager_id FROM d_person p JOIN staff s "
            "ON s.staff_id = p.case_manager_id "
            "WHERE s.function IN ('FALLMANAGEMENT', 'ARBEITSVERMITTLUNG') "
            "GROUP BY p.case_manager_id ORDER BY COUNT(*) DESC, p.case_manager_id LIMIT 1"
        )).scalar_one()
        team = conn.execute(text(
            "SELECT team_id FROM d_person WHERE team_id IS NOT NULL GROUP BY team_id "
            "ORDER BY COUNT(*) DESC, team_id LIMIT 1")).scalar_one()
    return {"case_manager": Actor("bench-cm", "case_manager", staff),
            "team_lead": Actor("bench-tl", "team_lead", None, team),
            "controlling": Actor("bench-ctrl", "controlling")}


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench-reports"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", default="2026-11-23")
    parser.add_argument("--from-env", action="store_true",
                        help="use the live generation of the OPAL_* environment")
    parser.add_argument("--only", default="", help="comma-separated report codes")
    parser.add_argument("--roles", default="", help="comma-separated roles")
    args = parser.parse_args()
    if args.from_env:
        config = Config.from_env(dict(os.environ))
    else:
        config = ensure_generation(args.data_dir.resolve(), args.seed, args.as_of)
    only = {c.strip() for c in args.only.split(",") if c.strip()}
    roles = {r.strip() for r in args.roles.split(",") if r.strip()}
    with tempfile.TemporaryDirectory() as scratch:
        apps = make_engine(f"sqlite:///{scratch}/app.db")
        init_app_db(apps, config.app_db_schema)
        ctx = Context(config, case_engine(config), apps, load_and_check())
        actors = pick_actors(ctx)
        print(f"{'report':6} {'role':13} {'rows':>6} {'median ms':>10} {'p95 ms':>8} "
              f"{'db ms':>8} {'overhead ms':>12} {'audit ms':>9} {'cpu ms':>8}")
        for defn in ctx.catalogue:
            if only and defn.code not in only:
                continue
            for role, actor in actors.items():
                if (roles and role not in roles) or not can_run(actor, defn):
                    continue
                totals: list[float] = []
                overheads: list[float] = []
                audits: list[float] = []
                dbs: list[float] = []
                cpus: list[float] = []
                rows = 0
                for _ in range(args.runs):
                    cpu = time.process_time()
                    result = run_report(ctx, defn.code, actor, {}, "json", client="bench")
                    cpus.append((time.process_time() - cpu) * 1000)
                    timing = result.extra["timing"]
                    totals.append(timing["total_s"] * 1000)
                    overheads.append((timing["total_s"] - timing["db_s"] - timing["audit_s"])
                                     * 1000)
                    audits.append(timing["audit_s"] * 1000)
                    dbs.append(timing["db_s"] * 1000)
                    rows = result.row_count
                print(f"{defn.code:6} {role:13} {rows:6d} {statistics.median(totals):10.1f} "
                      f"{p95(totals):8.1f} {statistics.median(dbs):8.1f} "
                      f"{statistics.median(overheads):12.2f} "
                      f"{statistics.median(audits):9.2f} {statistics.median(cpus):8.1f}")
        ctx.case_db.dispose()
        apps.dispose()


if __name__ == "__main__":
    main()
