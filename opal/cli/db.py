"""`opal db upgrade`: the app database to this release's schema, keeping every row."""

from __future__ import annotations

import sys

import click

from opal.appdb import migrate
from opal.cli.common import load_config
from opal.db import app_engine


@click.group("db")
def db_group() -> None:
    """The app database (users, audit, subscriptions, inbox)."""


@db_group.command("upgrade")
def upgrade_command() -> None:
    """Create or upgrade the app database in place (versioned migrations); one summary line."""

    config = load_config()
    engine = app_engine(config)
    try:
        result = migrate.upgrade(engine, config.app_db_schema)
    except Exception as exc:  # unreachable database, a failed step (rolled back) ...
        click.echo(f"opal db upgrade: failed, nothing changed: {exc.__class__.__name__}: "
                   f"{str(exc).splitlines()[0][:300]}", err=True)
        sys.exit(1)
    finally:
        engine.dispose()
    click.echo(migrate.describe(result))


COMMANDS: list[click.Command] = [db_group]
