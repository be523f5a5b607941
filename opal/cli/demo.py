"""`opal demo-export`: write a synthetic nightly export for demos, tests and benchmarks."""

from __future__ import annotations

import time
from datetime import UTC, date, timedelta
from pathlib import Path

import click

from opal.cli.common import cli_clock
from opal.clock import Clock
from opal.demo import SCALES, generate

KEY_TABLES = ("office", "team", "staff", "benefit_unit", "person", "benefit_spell", "contact",
              "measure_participation", "employment_spell")


def default_as_of(now: Clock) -> date:
    """Yesterday in UTC: the nightly export holds the facts of the day that just ended."""
    return now().astimezone(UTC).date() - timedelta(days=1)


def _parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date YYYY-MM-DD") from None


@click.command("demo-export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--scale", type=click.Choice(SCALES), default="kreis", show_default=True,
              help="small: one office; kreis: the 17 offices of Kreis Borken; nrw: 60 x kreis")
@click.option("--seed", type=int, default=1, show_default=True, help="random seed")
@click.option("--as-of", "as_of", callback=_parse_date, metavar="YYYY-MM-DD",
              help="data date of the export (default: yesterday, UTC)")
@click.option("--hostile-names", is_flag=True,
              help="also plant names that test the renderers (=, +, -, @, tab, <, &, \"); "
                   "for tests, never for a demo audience")
def demo_export(directory: Path, scale: str, seed: int, as_of: date | None,
                hostile_names: bool) -> None:
    """Write a synthetic but realistic nightly export into DIRECTORY."""
    day = as_of if as_of is not None else default_as_of(cli_clock())
    started = time.perf_counter()
    try:
        manifest = generate(directory, scale, seed, day,
                            progress=lambda line: click.echo(line, err=True),
                            hostile_names=hostile_names)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from None
    seconds = time.perf_counter() - started
    counts = ", ".join(f"{t} {manifest['tables'][t]['rows']}" for t in KEY_TABLES)
    click.echo(f"demo-export: scale {scale}, seed {seed}, as_of {day.isoformat()}: {counts}; "
               f"{seconds:.1f} s")


COMMANDS: list[click.Command] = [demo_export]
