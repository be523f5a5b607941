"""Versioned migrations of the app database (Alembic): ``opal db upgrade`` and the start-up check.

One transaction per upgrade, serialised across processes and hosts: SQLite starts it with
``BEGIN IMMEDIATE`` (DDL is transactional there once the driver stops managing transactions),
PostgreSQL takes a transaction-scoped advisory lock. A failed step leaves the database as it was.

A database made before migrations existed (tables, no ``alembic_version``) is the schema of
revision 0001 and is stamped so, then upgraded like any other.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

SCRIPTS = Path(__file__).resolve().parent / "migrations"
BASE_REVISION = "0001"  #: the schema every database made before migrations has
UPGRADE_HINT = "run `opal db upgrade`"


class SchemaOutdated(RuntimeError):
    """The app database is not at this release's schema; the message is one line."""


@dataclass(frozen=True)
class Upgrade:
    """What ``upgrade`` did: the revision before (None: empty database) and after."""

    before: str | None
    after: str
    stamped_legacy: bool = False


def _alembic_config(conn: Connection | None = None, schema: str | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(SCRIPTS))
    if conn is not None:
        cfg.attributes["connection"] = conn
        cfg.attributes["schema"] = schema
    return cfg


@functools.cache
def head() -> str:
    """This release's schema revision."""
    found = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert found is not None, "no migration scripts"
    return found


def _pg_schema(conn: Connection, schema: str) -> str | None:
    return schema if conn.dialect.name == "postgresql" else None


def _state(conn: Connection, schema: str) -> tuple[str | None, bool]:
    """(revision, has_tables): revision None with tables means made before migrations."""
    pg_schema = _pg_schema(conn, schema)
    ctx = MigrationContext.configure(conn, opts={"version_table_schema": pg_schema})
    revision = ctx.get_current_revision()
    if revision is not None:
        return revision, True
    names = set(inspect(conn).get_table_names(schema=pg_schema))
    return None, "users" in names


def current(engine: Engine, schema: str) -> str | None:
    """The database's revision; ``BASE_REVISION`` for one made before migrations, None empty."""
    with engine.connect() as conn:
        revision, has_tables = _state(conn, schema)
    if revision is None and has_tables:
        return BASE_REVISION
    return revision


def check(engine: Engine, schema: str) -> None:
    """Raise ``SchemaOutdated`` unless the database is exactly at ``head()`` (``opal serve``)."""
    with engine.connect() as conn:
        problem = _problem(*_state(conn, schema))
    if problem:
        raise SchemaOutdated(problem)


def _problem(revision: str | None, has_tables: bool) -> str | None:
    """Why a database at ``revision`` cannot be used by this release (one line), or None."""
    if revision == head():
        return None
    if revision is None and not has_tables:
        return f"the app database has no tables yet: {UPGRADE_HINT}"
    if revision is None:
        return f"the app database was made before versioned migrations: {UPGRADE_HINT}"
    if revision not in _known():
        return (f"the app database is at schema {revision}, newer than this OPAL ({head()}): "
                "install the matching release")
    return f"the app database is at schema {revision}, this OPAL needs {head()}: {UPGRADE_HINT}"


@functools.cache
def _known() -> frozenset[str]:
    script = ScriptDirectory.from_config(_alembic_config())
    return frozenset(s.revision for s in script.walk_revisions())


def ensure(engine: Engine, schema: str) -> None:
    """Create an empty database at head; pass one at head; refuse any other (``check``).

    For commands other than ``opal db upgrade``: making the tables of a new database puts no
    row at risk, changing an existing one is the operator's explicit step.
    """
    with engine.connect() as conn:
        revision, has_tables = _state(conn, schema)
    if revision is None and not has_tables:
        upgrade(engine, schema)
        return
    problem = _problem(revision, has_tables)
    if problem:
        raise SchemaOutdated(problem)


def upgrade(engine: Engine, schema: str, target: str = "head") -> Upgrade:
    """Bring the app database to ``head()`` (tests: ``target``) in one serialised transaction,
    keeping every row."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                         {"k": f"opal migrate {schema}"})
            found = conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"),
                                 {"s": schema}).first()
            if found is None:  # an account without CREATE on the database can still upgrade
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            return _upgrade_in(conn, schema, target)
    locked = _sqlite_immediate_engine(engine)
    try:
        with locked.begin() as conn:
            return _upgrade_in(conn, schema, target)
    finally:
        locked.dispose()


def _upgrade_in(conn: Connection, schema: str, target: str) -> Upgrade:
    revision, has_tables = _state(conn, schema)
    cfg = _alembic_config(conn, _pg_schema(conn, schema))
    stamped = False
    if revision is None and has_tables:
        command.stamp(cfg, BASE_REVISION)
        revision, stamped = BASE_REVISION, True
    goal = head() if target == "head" else target
    if revision != goal:
        command.upgrade(cfg, goal)
    return Upgrade(revision, goal, stamped)


def _sqlite_immediate_engine(engine: Engine) -> Engine:
    """A one-off engine on the same SQLite file whose transactions begin ``IMMEDIATE``."""
    from opal.db import sqlite_immediate_engine

    return sqlite_immediate_engine(str(engine.url))


def describe(result: Upgrade) -> str:
    """The one summary line of ``opal db upgrade``."""
    if result.stamped_legacy:
        return f"app database made before versioned migrations upgraded to schema {result.after}"
    if result.before == result.after:
        return f"app database already at schema {result.after}"
    if result.before is None:
        return f"app database created at schema {result.after}"
    return f"app database upgraded from schema {result.before} to {result.after}"
