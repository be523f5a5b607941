"""The ``opal`` command line: one click group, one module per topic."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import click

from config import Config, ConfigError
from opal.clock import Clock, system_clock


@dataclass(frozen=True)
class CliState:
    """What every command shares: the one clock it stamps and judges ages by.

    The real command line runs on the system clock; tests invoke ``main`` with
    ``obj=CliState(fixed_clock(...))`` so that a command never mixes a test's fixed moment with
    the machine's date.
    """

    clock: Clock = system_clock


def cli_clock() -> Clock:
    """Return the clock of the running command (the system clock outside of tests)."""
    ctx = click.get_current_context(silent=True)
    state = ctx.find_object(CliState) if ctx is not None else None
    return state.clock if state is not None else system_clock


def load_config() -> Config:
    """Read the configuration or exit with its one-line message."""
    try:
        return Config.from_env()
    except ConfigError as exc:
        click.echo(f"opal: configuration error: {exc}", err=True)
        sys.exit(2)


class _Group(click.Group):
    """Every command: an app database at another schema is one line and exit 2, no traceback."""

    def invoke(self, ctx: click.Context) -> object:
        from opal.appdb.migrate import SchemaOutdated

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
    from opal.cli import db, deliver, demo, purge, refresh, reports, serve, users

    for module in (demo, refresh, reports, users, serve, purge, db, deliver):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
