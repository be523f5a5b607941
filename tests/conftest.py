"""Fixtures every test shares: a Config per backend (SQLite, PostgreSQL), a fixed clock.

PostgreSQL runs when ``OPAL_TEST_PG_URL`` answers; each test gets its own schemas, dropped after.
Under ``CI=true`` an unreachable PostgreSQL fails the run instead of skipping it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from config import Config

pytest_plugins = [
    "tests.fixtures.exports",
    "tests.fixtures.engine",
    "tests.fixtures.handmade",
    "tests.fixtures.steering",
    "tests.fixtures.web",
    "tests.fixtures.slapd",
]

PG_URL = os.environ.get("OPAL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
#: the moment every exact-output test runs at
FIXED_NOW = datetime(2026, 11, 24, 6, 12, 3, tzinfo=UTC)

_pg_state: dict[str, str | None] = {}


def pg_unavailable_reason() -> str | None:
    """Return why PostgreSQL cannot be used, or None when it answers."""
    if "reason" not in _pg_state:
        try:
            engine = create_engine(PG_URL)
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
            _pg_state["reason"] = None
        except Exception as exc:  # any failure means "not reachable"
            name = exc.__class__.__name__
            _pg_state["reason"] = f"PostgreSQL at {PG_URL} does not answer: {name}"
    return _pg_state["reason"]


def require_pg() -> None:
    reason = pg_unavailable_reason()
    if reason:
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: the PostgreSQL leg must not be skipped)")
        pytest.skip(reason)


def drop_pg_schemas(prefix: str) -> None:
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        names = conn.execute(
            text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"), {"p": prefix + "%"}
        ).scalars().all()
        for name in names:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    engine.dispose()


def make_config(tmp_path: Path, backend: str, **overrides: object) -> tuple[Config, str | None]:
    """Return a Config on ``backend`` and, for PostgreSQL, the schema prefix to drop after."""
    base = {"secret_key": "test-secret-" + uuid.uuid4().hex, "data_dir": str(tmp_path / "var"),
            "session_cookie_secure": False, "allowed_hosts": "localhost"}
    prefix = None
    if backend == "pg":
        require_pg()
        prefix = "t" + uuid.uuid4().hex[:10]
        base.update(case_db_url=PG_URL, app_db_url=PG_URL, case_db_schema=f"{prefix}_case",
                    app_db_schema=f"{prefix}_app")
    base.update(overrides)
    return Config.from_env({}, **base), prefix


def upgrade_app_db(config: Config) -> None:
    """`opal db upgrade` on ``config``'s app database (the portal refuses an empty one)."""
    from opal.appdb import migrate
    from opal.db import app_engine

    engine = app_engine(config)
    try:
        migrate.upgrade(engine, config.app_db_schema)
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "pg"])
def backend(request: pytest.FixtureRequest) -> str:
    """Run a test on SQLite and on PostgreSQL."""
    if request.param == "pg":
        require_pg()
    return str(request.param)


@pytest.fixture
def config(tmp_path: Path, backend: str) -> Iterator[Config]:
    """A fresh Config on ``backend`` with its own files or schemas."""
    cfg, prefix = make_config(tmp_path, backend)
    (tmp_path / "var").mkdir(exist_ok=True)
    yield cfg
    if prefix:
        drop_pg_schemas(prefix)


@pytest.fixture
def sqlite_config(tmp_path: Path) -> Config:
    cfg, _ = make_config(tmp_path, "sqlite")
    (tmp_path / "var").mkdir(exist_ok=True)
    return cfg


@pytest.fixture
def now() -> datetime:
    return FIXED_NOW
