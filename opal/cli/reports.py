"""`opal run` and `opal check`: reports from the command line, through the same engine."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from opal.access import Actor
from opal.catalogue import CatalogueError, check_catalogue, load_catalogue
from opal.cli.common import cli_clock, load_config
from opal.context import Context
from opal.errors import AccessDenied, OpalError, ParameterError, ReportNotFound
from opal.pipeline import RunRequest, closing_chunks, run_bundle, run_file
from opal.renderers import FORMAT_NAMES, Rendered
from opal.users import get_user

EXIT_BAD = 2
EXIT_DENIED = 3
EXIT_FAILED = 1


def _parse_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    args: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            click.echo(f"opal run: -p erwartet key=value, nicht {pair[:60]!r}", err=True)
            sys.exit(EXIT_BAD)
        if key in args:
            click.echo(f"opal run: Parameter {key[:40]!r} doppelt angegeben", err=True)
            sys.exit(EXIT_BAD)
        args[key] = value
    return args


@click.command("run")
@click.argument("code")
@click.option("--user", "username", required=True, help="run as this user (role and scope)")
@click.option("-p", "--param", "pairs", multiple=True, metavar="KEY=VALUE",
              help="a report parameter; repeat for several")
@click.option("--format", "fmt", default="json", show_default=True,
              type=click.Choice(FORMAT_NAMES))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="write to FILE instead of stdout")
def run_command(code: str, username: str, pairs: tuple[str, ...], fmt: str,
                output: Path | None) -> None:
    """Run report CODE, or the bundle CODE (e.g. monatsbericht: PDF only), as a user: same
    access check, scope, validation and audit as the web."""
    args = _parse_pairs(pairs)
    config = load_config()
    try:
        ctx = Context.build(config, clock=cli_clock())
    except CatalogueError as exc:
        click.echo("opal run: der Berichtskatalog ist fehlerhaft (opal check)", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(EXIT_FAILED)
    try:
        _run_and_write(ctx, code, username, args, fmt, output)
    finally:
        ctx.dispose()


def _run_and_write(ctx: Context, code: str, username: str, args: dict[str, str],
                   fmt: str, output: Path | None) -> None:
    """Run, render and write; exit with the contract's code on any refusal."""
    user = get_user(ctx.app_db, username)
    actor = user.actor() if user else Actor(username[:64], None)

    runner = run_bundle if code in ctx.catalogue.bundles else run_file
    try:
        rendered = runner(ctx, RunRequest(code, actor, args, fmt, client="cli"))
    except ReportNotFound:
        click.echo(f"opal run: den Bericht {code[:20]!r} gibt es nicht", err=True)
        sys.exit(EXIT_BAD)
    except AccessDenied as exc:
        click.echo(f"opal run: verweigert: {exc.message}", err=True)
        sys.exit(EXIT_DENIED)
    except ParameterError as exc:
        click.echo(f"opal run: {exc.message}", err=True)
        for name, message in exc.errors.items():
            click.echo(f"  {name}: {message}", err=True)
        sys.exit(EXIT_BAD)
    except OpalError as exc:
        click.echo(f"opal run: {exc.message}", err=True)
        sys.exit(EXIT_BAD if exc.status < 500 else EXIT_FAILED)
    try:
        _write(rendered, output)
    except OSError as exc:  # a full disk, a missing directory, a closed pipe: one line
        where = str(output) if output is not None else "die Standardausgabe"
        click.echo(f"opal run: {where} konnte nicht geschrieben werden: "
                   f"{exc.strerror or type(exc).__name__}", err=True)
        sys.exit(EXIT_FAILED)
    except OpalError as exc:  # making a streamed chunk failed: audited with its incident id
        click.echo(f"opal run: {exc.message}", err=True)
        sys.exit(EXIT_FAILED)
    if output is not None:
        click.echo(f"{output}: {rendered.rows} Zeilen", err=True)


def _write(rendered: Rendered, output: Path | None) -> None:
    """Write the file (a half-written one is removed) or stdout (nothing left to flush at exit
    when it fails, so Python adds no message of its own)."""
    if output is not None:
        try:
            with output.open("wb") as file, closing_chunks(rendered) as chunks:
                file.writelines(chunks)
        except (OSError, OpalError):  # a full disk, or making a streamed chunk failed
            if output.is_file():
                output.unlink()
            raise
        return
    try:
        sys.stdout.flush()
        with closing_chunks(rendered) as chunks:
            sys.stdout.buffer.writelines(chunks)
        sys.stdout.buffer.flush()
    except OSError:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):  # no file descriptor behind stdout (a test runner)
            pass
        raise


@click.command("check")
@click.option("--reports-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="definitions directory (default: the repository's reports/)")
@click.option("--sql-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="SQL directory (default: the repository's sql/)")
def check_command(reports_dir: Path | None, sql_dir: Path | None) -> None:
    """Validate the whole report catalogue; list every fault and exit 1 on any."""
    catalogue = load_catalogue(reports_dir, sql_dir)
    problems = check_catalogue(catalogue)
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        click.echo(f"opal check: {len(problems)} Fehler in {len(catalogue)} Berichten", err=True)
        sys.exit(EXIT_FAILED)
    click.echo(f"opal check: {len(catalogue)} Berichte in Ordnung, "
               f"{len(catalogue.bundles)} Bündel")


COMMANDS: list[click.Command] = [run_command, check_command]
