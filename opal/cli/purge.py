"""`opal purge --older-than DAYS`: retention of the audit log and of stored outputs."""

from __future__ import annotations

import sys

import click

from opal.cli.common import cli_clock, load_config
from opal.retention import MIN_DAYS, PurgeError, purge


@click.command("purge")
@click.option("--older-than", "days", type=click.IntRange(min=1), required=True, metavar="DAYS",
              help="remove audit entries (and stored outputs) older than DAYS days")
@click.option("--force", is_flag=True,
              help="allow a period below the floor of 30 days (the logging policy decides)")
@click.option("--dry-run", is_flag=True, help="count what would go, remove nothing")
def purge_command(days: int, force: bool, dry_run: bool) -> None:
    """Remove audit entries older than DAYS days and record the purge in the audit log.

    Run it as the operator, with the database account that owns the app tables: the portal's
    own account cannot change or delete audit entries (docs/OPERATIONS.md).
    """

    if days < MIN_DAYS and not force:
        click.echo(f"opal purge: --older-than {days} is below the floor of {MIN_DAYS} days; "
                   "pass --force if the logging policy really asks for it", err=True)
        sys.exit(2)
    config = load_config()
    try:
        result = purge(config, days, clock=cli_clock(), dry_run=dry_run)
    except PurgeError as exc:
        click.echo(f"opal purge: {exc}", err=True)
        sys.exit(1)
    click.echo(result.summary())


COMMANDS: list[click.Command] = [purge_command]
