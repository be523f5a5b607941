"""`opal deliver [--dry-run]`: every due delivery into the recipients' inboxes, exactly once."""

from __future__ import annotations

import logging
import sys

import click

from opal.cli.common import cli_clock, load_config


@click.command("deliver")
@click.option("--dry-run", is_flag=True, help="list what is due, make nothing")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1, 32),
              help="worker processes (rendering is CPU-bound: up to one per core)")
def deliver_command(dry_run: bool, jobs: int) -> None:
    """Make every due delivery (subscriptions) under each recipient's own access and scope.

    Safe from cron or a systemd timer at any frequency and from several hosts at once. Exit 0
    with one summary line; 1 when a delivery failed (the others are still made).
    """
    from opal.delivery.deliver import deliver

    logging.basicConfig(level=logging.WARNING, format="opal deliver: %(message)s")
    config = load_config()
    result = deliver(config, clock=cli_clock(), dry_run=dry_run, jobs=jobs,
                     progress=lambda m: click.echo(m, err=True))
    for line in result.planned:
        click.echo(f"  {line}", err=True)
    click.echo(result.summary())
    if result.failed:
        sys.exit(1)


COMMANDS: list[click.Command] = [deliver_command]
