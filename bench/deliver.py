"""Benchmark delivery: `opal deliver` for N users x 3 subscriptions at kreis scale, and /inbox.

Usage: .venv/bin/python bench/deliver.py [--users 200] [--data-dir var/bench-deliver]
       [--page-runs 100] [--seed 1] [--as-of 2026-11-23]

Builds (once) a kreis-scale generation in ``--data-dir`` (``opal demo-export`` + ``opal
refresh``), then on a fresh app database: ``--users`` users linked to real staff (the case
managers with the largest case loads first, then team leads), each with three "after each
refresh" subscriptions (R02 as CSV, R03 as XLSX, R01 as PDF), and runs ``opal deliver`` once as a
subprocess (``--jobs`` workers, default 2): wall time and the largest peak RSS of one process
(``ru_maxrss`` of the children). Then the inbox page: one user with 600 entries (a page shows 50)
fetched ``--page-runs`` times through the Flask app in-process (logged in; median, p95), next to
``/reports`` as a yardstick of the machine's load at that moment.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import insert, text  # noqa: E402

from config import Config  # noqa: E402
from opal.appdb import migrate  # noqa: E402
from opal.appdb.schema import deliveries, subscriptions, users  # noqa: E402
from opal.db import app_engine, case_engine  # noqa: E402
from opal.users import hash_password  # noqa: E402
from reports import ensure_generation  # noqa: E402

OPAL = Path(sys.executable).with_name("opal")
SUBSCRIPTIONS = (("R02", "csv"), ("R03", "xlsx"), ("R01", "pdf"))
PASSWORD = "bench-Passwort-123"


def links(config: Config, n: int) -> list[tuple[str, str | None, str | None]]:
    """(role, staff_id, team_id) of ``n`` users: busiest case managers first, then teams."""
    engine = case_engine(config)
    with engine.connect() as conn:
        staff = [r[0] for r in conn.execute(text(
            "SELECT p.case_manager_id FROM d_person p JOIN staff s "
            "ON s.staff_id = p.case_manager_id WHERE s.active = 1 AND "
            "s.function IN ('FALLMANAGEMENT', 'ARBEITSVERMITTLUNG') "
            "GROUP BY p.case_manager_id ORDER BY COUNT(*) DESC, p.case_manager_id"))]
        teams = [r[0] for r in conn.execute(text("SELECT team_id FROM team ORDER BY team_id"))]
    engine.dispose()
    out: list[tuple[str, str | None, str | None]] = [("case_manager", s, None) for s in staff]
    out += [("team_lead", None, t) for t in teams]
    if len(out) < n:
        out = (out * (n // len(out) + 1))
    return out[:n]


def fresh_app_db(config: Config, n: int) -> None:
    """A new app DB with ``n`` users and three subscriptions each; no inbox files."""
    Path(config.data_dir, "app.db").unlink(missing_ok=True)
    shutil.rmtree(Path(config.data_dir, "inbox"), ignore_errors=True)
    engine = app_engine(config)
    migrate.upgrade(engine, config.app_db_schema)
    now = datetime.now(UTC).replace(tzinfo=None)
    hashed = hash_password(PASSWORD)
    with engine.begin() as conn:
        for i, (role, staff, team) in enumerate(links(config, n), start=1):
            conn.execute(insert(users).values(
                id=i, username=f"bench{i:03d}", password_hash=hashed, role=role, staff_id=staff,
                team_id=team, active=True, created_at=now, updated_at=now))
            for code, fmt in SUBSCRIPTIONS:
                conn.execute(insert(subscriptions).values(
                    user_id=i, report=code, params="{}", format=fmt, schedule="refresh",
                    created_by=f"bench{i:03d}", created_at=now))
    engine.dispose()


def run_deliver(config: Config, jobs: int) -> tuple[float, float, float, str]:
    env = {**os.environ, "OPAL_DATA_DIR": config.data_dir}
    for key in ("OPAL_CASE_DB_URL", "OPAL_APP_DB_URL"):
        env.pop(key, None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run([str(OPAL), "deliver", "--jobs", str(jobs)], env=env,
                          capture_output=True, text=True, check=False)
    took = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mib = after.ru_maxrss / 1024
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
    return took, cpu, peak_mib, done.stdout.strip()


def inbox_page(config: Config, runs: int) -> tuple[float, float, int]:
    """Median and p95 ms of GET /inbox for a user with 600 entries."""
    from opal.web.app import build_app

    engine = app_engine(config)
    with engine.begin() as conn:
        now = datetime.now(UTC).replace(tzinfo=None)
        template = conn.execute(text(
            "SELECT params, data_as_of, row_count, size_bytes, sha256, file_name, path "
            "FROM deliveries WHERE status = 'ok' AND user_id = 1 LIMIT 1")).first()
        assert template is not None, "no delivery for user 1"
        conn.execute(insert(deliveries), [{
            "subscription_id": 100_000 + i, "user_id": 1, "due_at": now,
            "status": "ok", "report": "R02", "format": "csv", "params": template.params,
            "data_as_of": template.data_as_of, "row_count": template.row_count,
            "size_bytes": template.size_bytes, "sha256": template.sha256,
            "file_name": template.file_name, "path": template.path, "created_at": now,
            "finished_at": now} for i in range(597)])
    engine.dispose()
    from dataclasses import replace

    app = build_app(replace(config, secret_key="bench-secret"))
    client = app.test_client()
    page = client.get("/login")
    token = page.get_data(True).split('name="csrf-token" content="')[1].split('"')[0]
    client.post("/login", data={"username": "bench001", "password": PASSWORD,
                                "csrf_token": token})
    yard = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get("/reports")
        yard.append((time.perf_counter() - started) * 1000)
    print(f"GET /reports (yardstick): median {statistics.median(yard):.1f} ms")
    times = []
    size = 0
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get("/inbox")
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
        size = len(response.data)
    ordered = sorted(times)
    return statistics.median(times), ordered[int(0.95 * (len(ordered) - 1))], size


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench-deliver"))
    parser.add_argument("--page-runs", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2, help="opal deliver --jobs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", default="2026-11-23")
    args = parser.parse_args()
    config = ensure_generation(args.data_dir.resolve(), args.seed, args.as_of)
    fresh_app_db(config, args.users)
    took, cpu, peak, summary = run_deliver(config, args.jobs)
    n = args.users * len(SUBSCRIPTIONS)
    print(f"opal deliver --jobs {args.jobs}: {n} deliveries ({args.users} users x "
          f"{len(SUBSCRIPTIONS)}) in "
          f"{took:.1f} s ({took / n * 1000:.0f} ms each), CPU {cpu:.1f} s "
          f"({cpu / n * 1000:.0f} ms each), peak RSS {peak:.0f} MiB; load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"  {summary}")
    engine = app_engine(config)
    with engine.connect() as conn:
        stats = conn.execute(text(
            "SELECT report, format, COUNT(*), SUM(row_count), SUM(size_bytes) FROM deliveries "
            "WHERE status = 'ok' GROUP BY report, format ORDER BY report")).all()
    engine.dispose()
    for code, fmt, count, rows, size in stats:
        print(f"  {code} {fmt}: {count} files, {rows} rows, {size / 1e6:.1f} MB")
    median, p95, size = inbox_page(config, args.page_runs)
    print(f"GET /inbox (600 entries, 50 per page, {size / 1024:.0f} KiB): median {median:.1f} ms, "
          f"p95 {p95:.1f} ms over {args.page_runs} runs")
    print(json.dumps({"deliver_s": round(took, 1), "cpu_s": round(cpu, 1),
                      "peak_rss_mib": round(peak),
                      "inbox_median_ms": round(median, 1)}))


if __name__ == "__main__":
    main()
