"""Made once, with the code of main at e81fcb9 (before versioned migrations): an app database
in the pre-Alembic schema with rows in every table, kept as ``app.db`` (SQLite) and
``app.pg.sql`` (``pg_dump --inserts`` of schema ``opal_app_v0``). tests/test_appdb_migrations.py
upgrades both and finds every row. Do not re-run it with newer code: the point is the old schema.

    .venv/bin/python tests/data/appdb_v0/make.py
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, insert, text

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from opal import audit  # noqa: E402
from opal.appdb.schema import downloads, login_failures, refresh_runs, user_sessions  # noqa: E402
from opal.clock import fixed_clock  # noqa: E402
from opal.db import init_app_db, make_engine  # noqa: E402
from opal.users import disable_user, upsert_user  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCHEMA = "opal_app_v0"
T0 = datetime(2026, 10, 1, 8, 0, 0, tzinfo=UTC)


def fill(engine: object) -> None:
    clock = fixed_clock(T0)
    upsert_user(engine, "cm1", "case_manager", staff_id="S1", password="altes-passwort-1",
                clock=clock)
    upsert_user(engine, "tl1", "team_lead", team_id="T1", clock=clock)
    upsert_user(engine, "ctrl", "controlling", clock=clock)
    upsert_user(engine, "admin", "admin", password="altes-passwort-2", clock=clock)
    upsert_user(engine, "gone", "case_manager", staff_id="S2", clock=clock)
    disable_user(engine, "gone", clock=clock)
    naive = T0.replace(tzinfo=None)
    for i, (report, outcome) in enumerate([("R02", "ok"), ("R03", "denied"), ("R99", "invalid")]):
        audit.record(engine, clock=fixed_clock(T0.replace(minute=i)), username="cm1",
                     role="case_manager", report=report, params={"n_days": "90"}, format="csv",
                     row_count=17 if outcome == "ok" else None, outcome=outcome,
                     duration_ms=12, data_as_of="2026-09-30", client="127.0.0.1")
    audit.record(engine, clock=clock, username="admin", role="admin", action="login",
                 outcome="ok", client="127.0.0.1")
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(insert(user_sessions).values(id="a" * 64, user_id=1, created_at=naive,
                                                  last_seen_at=naive,
                                                  role_at_login="case_manager"))
        conn.execute(insert(refresh_runs).values(
            started_at=naive, finished_at=naive, status="ok", message="ok",
            source_dir="/srv/export/2026-09-30", as_of="2026-09-30",
            exported_at="2026-10-01T01:30:00Z", published_at=naive,
            row_counts='{"person": 12345}', pid=4242, host="opal1"))
        conn.execute(insert(refresh_runs).values(
            started_at=naive, status="failed", message="person.csv Zeile 7: Datum ungültig",
            source_dir="/srv/export/bad", pid=4243, host="opal1"))
        conn.execute(insert(login_failures).values(ts=naive, username="cm1", address="10.0.0.9"))
        conn.execute(insert(downloads).values(ts=naive, username="cm1"))


def main() -> None:
    db = HERE / "app.db"
    db.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{db}")
    init_app_db(engine, "opal_app")
    fill(engine)
    engine.dispose()

    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
    admin.dispose()
    engine = make_engine(PG_URL, SCHEMA)
    init_app_db(engine, SCHEMA)
    engine.dispose()
    engine = make_engine(PG_URL, SCHEMA)
    fill(engine)
    engine.dispose()
    dump = subprocess.run(
        ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "--no-owner", "--no-privileges",
         "--inserts", f"--schema={SCHEMA}", "test"], check=True, capture_output=True, text=True)
    lines = [line for line in dump.stdout.splitlines() if not line.startswith("\\")]
    (HERE / "app.pg.sql").write_text("\n".join(lines) + "\n")
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
    admin.dispose()


if __name__ == "__main__":
    main()
