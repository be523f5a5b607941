"""``run_report``: the one path every format and client takes, in the order reports.md fixes:
report exists -> access -> parameters -> execute -> coerce -> compute -> suppress -> sort ->
row cap -> audit -> Result. Disclosure control (``opal.disclosure.protect``) is one call in
``shape_rows``, after rounding and before sorting and any renderer."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from config import Config
from opal import dates
from opal.access import Actor, can_run, case_manager_choices, linkage, scope_for
from opal.audit import record
from opal.catalogue import Catalogue, ReportDefinition
from opal.clock import Clock, system_clock
from opal.collation import text_key
from opal.compute import parse, round_half_up, to_fraction
from opal.db import is_sqlite, sqlite_path
from opal.disclosure import protect, under_control
from opal.errors import (
    AccessDenied,
    ExportTooLarge,
    OpalError,
    ParameterError,
    QueryFailed,
    ReportNotFound,
)
from opal.params import UNKNOWN_OFFICE, clean_for_log, parse_params
from opal.result import SUPPRESSED, ColumnDef, Result
from opal.roles import as_seen_by, fixed_binds

log = logging.getLogger(__name__)

__all__ = ["Actor", "EngineContext", "NoData", "run_report"]


class NoData(OpalError):
    """No live generation yet: nothing can be reported."""

    status = 503
    default_message = "Es sind noch keine Daten eingespielt. Bitte versuchen Sie es später."


@dataclass
class EngineContext:
    """Everything a run needs; build it once per app or CLI call."""

    config: Config
    case_engine: Engine
    app_engine: Engine
    catalogue: Catalogue
    clock: Clock = system_clock
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, config: Config, *, catalogue: Catalogue | None = None,
              clock: Clock = system_clock) -> EngineContext:
        """Engines from ``config``; the checked default catalogue unless one is given."""
        from opal.catalogue import load_and_check
        from opal.db import app_engine, case_engine

        return cls(config, case_engine(config), app_engine(config),
                   catalogue if catalogue is not None else load_and_check(), clock)


@dataclass
class _Run:
    """The audit fields one run accumulates."""

    ctx: EngineContext
    actor: Actor
    code: str
    args: Mapping[str, str]
    fmt: str
    client: str
    started: float = field(default_factory=time.monotonic)
    as_of: date | None = None

    def audit(self, outcome: str, *, rows: int | None = None, message: str | None = None) -> None:
        record(self.ctx.app_engine, clock=self.ctx.clock, username=self.actor.username,
               role=self.actor.role, report=self.code, params=self.args, format=self.fmt,
               row_count=rows, outcome=outcome,
               duration_ms=int((time.monotonic() - self.started) * 1000),
               data_as_of=self.as_of.isoformat() if self.as_of else None, message=message,
               client=self.client)


def run_report(ctx: EngineContext, code: str, actor: Actor, args: Mapping[str, str], fmt: str,
               *, client: str = "cli", paged: bool = False) -> Result:
    """Run report ``code`` for ``actor``; raise an OpalError (already audited) on any failure."""
    run = _Run(ctx, actor, clean_for_log(str(code), 10), args, clean_for_log(str(fmt), 10),
               client)
    defn = ctx.catalogue.get(code) if isinstance(code, str) else None
    if defn is None:
        run.audit("invalid", message="unbekannter Bericht")
        raise ReportNotFound()
    if not can_run(actor, defn):
        run.audit("denied", message="Rolle nicht berechtigt")
        raise AccessDenied()
    try:
        return _execute(run, as_seen_by(actor.role, defn), paged)
    except AccessDenied:
        run.audit("denied", message="Zuordnung fehlt in den aktuellen Daten")
        raise
    except ParameterError as exc:
        run.audit("invalid", message="Parameter: " + ", ".join(sorted(exc.errors))[:400])
        raise
    except ExportTooLarge as exc:
        run.audit("invalid", rows=exc.rows, message="Exportgrenze überschritten")
        raise
    except NoData:
        run.audit("error", message="keine Daten")
        raise
    except Exception as exc:  # anything else: an incident, never shown in detail
        timeout = _is_timeout(exc)
        failure = QueryFailed(timeout=timeout)
        log.exception("report %s failed (incident %s)", run.code, failure.incident_id)
        run.audit("error", message=("Zeitlimit" if timeout else "Fehler")
                  + f" (Vorgang {failure.incident_id}, {exc.__class__.__name__})")
        raise failure from exc


#: identifies a generation (built_at alone has one-second resolution)
_GENERATION_SQL = "SELECT as_of_day, exported_at, built_at FROM d_meta"
#: how often a run is read again when generations are published while it runs
_GENERATION_TRIES = 3


def _generation(conn: Connection) -> Any:
    """Return the live generation's identity; no generation yet is NoData (503), not a fault."""
    try:
        meta = conn.execute(text(_GENERATION_SQL)).first()
    except (OperationalError, ProgrammingError) as exc:
        missing = (isinstance(exc.orig, psycopg.errors.UndefinedTable)
                   or "no such table" in str(exc.orig))
        if missing:
            raise NoData() from exc
        raise
    if meta is None:
        raise NoData()
    return meta


def _execute(run: _Run, defn: ReportDefinition, paged: bool) -> Result:
    ctx = run.ctx
    if run.fmt not in defn.formats:
        raise ParameterError({"format": "Dieses Format gibt es für diesen Bericht nicht: "
                                        + ", ".join(defn.formats) + "."})
    db_started = time.monotonic()
    if is_sqlite(ctx.config.case_db_url) and not sqlite_path(ctx.config.case_db_url).exists():
        raise NoData()  # nothing published yet
    for _attempt in range(_GENERATION_TRIES):
        with ctx.case_engine.connect() as conn, conn.begin():
            cancel = _limit_time(conn, ctx.config.statement_timeout_ms)
            try:
                meta = _generation(conn)
                run.as_of = dates.from_day(int(meta[0]))
                link = linkage(conn, run.actor)
                scope = scope_for(run.actor, link.live)
                staff = (case_manager_choices(conn, run.actor, dates.day(run.as_of))
                         if any(p.type == "staff" for p in defn.params) else None)
                unknown = _unknown_offices(conn, defn, run.args)
                try:
                    parsed = parse_params(defn, run.args, run.as_of,
                                          allow_sort=run.client != "cli", paged=paged,
                                          staff=staff)
                except ParameterError as exc:
                    raise ParameterError({**unknown, **exc.errors}) from None
                if unknown:
                    raise ParameterError(unknown)
                binds = {**parsed.bind, **fixed_binds(run.actor.role, scope), **scope,
                         "_as_of": dates.day(run.as_of)}
                result = conn.execute(text(defn.sql), binds)
                raw_rows = [dict(r) for r in result.mappings()]
                # PostgreSQL resolves the renamed live schema anew in every statement: a
                # generation published meanwhile shows in d_meta, and the run is read again
                same = tuple(meta) == tuple(conn.execute(text(_GENERATION_SQL)).first() or ())
            finally:
                cancel()
        if same:
            break
    else:
        raise NoData("Die Daten werden gerade aktualisiert. Bitte versuchen Sie es gleich noch "
                     "einmal.")
    db_time = time.monotonic() - db_started
    if defn.targets:
        _fill_targets(ctx, binds, raw_rows)  # an office lead's office is a fixed bind
    rows, suppressed = shape_rows(defn, raw_rows, under_control(run.actor.role))
    notes = tuple(sorted({str(r[defn.notes_from]) for r in raw_rows
                          if defn.notes_from and r.get(defn.notes_from)}))
    if parsed.sort:
        rows = sort_rows(rows, parsed.sort, parsed.desc, defn.visible_columns[0].key)
    elif defn.collate:  # the specified order by a text: German, the same on both databases
        rows = sort_rows(rows, defn.collate, False, defn.visible_columns[0].key)
    limit = ctx.config.export_max_rows
    if run.fmt != "html" and len(rows) > limit:
        raise ExportTooLarge(len(rows), limit)
    audit_started = time.monotonic()
    run.audit("ok", rows=len(rows))
    total = time.monotonic() - run.started
    extra: dict[str, Any] = {"timing": {"db_s": db_time, "total_s": total,
                                        "audit_s": time.monotonic() - audit_started}}
    if paged:
        extra["page"] = parsed.page or 1
    return Result(
        code=defn.code, title=defn.title, kind=defn.kind, orientation=defn.orientation,
        params=parsed.display, columns=defn.visible_columns, rows=rows, as_of=run.as_of,
        generated_at=ctx.clock(), suppressed_cells=suppressed, sort=parsed.sort,
        desc=parsed.desc, unit=link.unit, username=run.actor.username, extra=extra,
        timezone=ctx.config.timezone, notes=notes)


def _fill_targets(ctx: EngineContext, bind: Mapping[str, Any],
                  raw_rows: list[dict[str, Any]]) -> None:
    """Put the year's target of each row's ``figure`` into its ``target`` (office, else county,
    else none): the app database holds them, the case SQL cannot read it."""
    from opal.targets import lookup

    year = int(bind["month"]) // 12
    found = lookup(ctx.app_engine, year, str(bind.get("office") or ""))
    for row in raw_rows:
        row["target"] = found.get(str(row.get("figure")))


def _unknown_offices(conn: Connection, defn: ReportDefinition, args: Mapping[str, Any]
                     ) -> dict[str, str]:
    """``office`` parameters naming no office of this generation (400 with the other faults);
    a malformed value is left to ``parse_params``."""
    bad: dict[str, str] = {}
    for p in defn.params:
        raw = args.get(p.name)
        if p.type != "office" or not isinstance(raw, str) or not raw.strip():
            continue
        found = conn.execute(text("SELECT 1 FROM office WHERE office_id = :o"),
                             {"o": raw.strip()}).first()
        if found is None:
            bad[p.name] = UNKNOWN_OFFICE
    return bad


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


def _is_timeout(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)
    name = orig.__class__.__name__ if orig is not None else ""
    return name == "QueryCanceled" or (name == "OperationalError" and "interrupt" in str(orig))


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
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, int):
            return dates.from_day(value)
        return date.fromisoformat(str(value)[:10])
    return round_half_up(to_fraction(value) or Fraction(0), col.decimals)


def shape_rows(defn: ReportDefinition, raw_rows: list[dict[str, Any]],
               suppress: bool) -> tuple[list[dict[str, Any]], int]:
    """Coerce and compute every column, then (``suppress``: the output of a role under
    disclosure control) pass the rows through disclosure control; hidden columns are dropped."""
    computed = [(c, parse(c.compute)) for c in defn.columns if c.compute]
    numeric = [c for c in defn.columns if not c.compute and c.type in ("int", "decimal", "bool")]
    full: list[dict[str, Any]] = []
    for raw in raw_rows:
        row = {c.key: coerce(c, raw.get(c.key)) for c in defn.columns if not c.compute}
        env: dict[str, Fraction | None] = {c.key: to_fraction(raw.get(c.key)) for c in numeric}
        for col, expr in computed:
            value = expr.evaluate(env)
            env[col.key] = value
            places = env.get(col.places_from) if col.places_from else None
            row[col.key] = None if value is None else _computed(col, value, places)
        full.append(row)
    if suppress:
        return protect(defn, full)
    visible = [c.key for c in defn.visible_columns]
    return [{k: row[k] for k in visible} for row in full], 0


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
