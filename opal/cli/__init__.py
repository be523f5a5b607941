"""The ``opal`` command line: one click group, one module per topic."""

from __future__ import annotations

import sys

import click

from config import Config, ConfigError


def load_config() -> Config:
    """Read the configuration or exit with its one-line message."""
    try:
        return Config.from_env()
    except ConfigError as exc:
        click.echo(f"opal: configuration error: {exc}", err=True)
        sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """OPAL: reports and lists over the nightly case-data export of a Jobcenter."""


def _register() -> None:
    from opal.cli import demo, purge, refresh, reports, serve, users

    for module in (demo, refresh, reports, users, serve, purge):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
