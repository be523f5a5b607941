"""What every command shares: its clock and the configuration (imported by each command
module; ``opal.cli`` imports the modules, never the other way round)."""

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
