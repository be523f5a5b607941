"""The audit log is append-only in the database; only `opal purge` removes entries, and says so.

security.md §6 tests 18 (the app DB role cannot UPDATE/DELETE audit rows) and 24 (a purge job
removes logs past the policy), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from config import Config
from opal.appdb import guard
from opal.appdb.schema import audit_log, downloads, login_failures, user_sessions, users
from opal.audit import record
from opal.cli import CliState, main
from opal.clock import fixed_clock
from opal.db import app_engine, init_app_db
from opal.retention import PurgeError, purge
from tests.conftest import FIXED_NOW, PG_URL, drop_pg_schemas, make_config
from tests.fixtures.exports import config_env


@pytest.fixture
def app_db(config: Config) -> Iterator[Engine]:
    engine = app_engine(config)
    init_app_db(engine, config.app_db_schema)
    yield engine
    engine.dispose()


def entry(engine: Engine, days_ago: float, message: str = "probe") -> None:
    when = FIXED_NOW - timedelta(days=days_ago)
    record(engine, clock=fixed_clock(when), username="fm.arendt", role="case_manager",
           report="R02", outcome="ok", message=message, client="10.0.0.1")


def messages(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(audit_log.c.message).order_by(audit_log.c.id)).scalars())


def refused(engine: Engine, statement: Any) -> str:
    with pytest.raises(DBAPIError) as info, engine.begin() as conn:
        conn.execute(statement)
    return str(info.value)


def test_database_refuses_update_and_delete(app_db: Engine) -> None:
    entry(app_db, 1, "erste")
    entry(app_db, 0, "zweite")
    assert "append-only" in refused(app_db, update(audit_log).values(message="gefälscht"))
    assert "append-only" in refused(app_db, update(audit_log).where(audit_log.c.id == 1)
                                    .values(outcome="denied"))
    assert "append-only" in refused(app_db, delete(audit_log).where(audit_log.c.id == 1))
    assert "append-only" in refused(app_db, delete(audit_log))  # no truncate shortcut either
    if app_db.dialect.name == "postgresql":
        assert "append-only" in refused(app_db, text("TRUNCATE audit_log"))
    assert messages(app_db) == ["erste", "zweite"]
    entry(app_db, 0, "dritte")  # appending still works
    assert messages(app_db)[-1] == "dritte"


def test_guard_survives_a_second_start(config: Config, app_db: Engine) -> None:
    init_app_db(app_db, config.app_db_schema)  # idempotent: e.g. every gunicorn worker
    with app_db.connect() as conn:
        assert guard.is_installed(conn)
    entry(app_db, 0)
    assert "append-only" in refused(app_db, delete(audit_log))


@pytest.mark.pg
def test_separate_portal_account_has_no_update_or_delete_right(tmp_path: Path) -> None:
    """docs/OPERATIONS.md: the portal's own account gets SELECT and INSERT only."""
    config, prefix = make_config(tmp_path, "pg")
    assert prefix is not None
    role = "opal_portal_" + uuid.uuid4().hex[:8]
    schema = config.app_db_schema
    owner = app_engine(config)
    try:
        init_app_db(owner, schema)
        entry(owner, 0, "vom Eigentümer")
        with owner.begin() as conn:
            conn.execute(text(f"CREATE ROLE {role} LOGIN"))
            conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO {role}'))
            conn.execute(text(f'GRANT SELECT, INSERT ON "{schema}".audit_log TO {role}'))
            conn.execute(text(f'GRANT SELECT ON "{schema}".alembic_version TO {role}'))
            conn.execute(text(f'GRANT USAGE ON SEQUENCE "{schema}".audit_log_id_seq TO {role}'))
        portal_url = PG_URL.replace("//postgres@", f"//{role}@")
        portal_cfg, _ = make_config(tmp_path, "pg", app_db_url=portal_url, app_db_schema=schema,
                                    case_db_schema=config.case_db_schema)
        portal = app_engine(portal_cfg)
        try:
            entry(portal, 0, "vom Portal")  # the portal can append
            for statement in (update(audit_log).values(message="x"), delete(audit_log),
                              text("TRUNCATE audit_log"),
                              text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")):
                message = refused(portal, statement)
                assert "permission denied" in message or "must be owner" in message, message
            with pytest.raises(PurgeError, match="owns the app tables"):
                purge(portal_cfg, 1, clock=fixed_clock(FIXED_NOW + timedelta(days=5)))
        finally:
            portal.dispose()
        assert messages(owner) == ["vom Eigentümer", "vom Portal"]
    finally:
        with owner.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
        owner.dispose()
        drop_pg_schemas(prefix)


def seed_throttles_and_sessions(engine: Engine) -> None:
    now = FIXED_NOW.replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(insert(login_failures), [
            {"ts": now - timedelta(days=3), "username": "x", "address": "10.0.0.9"},
            {"ts": now - timedelta(minutes=5), "username": "y", "address": "10.0.0.9"}])
        conn.execute(insert(downloads), [
            {"ts": now - timedelta(hours=2), "username": "fm.arendt", "seq": 1},
            {"ts": now - timedelta(seconds=10), "username": "fm.arendt", "seq": 2}])
        conn.execute(insert(users).values(username="u", active=True, created_at=now,
                                           updated_at=now))
        conn.execute(insert(user_sessions), [
            {"id": "old", "user_id": 1, "created_at": now - timedelta(days=2),
             "last_seen_at": now - timedelta(days=2)},
            {"id": "live", "user_id": 1, "created_at": now - timedelta(minutes=20),
             "last_seen_at": now - timedelta(minutes=1)}])


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in (audit_log, login_failures, downloads, user_sessions)}


def test_purge_removes_old_entries_in_one_transaction_and_records_itself(
        config: Config, app_db: Engine) -> None:
    for days_ago, text_ in ((400, "sehr alt"), (91, "alt"), (89, "jung"), (0, "heute")):
        entry(app_db, days_ago, text_)
    seed_throttles_and_sessions(app_db)
    rendered = config.data_path / "rendered"
    (rendered / "2026").mkdir(parents=True)
    old_file, new_file = rendered / "2026" / "alt.pdf", rendered / "neu.csv"
    old_file.write_text("x")
    new_file.write_text("y")
    old_time = (FIXED_NOW - timedelta(days=100)).timestamp()
    os.utime(old_file, (old_time, old_time))
    os.utime(new_file, (FIXED_NOW.timestamp(), FIXED_NOW.timestamp()))

    dry = purge(config, 90, clock=fixed_clock(FIXED_NOW), dry_run=True)
    assert (dry.audit_rows, dry.files) == (2, 1)
    assert messages(app_db) == ["sehr alt", "alt", "jung", "heute"] and old_file.exists()

    result = purge(config, 90, clock=fixed_clock(FIXED_NOW), operator="betrieb")
    assert result.cutoff == datetime(2026, 8, 26, 6, 12, 3)
    assert (result.audit_rows, result.throttle_rows, result.sessions, result.files) == \
        (2, 2, 1, 1)
    assert "removed 2 audit entries before 2026-08-26 06:12:03 UTC" in result.summary()
    assert messages(app_db)[:2] == ["jung", "heute"]
    assert counts(app_db) == {"audit_log": 3, "login_failures": 1, "downloads": 1,
                              "user_sessions": 1}
    assert not old_file.exists() and new_file.exists()
    with app_db.connect() as conn:
        last = conn.execute(select(audit_log).order_by(audit_log.c.id.desc())).mappings().first()
    assert last is not None
    assert (last["action"], last["outcome"], last["row_count"], last["username"],
            last["client"], last["ts"]) == \
        ("purge", "ok", 2, "betrieb", "cli", FIXED_NOW.replace(tzinfo=None))
    assert "Aufbewahrung 90 Tage: 2 Protokolleinträge vor 2026-08-26 06:12:03 UTC gelöscht" \
        in last["message"]
    # the guard is back for everyone: the purge entry itself cannot be removed
    assert "append-only" in refused(app_db, delete(audit_log).where(audit_log.c.id == last["id"]))


def test_a_failing_purge_removes_nothing_and_keeps_the_guard(
        config: Config, app_db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    entry(app_db, 400, "alt")
    entry(app_db, 0, "neu")

    def broken(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("disk full while recording the purge")

    monkeypatch.setattr("opal.retention.record_in", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        purge(config, 30, clock=fixed_clock(FIXED_NOW))
    assert messages(app_db) == ["alt", "neu"]
    with app_db.connect() as conn:
        assert guard.is_installed(conn)
    assert "append-only" in refused(app_db, delete(audit_log))


def test_purge_validates_the_period(config: Config) -> None:
    for bad in (0, -5, True, 2.5, "30"):
        with pytest.raises(PurgeError, match="whole number of days >= 1"):
            purge(config, bad, clock=fixed_clock(FIXED_NOW))  # type: ignore[arg-type]
    with pytest.raises(PurgeError, match="before the year 1"):
        purge(config, 10**6, clock=fixed_clock(FIXED_NOW))


@pytest.mark.parametrize(("args", "code", "needle"), [
    (["purge"], 2, "Missing option '--older-than'"),
    (["purge", "--older-than", "0"], 2, "0 is not in the range x>=1"),
    (["purge", "--older-than", "-3"], 2, "not in the range x>=1"),
    (["purge", "--older-than", "zwölf"], 2, "'zwölf' is not a valid integer"),
    (["purge", "--older-than", "29"], 2, "below the floor of 30 days; pass --force"),
])
def test_cli_rejects_a_bad_period(sqlite_config: Config, args: list[str], code: int,
                                  needle: str) -> None:
    result = CliRunner().invoke(main, args, env=config_env(sqlite_config))
    assert result.exit_code == code
    assert needle in result.stderr


def test_cli_purge(config: Config, app_db: Engine) -> None:
    # the command runs on the suite's clock (CliState), never the machine's: same result any day
    entry(app_db, 366, "älter als ein Jahr")
    entry(app_db, 365, "genau ein Jahr")  # exactly at the cut-off: not older, stays
    entry(app_db, -1, "morgen")
    runner, env, state = CliRunner(), config_env(config), CliState(fixed_clock(FIXED_NOW))
    dry = runner.invoke(main, ["purge", "--older-than", "365", "--dry-run"], env=env, obj=state)
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.startswith("purge (dry run) would remove 1 audit entries before ")
    assert messages(app_db) == ["älter als ein Jahr", "genau ein Jahr", "morgen"]
    done = runner.invoke(main, ["purge", "--older-than", "365"], env=env, obj=state)
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("purge removed 1 audit entries before 2025-11-24")
    assert messages(app_db)[:2] == ["genau ein Jahr", "morgen"]
    forced = runner.invoke(main, ["purge", "--older-than", "7", "--force"], env=env, obj=state)
    assert forced.exit_code == 0, forced.output
    assert messages(app_db)[:1] == ["morgen"]  # "tomorrow" is never old on the suite's clock
    with app_db.connect() as conn:
        purges = conn.execute(select(audit_log.c.row_count, audit_log.c.ts)
                              .where(audit_log.c.action == "purge")
                              .order_by(audit_log.c.id)).all()
    assert purges == [(1, FIXED_NOW.replace(tzinfo=None)), (1, FIXED_NOW.replace(tzinfo=None))]


def test_purge_on_a_fresh_database_creates_nothing_odd(tmp_path: Path) -> None:
    cfg, _ = make_config(tmp_path, "sqlite")
    result = purge(cfg, 30, clock=fixed_clock(FIXED_NOW))
    assert result.audit_rows == 0
    engine = create_engine(cfg.app_db_url)
    try:
        assert counts(engine)["audit_log"] == 1
    finally:
        engine.dispose()
