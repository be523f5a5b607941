"""The ``opal`` command line: one click group, one module per topic."""

from __future__ import annotations

import sys

import click

from opal.appdb.migrate import SchemaOutdated
from opal.cli import db, deliver, demo, purge, refresh, reports, serve, users
from opal.cli.common import CliState, cli_clock, load_config

__all__ = ["CliState", "cli_clock", "load_config", "main"]


class _Group(click.Group):
    """Every command: an app database at another schema is one line and exit 2, no traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SchemaOutdated as exc:
            click.echo(f"opal: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """OPAL: reports and lists over the nightly case-data export of a Jobcenter."""
    if not isinstance(ctx.obj, CliState):
        ctx.obj = CliState()


def _register() -> None:
    for module in (demo, refresh, reports, users, serve, purge, db, deliver):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
