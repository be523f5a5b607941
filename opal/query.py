"""The run stage of the pipeline (``opal.pipeline``): read the live generation, check the
linkage, parse the parameters and execute the SQL (``fetch``); then shape the rows (coerce,
compute, hide), suppress (disclosure control) and sort them."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache, partial
from typing import Any

import psycopg
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from opal import dates
from opal.access import Actor, Linkage, case_manager_choices, linkage, scope_for
from opal.casedb.schema import DERIVED_TABLES
from opal.catalogue import ReportDefinition
from opal.collation import text_key
from opal.compute import parse, round_half_up, to_fraction
from opal.context import Context
from opal.db import is_sqlite, sqlite_path
from opal.dbapi import Statement, first_row, select_rows
from opal.disclosure import protect
from opal.errors import OpalError, ParameterError
from opal.params import UNKNOWN_OFFICE, ParsedParams, is_office_id, parse_params
from opal.result import SUPPRESSED, ColumnDef
from opal.roles import Scope, fixed_binds
from opal.targets import lookup


class NoData(OpalError):
    """No live generation yet: nothing can be reported."""

    status = 503
    default_message = "Es sind noch keine Daten eingespielt. Bitte versuchen Sie es später."


@dataclass(frozen=True)
class Fetched:
    """What the run stage read in one transaction: the rows as the SQL gave them."""

    as_of: date
    unit: str  # the unit line: case load, team or county
    parsed: ParsedParams
    rows: list[dict[str, Any]]
    db_s: float
    #: the case managers a ``staff`` parameter could name (None: the report has none); the
    #: report page offers them in its form, read in the same transaction
    staff: dict[str, str] | None = None


#: identifies a generation (built_at alone has one-second resolution)
_GENERATION = Statement(text("SELECT as_of_day, exported_at, built_at FROM d_meta"))
#: the tables a refresh derives: one missing in the live generation means it is older
DERIVED_NAMES = frozenset(t.name for t in DERIVED_TABLES)
#: how often a run is read again when generations are published while it runs
_GENERATION_TRIES = 3


@lru_cache(maxsize=512)
def statement(sql: str) -> Statement:
    """A report's SQL as a statement, built once per text (its binds are parsed then, and it
    is compiled once per dialect: ``opal.dbapi``)."""
    return Statement(text(sql))


def _generation(conn: Connection) -> tuple[Any, ...]:
    """Return the live generation's identity; no generation yet is NoData (503), not a fault."""
    try:
        meta = first_row(conn, _GENERATION, {})
    except (OperationalError, ProgrammingError) as exc:
        if _missing_table(exc):
            raise NoData() from exc
        raise
    if meta is None:
        raise NoData()
    return meta


def _missing_table(exc: OperationalError | ProgrammingError) -> bool:
    return (isinstance(exc.orig, psycopg.errors.UndefinedTable)
            or "no such table" in str(exc.orig))


def _missing_derived_table(exc: OperationalError | ProgrammingError) -> bool:
    """The error names a derived table this release builds (``d_*``) as missing."""
    if not _missing_table(exc):
        return False
    said = str(exc.orig)
    return any(f"no such table: {name}" in said or f'relation "{name}" does not exist' in said
               for name in DERIVED_NAMES)


def _report_rows(conn: Connection, sql: str, binds: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The report's rows; a live generation built by an earlier release that lacks a derived
    table this release reads is NoData (503, until the next refresh), not a fault. Any other
    missing table is a fault of the report (QueryFailed, 500 with an incident id)."""
    try:
        keys, rows = select_rows(conn, statement(sql), binds)
        return [dict(zip(keys, row, strict=True)) for row in rows]
    except (OperationalError, ProgrammingError) as exc:
        if _missing_derived_table(exc):
            raise NoData("Die eingespielten Daten stammen von einer früheren OPAL-Version; "
                         "dieser Bericht ist nach der nächsten Aktualisierung verfügbar.") from exc
        raise


def _published(ctx: Context) -> None:
    if is_sqlite(ctx.config.case_db_url) and not sqlite_path(ctx.config.case_db_url).exists():
        raise NoData()  # nothing published yet


def linked_scope(conn: Connection, actor: Actor) -> tuple[Linkage, Scope]:
    """The actor's linkage in the generation on ``conn`` and its scope (AccessDenied)."""
    link = linkage(conn, actor)
    return link, scope_for(actor, link.live)


def check_linked(ctx: Context, actor: Actor) -> date:
    """Read the live generation and the actor's linkage in it, as a run would: NoData (503) or
    AccessDenied (403); the data date otherwise."""
    _published(ctx)
    with ctx.case_db.connect() as conn:
        as_of = dates.from_day(int(_generation(conn)[0]))
        linked_scope(conn, actor)
    return as_of


def fetch(ctx: Context, defn: ReportDefinition, actor: Actor, args: Mapping[str, Any], *,
          allow_sort: bool, paged: bool, seen: Callable[[date], None]) -> Fetched:
    """The run stage: in one read-only transaction with a time limit read the generation
    (``seen`` gets its data date), check the linkage (403), parse the parameters (400) and run
    the SQL with the reserved parameters bound; read again when a generation was published
    meanwhile."""
    started = time.monotonic()
    _published(ctx)
    on_file = is_sqlite(ctx.config.case_db_url)
    for _attempt in range(_GENERATION_TRIES):
        with ctx.case_db.connect() as conn, conn.begin():
            cancel = _limit_time(conn, ctx.config.statement_timeout_ms)
            try:
                meta = _generation(conn)
                as_of = dates.from_day(int(meta[0]))
                seen(as_of)
                link, scope = linked_scope(conn, actor)
                staff = (case_manager_choices(conn, actor, dates.day(as_of))
                         if _wants_choices(defn, args, paged) else None)
                unknown, office_names = _offices(conn, defn, args)
                try:
                    parsed = parse_params(defn, args, as_of, allow_sort=allow_sort,
                                          paged=paged, staff=staff)
                except ParameterError as exc:
                    raise ParameterError({**unknown, **exc.errors}) from None
                if unknown:
                    raise ParameterError(unknown)
                parsed = _named(parsed, office_names)
                binds = {**parsed.bind, **fixed_binds(actor.role, scope), **scope,
                         "_as_of": dates.day(as_of)}
                raw_rows = _report_rows(conn, defn.sql, binds)
                # PostgreSQL resolves the renamed live schema anew in every statement: a
                # generation published meanwhile shows in d_meta, and the run is read again.
                # A SQLite connection reads the one generation file it opened (a publish
                # replaces the file, never writes into it): nothing to read again there
                same = on_file or meta == _generation(conn)
            finally:
                cancel()
        if same:
            if defn.targets:
                _fill_targets(ctx, binds, raw_rows)  # an office lead's office is a fixed bind
            return Fetched(as_of, link.unit, parsed, raw_rows, time.monotonic() - started,
                           staff)
    raise NoData("Die Daten werden gerade aktualisiert. Bitte versuchen Sie es gleich noch "
                 "einmal.")


def _wants_choices(defn: ReportDefinition, args: Mapping[str, Any], paged: bool) -> bool:
    """Whether the run needs the actor's case-manager choices: a page's form offers them, and
    a given ``staff`` value is checked against them; a download without one needs none (the
    query cost a tenth of a JSON download's SQL)."""
    return any(p.type == "staff" and (paged or bool(args.get(p.name)))
               for p in defn.params)


def _fill_targets(ctx: Context, bind: Mapping[str, Any],
                  raw_rows: list[dict[str, Any]]) -> None:
    """Put the target of each row's ``figure`` into its ``target`` (office, else county, else
    none) for the year of the row's ``month_idx`` (R18: one row per month), else of ``month``:
    the app database holds them, the case SQL cannot read it."""
    office = str(bind.get("office") or "")
    by_year: dict[int, dict[str, Decimal]] = {}
    for row in raw_rows:
        year = int(row.get("month_idx", bind["month"])) // 12
        if year not in by_year:
            by_year[year] = lookup(ctx.app_db, year, office)
        row["target"] = by_year[year].get(str(row.get("figure")))


def _offices(conn: Connection, defn: ReportDefinition, args: Mapping[str, Any]
             ) -> tuple[dict[str, str], dict[str, str]]:
    """``office`` parameters naming no office of this generation (400 with the other faults),
    and the names of those that do (the parameters as run show the office by name); a
    malformed value is left to ``parse_params``."""
    bad: dict[str, str] = {}
    names: dict[str, str] = {}
    for p in defn.params:
        raw = args.get(p.name)
        if p.type != "office" or not isinstance(raw, str) or not is_office_id(raw.strip()):
            continue  # empty or malformed (NUL, controls, too long): parse_params names it
        found = conn.execute(text("SELECT name FROM office WHERE office_id = :o"),
                             {"o": raw.strip()}).first()
        if found is None:
            bad[p.name] = UNKNOWN_OFFICE
        else:
            names[p.name] = str(found[0])
    return bad, names


def _named(parsed: ParsedParams, names: Mapping[str, str]) -> ParsedParams:
    """``parsed`` with each office parameter's display text set to the office's name."""
    if not names:
        return parsed
    shown = tuple(replace(p, text=names[p.name]) if p.name in names and p.value else p
                  for p in parsed.display)
    return replace(parsed, display=shown)


def _limit_time(conn: Connection, timeout_ms: int) -> Callable[[], None]:
    """Put a time limit on the statements of this transaction; return the undo."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET TRANSACTION READ ONLY"))
        conn.execute(text(f"SET LOCAL statement_timeout = {int(timeout_ms)}"))
        return lambda: None
    raw: Any = conn.connection.dbapi_connection
    deadline = time.monotonic() + timeout_ms / 1000

    def handler() -> int:
        return 1 if time.monotonic() > deadline else 0

    raw.set_progress_handler(handler, 10_000)
    return lambda: raw.set_progress_handler(None, 0)


def coerce(col: ColumnDef, value: Any) -> Any:
    """Turn a driver value into the column's Python type (SQLite gives dates as str, bools as
    int)."""
    if value is None:
        return None
    kind = col.type
    if kind == "text":
        return value if isinstance(value, str) else str(value)
    if kind == "int":
        return int(value)
    if kind == "bool":
        return bool(int(value))
    if kind == "date":
        return _date(value)
    return round_half_up(to_fraction(value) or Fraction(0), col.decimals)


def _text(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else str(value)


def _int(value: Any) -> Any:
    return value if value is None or type(value) is int else int(value)


def _date(value: Any) -> Any:
    if value is None or type(value) is date:
        return value
    if type(value) is str:  # SQLite
        return date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int):
        return dates.from_day(value)
    return date.fromisoformat(str(value)[:10])


def _converter(col: ColumnDef) -> Callable[[Any], Any]:
    """``coerce`` for one column, with the common cases (a text is a str, an int an int, a date
    SQLite's text) one type check: a list runs it for every cell."""
    if col.type == "text":
        return _text
    if col.type == "int":
        return _int
    if col.type == "date":
        return _date
    return partial(coerce, col)


def shape_rows(defn: ReportDefinition, raw_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Coerce each value to its column type and compute the computed columns; hidden columns
    stay (disclosure control reads them) until the suppress stage."""
    computed = [(c, parse(c.compute)) for c in defn.columns if c.compute]
    numeric = [c for c in defn.columns if not c.compute and c.type in ("int", "decimal", "bool")]
    plain = [(c.key, _converter(c)) for c in defn.columns if not c.compute]
    out: list[dict[str, Any]] = []
    for raw in raw_rows:
        get = raw.get
        row = {key: convert(get(key)) for key, convert in plain}
        out.append(row)
        if not computed:
            continue
        env: dict[str, Fraction | None] = {c.key: to_fraction(raw.get(c.key)) for c in numeric}
        for col, expr in computed:
            value = expr.evaluate(env)
            env[col.key] = value
            places = env.get(col.places_from) if col.places_from else None
            row[col.key] = None if value is None else _computed(col, value, places)
    return out


def suppress_rows(defn: ReportDefinition, rows: list[dict[str, Any]], controlled: bool
                  ) -> tuple[list[dict[str, Any]], int]:
    """The suppress stage: for a role under disclosure control the rows pass
    ``opal.disclosure.protect``; hidden columns are dropped. Returns the rows shown and the
    number of suppressed cells."""
    if controlled:
        return protect(defn, rows)
    visible = [c.key for c in defn.visible_columns]
    if visible == shaped_keys(defn):  # nothing hidden, in order: the rows as they are
        return rows, 0
    return [{k: row[k] for k in visible} for row in rows], 0


def shaped_keys(defn: ReportDefinition) -> list[str]:
    """The keys of a row ``shape_rows`` makes, in their order: the SQL's columns, then the
    computed ones."""
    return ([c.key for c in defn.columns if not c.compute]
            + [c.key for c in defn.columns if c.compute])


def _computed(col: ColumnDef, value: Fraction, places: Fraction | None = None) -> int | Decimal:
    decimals = col.decimals if col.type == "decimal" else 0
    if places is not None:
        decimals = min(int(places), decimals)
    rounded = round_half_up(value, decimals)
    return int(rounded) if col.type == "int" else rounded


def sort_rows(rows: list[dict[str, Any]], key: str, desc: bool,
              first_key: str) -> list[dict[str, Any]]:
    """Sort by ``key``; None and SUPPRESSED last either way; a Gesamt row stays last. Text
    the German way (DIN 5007-1, then code point), equal texts by the first (id) column."""
    body = [r for r in rows if r.get(first_key) != "Gesamt"]
    tail = [r for r in rows if r.get(first_key) == "Gesamt"]
    present = [r for r in body if r[key] is not None and r[key] is not SUPPRESSED]
    missing = [r for r in body if r[key] is None or r[key] is SUPPRESSED]
    if any(isinstance(r[key], str) for r in present):
        if key != first_key:  # ties: the first column ascending, in either direction
            present.sort(key=lambda r: text_key(r.get(first_key) or ""))
        present.sort(key=lambda r: text_key(r[key]), reverse=desc)
    else:
        present.sort(key=lambda r: r[key], reverse=desc)
    return present + missing + tail
