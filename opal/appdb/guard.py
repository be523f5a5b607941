"""The audit log is append-only in the database itself, not only by convention in the code.

SQLite: two triggers (``BEFORE UPDATE`` / ``BEFORE DELETE``) abort the statement. The truncate
optimisation of ``DELETE FROM audit_log`` is off while a delete trigger exists.

PostgreSQL: one trigger function raising ``insufficient_privilege`` on ``UPDATE``/``DELETE`` (row
trigger) and ``TRUNCATE`` (statement trigger). It binds every role, the owner included. Only
the table owner can ``ALTER TABLE ... DISABLE TRIGGER``: that is what ``opal purge`` does inside
its own transaction. Where the portal runs under a separate account, the operator also revokes
``UPDATE, DELETE, TRUNCATE`` from it (docs/OPERATIONS.md), so the portal cannot lift the guard.

``install_in(conn)`` (migration 0001) is idempotent and safe when several processes start at once.
``lifted(conn)`` removes the guard for the rest of one transaction (purge only).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

#: the message both databases give for a refused change
REFUSED = "audit_log is append-only: UPDATE and DELETE are refused (only opal purge removes rows)"
SQLITE_TRIGGERS = {
    "audit_log_no_update": "UPDATE",
    "audit_log_no_delete": "DELETE",
}
PG_FUNCTION = "opal_audit_log_append_only"
PG_ROW_TRIGGER = "audit_log_append_only"
PG_TRUNCATE_TRIGGER = "audit_log_no_truncate"


def _sqlite_ddl(name: str, event: str) -> str:
    return (f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {event} ON audit_log "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END")


def install_in(conn: Connection) -> None:
    """Create the guard inside the caller's transaction (migration 0001) unless it is there.

    PostgreSQL: in the connection's current schema (the pinned search_path).
    """
    if conn.dialect.name == "sqlite":
        for name, event in SQLITE_TRIGGERS.items():
            conn.exec_driver_sql(_sqlite_ddl(name, event))
        return
    schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    # several processes may start together: one installs, the others then see it
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                 {"k": f"opal audit guard {schema}"})
    present = set(conn.execute(text(
        "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :s AND c.relname = 'audit_log'"), {"s": schema}).scalars())
    if {PG_ROW_TRIGGER, PG_TRUNCATE_TRIGGER} <= present:
        return
    conn.execute(text(
        f'CREATE OR REPLACE FUNCTION "{schema}".{PG_FUNCTION}() RETURNS trigger '
        "LANGUAGE plpgsql AS $$ BEGIN "
        f"RAISE EXCEPTION '{REFUSED}' USING ERRCODE = 'insufficient_privilege'; "
        "END $$"))
    if PG_ROW_TRIGGER not in present:
        conn.execute(text(
            f'CREATE TRIGGER {PG_ROW_TRIGGER} BEFORE UPDATE OR DELETE ON "{schema}".audit_log '
            f'FOR EACH ROW EXECUTE FUNCTION "{schema}".{PG_FUNCTION}()'))
    if PG_TRUNCATE_TRIGGER not in present:
        conn.execute(text(
            f'CREATE TRIGGER {PG_TRUNCATE_TRIGGER} BEFORE TRUNCATE ON "{schema}".audit_log '
            f'FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".{PG_FUNCTION}()'))


@contextmanager
def lifted(conn: Connection) -> Iterator[None]:
    """Lift the guard inside the caller's open transaction and restore it before it commits.

    SQLite: drop and recreate the delete trigger (DDL is transactional there). PostgreSQL:
    ``DISABLE``/``ENABLE TRIGGER``, which needs the table owner and locks the table until commit.
    If the body fails, the caller rolls back and the guard was never gone for anyone else.
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_delete")
        yield
        conn.exec_driver_sql(_sqlite_ddl("audit_log_no_delete", "DELETE"))
        return
    conn.execute(text(f"ALTER TABLE audit_log DISABLE TRIGGER {PG_ROW_TRIGGER}"))
    yield
    conn.execute(text(f"ALTER TABLE audit_log ENABLE TRIGGER {PG_ROW_TRIGGER}"))


def is_installed(conn: Connection) -> bool:
    """Tell whether the guard is in place (``opal purge`` re-checks after its transaction)."""
    if conn.dialect.name == "sqlite":
        names = set(conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"
        ).scalars())
        return set(SQLITE_TRIGGERS) <= names
    enabled = conn.execute(text(
        "SELECT t.tgenabled FROM pg_trigger t WHERE t.tgrelid = to_regclass('audit_log') "
        "AND t.tgname = :n"), {"n": PG_ROW_TRIGGER}).scalar()
    return enabled == "O"
