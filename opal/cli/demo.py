"""`opal` commands: demo (not yet implemented)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
