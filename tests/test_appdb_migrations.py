"""The app database under versioned migrations: `opal db upgrade` keeps every row.

tests/data/appdb_v0 holds an app database made by the schema before migrations (SQLite file and a
``pg_dump`` of the PostgreSQL schema, rows in every table). Upgrading it must find every row, the
first revision must reproduce that schema exactly, and the portal must refuse any database that
is not at this release's schema with one line naming the command.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, delete, text
from sqlalchemy.exc import DBAPIError

from config import Config
from opal.appdb import migrate
from opal.appdb.schema import audit_log
from opal.cli import main
from opal.db import app_engine, make_engine, sqlite_path
from opal.users import verify_login
from opal.web.app import build_app
from tests.conftest import PG_URL
from tests.fixtures.exports import config_env

OLD = Path(__file__).resolve().parent / "data" / "appdb_v0"
OLD_TABLES = ("users", "user_sessions", "audit_log", "refresh_runs", "login_failures",
              "downloads")
OLD_COUNTS = {"users": 5, "user_sessions": 1, "audit_log": 4, "refresh_runs": 2,
              "login_failures": 1, "downloads": 1}


def load_old_app_db(config: Config) -> None:
    """Put the pre-migration app database (with its rows) where ``config`` looks for it."""
    if config.app_db_url.startswith("sqlite"):
        target = sqlite_path(config.app_db_url)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(OLD / "app.db", target)
        return
    script = (OLD / "app.pg.sql").read_text().replace("opal_app_v0", config.app_db_schema)
    engine = create_engine(PG_URL)
    raw = engine.raw_connection()
    try:
        raw.cursor().execute(script)
        raw.commit()
    finally:
        raw.close()
        engine.dispose()


def snapshot(engine: Engine, columns: dict[str, list[str]] | None = None
             ) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the old tables (only the old columns, ``columns``; default: all)."""
    with engine.connect() as conn:
        out = {}
        for t in OLD_TABLES:
            cols = ", ".join(columns[t]) if columns else "*"
            out[t] = [tuple(r) for r in conn.execute(text(f"SELECT {cols} FROM {t} ORDER BY id"))]
        return out


def column_names(engine: Engine) -> dict[str, list[str]]:
    with engine.connect() as conn:
        return {t: list(conn.execute(text(f"SELECT * FROM {t} WHERE 1 = 0")).keys())
                for t in OLD_TABLES}


def structure(engine: Engine, schema: str) -> dict[str, Any]:
    """Tables, columns, indexes and triggers of the app database (not the version table)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return {(r[0], r[1]): r[2] for r in conn.exec_driver_sql(
                "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE '%alembic%'")}
        columns = conn.execute(text(
            "SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, "
            "column_default FROM information_schema.columns WHERE table_schema = :s "
            "AND table_name <> 'alembic_version' ORDER BY 1, ordinal_position"), {"s": schema})
        indexes = conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :s "
            "AND tablename <> 'alembic_version' ORDER BY 1"), {"s": schema})
        triggers = conn.execute(text(
            "SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :s AND NOT t.tgisinternal ORDER BY 1"), {"s": schema})
        return {"columns": [tuple(r) for r in columns],
                "indexes": [(n, d.replace(f"{schema}.", "S.")) for n, d in indexes],
                "triggers": [(n, d.replace(f"{schema}.", "S.")) for n, d in triggers]}


def test_first_revision_reproduces_the_schema_before_migrations(tmp_path: Path,
                                                                 config: Config) -> None:
    new = app_engine(config)
    migrate.upgrade(new, config.app_db_schema, target=migrate.BASE_REVISION)
    old_cfg = Config.from_env({}, **{**config.__dict__, "app_db_url": (
        f"sqlite:///{tmp_path}/old.db" if config.app_db_url.startswith("sqlite")
        else config.app_db_url), "app_db_schema": config.app_db_schema + "_old"})
    load_old_app_db(old_cfg)
    old = app_engine(old_cfg)
    try:
        assert structure(new, config.app_db_schema) == structure(old, old_cfg.app_db_schema)
    finally:
        new.dispose()
        old.dispose()


def test_upgrade_finds_every_row_and_keeps_the_guard(config: Config) -> None:
    load_old_app_db(config)
    engine = app_engine(config)
    try:
        before, old_columns = snapshot(engine), column_names(engine)
        assert {t: len(rows) for t, rows in before.items()} == OLD_COUNTS
        assert migrate.current(engine, config.app_db_schema) == migrate.BASE_REVISION
        result = CliRunner().invoke(main, ["db", "upgrade"], env=config_env(config))
        assert result.exit_code == 0, result.output
        assert result.output == ("app database made before versioned migrations upgraded to "
                                 f"schema {migrate.head()}\n")
        assert snapshot(engine, old_columns) == before
        assert migrate.current(engine, config.app_db_schema) == migrate.head()
        migrate.check(engine, config.app_db_schema)
        assert verify_login(engine, "cm1", "altes-passwort-1") is not None
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(delete(audit_log))
        again = CliRunner().invoke(main, ["db", "upgrade"], env=config_env(config))
        assert again.output == f"app database already at schema {migrate.head()}\n"
        assert snapshot(engine, old_columns) == before
        build_app(config).extensions["opal"].app_db.dispose()  # the portal starts now
    finally:
        engine.dispose()


def test_portal_and_commands_refuse_an_outdated_app_database(config: Config) -> None:
    load_old_app_db(config)
    env = config_env(config)
    with pytest.raises(migrate.SchemaOutdated, match=r"^the app database was made before "
                       r"versioned migrations: run `opal db upgrade`$"):
        build_app(config)
    serve = CliRunner().invoke(main, ["serve", "--port", "5999"], env=env)
    assert serve.exit_code == 2
    assert serve.output == ("opal: cannot start the portal: the app database was made before "
                            "versioned migrations: run `opal db upgrade`\n")
    users = CliRunner().invoke(main, ["users", "disable", "cm1"], env=env)
    assert users.exit_code == 2
    assert users.output.endswith("run `opal db upgrade`\n") and "Traceback" not in users.output
    engine = app_engine(config)
    try:
        assert migrate.current(engine, config.app_db_schema) == migrate.BASE_REVISION
    finally:
        engine.dispose()


def test_portal_refuses_an_empty_or_newer_app_database(config: Config) -> None:
    with pytest.raises(migrate.SchemaOutdated, match="no tables yet: run `opal db upgrade`$"):
        build_app(config)
    engine = app_engine(config)
    try:
        migrate.upgrade(engine, config.app_db_schema)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(migrate.SchemaOutdated, match="at schema 9999, newer than this OPAL"):
            build_app(config)
    finally:
        engine.dispose()


def test_two_upgrades_at_once_make_one_database(config: Config) -> None:
    """Two hosts (or a timer and an operator) upgrading together: both succeed, one schema."""
    code = "from opal.cli import main; main(['db', 'upgrade'])"
    env = {**config_env(config), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert sorted(o[0] for o in outs) == [
        f"app database already at schema {migrate.head()}\n",
        f"app database created at schema {migrate.head()}\n"]
    engine = make_engine(config.app_db_url, config.app_db_schema)
    try:
        assert migrate.current(engine, config.app_db_schema) == migrate.head()
    finally:
        engine.dispose()


def test_head_matches_the_tables_the_code_uses(config: Config) -> None:
    """opal/appdb/schema.py (what the code queries) and the migrations never drift apart."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from opal.appdb.schema import metadata

    engine = app_engine(config)
    try:
        migrate.upgrade(engine, config.app_db_schema)
        with engine.connect() as conn:
            schema = config.app_db_schema if engine.dialect.name == "postgresql" else None
            ctx = MigrationContext.configure(conn, opts={
                "compare_type": True, "version_table_schema": schema,
                "include_name": lambda name, kind, _p: (kind, name) != ("table",
                                                                       "alembic_version")})
            assert compare_metadata(ctx, metadata) == []
    finally:
        engine.dispose()


def test_upgrade_numbers_each_users_downloads_in_the_order_made(config: Config) -> None:
    """0007: the counter rows there are get ``seq`` 1, 2, 3 … per user by id (the order made),
    so the limit's lookup finds the download ``limit`` places back right after an upgrade."""
    engine = app_engine(config)
    try:
        migrate.upgrade(engine, config.app_db_schema, target="0006")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO downloads (ts, username) VALUES (:ts, :u)"),
                         [{"ts": f"2026-11-24 08:00:0{i}", "u": u}
                          for i, u in enumerate("abaab")])
        migrate.upgrade(engine, config.app_db_schema)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT username, seq FROM downloads ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [("a", 1), ("b", 1), ("a", 2), ("a", 3), ("b", 2)]
    finally:
        engine.dispose()
