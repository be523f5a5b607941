"""`opal users add|disable`: accounts, roles and linkage from the command line."""

from __future__ import annotations

import sys

import click
from sqlalchemy import Engine

from opal.cli.common import cli_clock, load_config
from opal.db import app_engine, init_app_db
from opal.roles import ROLE_NAMES
from opal.users import UserError, disable_user, generate_password, get_user, upsert_user


@click.group("users")
def users_group() -> None:
    """Manage portal users."""


@users_group.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLE_NAMES))
@click.option("--staff-id", default=None, help="case_manager: the linked staff id")
@click.option("--team-id", default=None, help="team_lead: the linked team id")
@click.option("--office-id", default=None, help="office_lead: the linked office id")
@click.option("--password-stdin", is_flag=True, help="read the password from stdin")
@click.option("--email", default=None,
              help="address for delivery notices (no data in them); '' removes it")
def add_command(name: str, role: str, staff_id: str | None, team_id: str | None,
                office_id: str | None, password_stdin: bool, email: str | None) -> None:
    """Create or update user NAME; a new user without --password-stdin gets a printed one."""

    config = load_config()
    engine = app_engine(config)
    try:
        init_app_db(engine, config.app_db_schema)
        _add(engine, name, role, staff_id, team_id, password_stdin, email, office_id)
    finally:
        engine.dispose()


def _add(engine: Engine, name: str, role: str, staff_id: str | None, team_id: str | None,
         password_stdin: bool, email: str | None = None, office_id: str | None = None) -> None:
    """Create or update; print a generated password once."""

    password: str | None = None
    generated = False
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif get_user(engine, name) is None:
        password = generate_password()
        generated = True
    try:
        created = upsert_user(engine, name, role, staff_id=staff_id, team_id=team_id,
                              office_id=office_id, password=password, clock=cli_clock(),
                              email=email)
    except UserError as exc:
        click.echo(f"opal users add: {exc}", err=True)
        sys.exit(2)
    click.echo(f"{'angelegt' if created else 'aktualisiert'}: {name} ({role})")
    if generated:
        click.echo(f"Passwort (wird nur jetzt angezeigt): {password}")


@users_group.command("disable")
@click.argument("name")
def disable_command(name: str) -> None:
    """Disable user NAME; their sessions end at once."""

    config = load_config()
    engine = app_engine(config)
    try:
        init_app_db(engine, config.app_db_schema)
        found = disable_user(engine, name, clock=cli_clock())
    finally:
        engine.dispose()
    if not found:
        click.echo(f"opal users disable: den Benutzer {name[:64]!r} gibt es nicht", err=True)
        sys.exit(2)
    click.echo(f"deaktiviert: {name}")


COMMANDS: list[click.Command] = [users_group]
