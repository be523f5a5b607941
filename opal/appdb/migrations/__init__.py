"""Alembic scripts of the app database (``opal db upgrade``); driven by ``opal.appdb.migrate``."""
