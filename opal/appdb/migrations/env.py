"""Alembic environment: runs on the connection ``opal.appdb.migrate`` opened (and locked).

The caller holds one transaction for the whole upgrade: it either reaches head or leaves the
database exactly as it was. The schema (PostgreSQL) is pinned by the connection's search_path;
the version table lives in it too.
"""

from __future__ import annotations

from alembic import context

_config = context.config
_connection = _config.attributes["connection"]
_schema = _config.attributes.get("schema")

context.configure(
    connection=_connection,
    version_table_schema=_schema if _connection.dialect.name == "postgresql" else None,
    transactional_ddl=True,
    render_as_batch=True,  # SQLite: ALTER via table copy
)
with context.begin_transaction():
    context.run_migrations()
