"""`opal refresh DIR` and `opal status`: publish a nightly export, show the live generation."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import psycopg
from sqlalchemy.exc import SQLAlchemyError

from opal.cli.common import cli_clock, load_config
from opal.refresh import RefreshError, RefreshRejected, live_generation, refresh
from opal.refresh.runs import RunLog

#: lines of the last failure's message that status shows
STATUS_LINES = 25


@click.command("refresh")
@click.argument("export_dir", type=click.Path(path_type=Path), required=False)
@click.option("--accept-shrink", is_flag=True,
              help="publish even if a table shrinks by more than OPAL_REFRESH_MAX_SHRINK")
@click.option("--rollback", is_flag=True,
              help="make the previous generation live again instead (needs --reason)")
@click.option("--reason", default=None, metavar="TEXT",
              help="why the live generation is rolled back (recorded in the audit log)")
def refresh_command(export_dir: Path | None, accept_shrink: bool, rollback: bool,
                    reason: str | None) -> None:
    """Validate EXPORT_DIR and publish it as the live case generation (exit 1 on any fault);
    with --rollback --reason TEXT, make the previous generation live again."""

    if rollback:
        if export_dir is not None or accept_shrink:
            raise click.UsageError("--rollback takes no EXPORT_DIR and no --accept-shrink")
        if not (reason or "").strip():
            raise click.UsageError("--rollback needs --reason TEXT (recorded in the audit log)")
        _rollback(str(reason))
        return
    if reason is not None:
        raise click.UsageError("--reason goes with --rollback")
    if export_dir is None:
        raise click.UsageError("missing EXPORT_DIR (or --rollback --reason TEXT)")
    config = load_config()
    try:
        result = refresh(config, export_dir, accept_shrink=accept_shrink, clock=cli_clock(),
                         progress=lambda m: click.echo(m, err=True))
    except RefreshRejected as exc:
        click.echo(f"opal refresh: {export_dir} rejected, the live data is unchanged:", err=True)
        click.echo(exc.render(), err=True)
        sys.exit(1)
    except RefreshError as exc:
        click.echo(f"opal refresh: {exc}; the live data is unchanged", err=True)
        sys.exit(1)
    except (OSError, SQLAlchemyError, psycopg.Error) as exc:  # disk or database, not export
        # first line only: a COPY error's CONTEXT line may quote a row (names included)
        first = (str(exc).strip().splitlines() or [""])[0]
        click.echo(f"opal refresh: failed ({type(exc).__name__}: {first}); the live data is "
                   "unchanged", err=True)
        sys.exit(1)
    click.echo(result.summary())
    _deliver(config)


def _deliver(config: Any) -> None:
    """`opal deliver` after a successful publish; its summary goes to stderr (the refresh's
    one line stays the only stdout line), a failed delivery does not undo the refresh."""
    from opal.delivery.deliver import deliver

    try:
        result = deliver(config, clock=cli_clock(), progress=lambda m: click.echo(m, err=True))
    except Exception as exc:  # the publish stands; `opal deliver` can be run again
        click.echo(f"opal refresh: published, but deliver failed ({exc.__class__.__name__}); "
                   "run `opal deliver`", err=True)
        return
    click.echo(result.summary(), err=True)


def _rollback(reason: str) -> None:
    """Run ``opal refresh --rollback``: one summary line, or one line and exit 1."""
    from opal.refresh import RefreshError, rollback

    config = load_config()
    try:
        result = rollback(config, reason, clock=cli_clock())
    except RefreshError as exc:
        click.echo(f"opal refresh --rollback: {exc}; the live data is unchanged", err=True)
        sys.exit(1)
    except (OSError, SQLAlchemyError, psycopg.Error) as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        click.echo(f"opal refresh --rollback: failed ({type(exc).__name__}: {first})", err=True)
        sys.exit(1)
    click.echo(result.summary())


@click.command("status")
def status_command() -> None:
    """Show the live generation (data date, export time, rows) and the last failed run."""

    config = load_config()
    runs = RunLog(config, cli_clock())
    try:
        runs.reap(lock_held=False)
        failed = runs.last("failed")
    finally:
        runs.close()
    live = live_generation(config, counts=True)
    if live is None:
        click.echo("live generation: none yet (run `opal refresh DIR`)")
    else:
        click.echo(f"live generation: as_of {live.as_of.isoformat()}")
        click.echo(f"  exported_at:  {live.exported_at}")
        click.echo(f"  published_at: {live.published_at}")
        if live.source:
            click.echo(f"  source:       {live.source}")
        counts = live.counts or {}
        click.echo(f"  rows:         {sum(counts.values())}")
        for name, n in counts.items():
            click.echo(f"    {name:<22} {n:>9}")
    if failed is None:
        click.echo("last failed run: none")
    else:
        when = failed.finished_at or failed.started_at
        first, _, rest = failed.message.partition("\n")
        click.echo(f"last failed run: {when:%Y-%m-%d %H:%M:%S} UTC (run {failed.id}, "
                   f"{failed.source_dir}): {first}")
        lines = rest.splitlines()
        for line in lines[:STATUS_LINES]:
            click.echo(f"  {line}")
        if len(lines) > STATUS_LINES:
            click.echo(f"  ... and {len(lines) - STATUS_LINES} more lines (see /admin/refresh)")


COMMANDS: list[click.Command] = [refresh_command, status_command]
