"""`opal deliver [--dry-run]`: every due delivery into the recipients' inboxes, exactly once."""

from __future__ import annotations

import logging
import sys

import click

from opal.cli import cli_clock, load_config


@click.command("deliver")
@click.option("--dry-run", is_flag=True, help="list what is due, make nothing")
def deliver_command(dry_run: bool) -> None:
    """Make every due delivery (subscriptions) under each recipient's own access and scope.

    Safe from cron or a systemd timer at any frequency and from several hosts at once. Exit 0
    with one summary line; 1 when a delivery failed (the others are still made).
    """
    from opal.delivery.deliver import deliver

    logging.basicConfig(level=logging.WARNING, format="opal deliver: %(message)s")
    config = load_config()
    result = deliver(config, clock=cli_clock(), dry_run=dry_run,
                     progress=lambda m: click.echo(m, err=True))
    for line in result.planned:
        click.echo(f"  {line}", err=True)
    click.echo(result.summary())
    if result.failed:
        sys.exit(1)


COMMANDS: list[click.Command] = [deliver_command]
