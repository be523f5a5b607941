"""The one path of every run, whoever asks (report page, download, ``opal run``, delivery):

    parse -> access -> run -> shape -> suppress -> sort/cap -> render -> audit

and every refusal on the way (404, 403, 400, 429, 503) or failure (500 with an incident id) is
audited here, once, with the stage it stopped at. The audit row is written after rendering, so it
records the real outcome; a streamed file is audited when its last chunk is made.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar, cast

from sqlalchemy import text

from opal.access import Actor, can_run, can_run_bundle
from opal.audit import record
from opal.catalogue import BUNDLE_FORMATS, BundleDefinition, ReportDefinition
from opal.collation import din5007
from opal.context import Context
from opal.disclosure import under_control
from opal.errors import (
    AccessDenied,
    ExportTooLarge,
    FormatNotFound,
    OpalError,
    ParameterError,
    QueryFailed,
    RateLimited,
    ReportNotFound,
)
from opal.localtime import format_local
from opal.params import clean_for_log, safe_name
from opal.query import NoData, check_linked, fetch, shape_rows, sort_rows, suppress_rows
from opal.renderers import FORMAT_NAMES, Rendered, get_format, get_renderer
from opal.renderers.cells import format_date, format_param
from opal.renderers.pdf import FORMAT as PDF
from opal.renderers.pdf import ResultPdf
from opal.renderers.pdfbundle import Part, build_bundle
from opal.renderers.pdfpage import PageInfo
from opal.result import Result
from opal.roles import as_seen_by

log = logging.getLogger("opal.query")
T = TypeVar("T")


@dataclass(frozen=True)
class RunRequest:
    """One run as asked: who, which report, the arguments as given, the format and the client."""

    code: str
    actor: Actor
    args: Mapping[str, Any]  # str values; a repeated web argument is a list (rejected, 400)
    fmt: str
    client: str = "cli"  # the web's client address, or "cli"
    paged: bool = False  # the report page: ``page`` is a parameter, the table is sliced
    download: bool = False  # ``/reports/Rnn.<fmt>``: only download formats exist there


@dataclass
class _Audit:
    """The audit fields a run accumulates, and the one place its row is written."""

    ctx: Context
    req: RunRequest
    stage: str = "parse"
    as_of: date | None = None
    started: float = field(default_factory=time.monotonic)

    def write(self, outcome: str, *, rows: int | None = None,
              message: str | None = None) -> None:
        req = self.req
        record(self.ctx.app_db, clock=self.ctx.clock, username=req.actor.username,
               role=req.actor.role, report=clean_for_log(str(req.code), 40), params=req.args,
               format=clean_for_log(str(req.fmt), 10), row_count=rows, outcome=outcome,
               duration_ms=int((time.monotonic() - self.started) * 1000),
               data_as_of=self.as_of.isoformat() if self.as_of else None, message=message,
               client=req.client)

    def seen(self, as_of: date) -> None:
        self.as_of = as_of

    def refused(self, exc: OpalError) -> None:
        """Audit a refusal with the reason the stage gives (never personal data)."""
        if isinstance(exc, ReportNotFound):
            self.write("invalid", message="unbekannter Bericht")
        elif isinstance(exc, FormatNotFound):
            self.write("invalid", message="unbekanntes Format")
        elif isinstance(exc, RateLimited):
            self.write("denied", message="Downloadgrenze erreicht")
        elif isinstance(exc, AccessDenied):
            self.write("denied", message="Rolle nicht berechtigt" if self.stage == "access"
                       else "Zuordnung fehlt in den aktuellen Daten")
        elif isinstance(exc, ParameterError):
            self.write("invalid", message="Parameter: " + ", ".join(sorted(exc.errors))[:400])
        elif isinstance(exc, ExportTooLarge):
            self.write("invalid", rows=exc.rows, message="Exportgrenze überschritten")
        elif isinstance(exc, NoData):
            self.write("error", message="keine Daten")
        else:
            self.write("error" if exc.status >= 500 else "invalid",
                       message=exc.__class__.__name__)

    def failed(self, exc: BaseException) -> QueryFailed:
        """Audit an unexpected failure under a new incident id; return the error to raise."""
        timeout = _is_timeout(exc)
        failure = QueryFailed(timeout=timeout)
        log.error("report %s failed in %s (incident %s)", clean_for_log(str(self.req.code), 10),
                  self.stage, failure.incident_id, exc_info=exc)
        where = " beim Erstellen der Datei" if self.stage == "render" else ""
        self.write("error", message=("Zeitlimit" if timeout else "Fehler") + where
                   + f" (Vorgang {failure.incident_id}, {exc.__class__.__name__})")
        return failure


def run(ctx: Context, req: RunRequest, render: Callable[[Result], T], *,
        gate: Callable[[], None] | None = None) -> T:
    """Run ``req`` through every stage and return ``render(result)``; raise an OpalError
    (already audited) on any refusal or failure. ``gate`` runs after the report is known and
    before access (the download limit)."""
    audit = _Audit(ctx, req)
    try:
        defn = _parse(ctx, req)
        if gate is not None:
            gate()
        audit.stage = "access"
        if not can_run(req.actor, defn):
            raise AccessDenied()
        audit.stage = "run"
        result = _result(ctx, req, as_seen_by(req.actor.role, defn), audit)
        audit.stage = "render"
        out = render(result)
    except OpalError as exc:
        audit.refused(exc)
        raise
    except Exception as exc:  # anything else: an incident, never shown in detail
        raise audit.failed(exc) from exc
    if isinstance(out, Rendered) and not isinstance(out.content, bytes):
        return cast(T, _audited_stream(out, audit, result))
    _finish(audit, result)
    return out


def run_report(ctx: Context, code: str, actor: Actor, args: Mapping[str, Any], fmt: str, *,
               client: str = "cli", paged: bool = False) -> Result:
    """The run as a Result (the renderer is the caller's): tests, benches, the engine API."""
    return run(ctx, RunRequest(code, actor, args, fmt, client, paged), _same)


def run_file(ctx: Context, req: RunRequest, *, gate: Callable[[], None] | None = None
             ) -> Rendered:
    """The run rendered by the registry's renderer for ``req.fmt`` (downloads, ``opal run``)."""
    return run(ctx, req, get_renderer(req.fmt).render if req.fmt in FORMAT_NAMES
               else _no_format, gate=gate)


def run_bundle(ctx: Context, req: RunRequest, *, gate: Callable[[], None] | None = None,
               made: list[Result] | None = None) -> Rendered:
    """Run every part of the bundle ``req.code`` through ``run`` (each audited as its own run)
    and make them one PDF; the bundle gets its own audit row, written after the document is
    made. Access first: a role that may not run every part is refused before any part runs.
    ``made`` receives the parts' Results (delivery records data date and parameters)."""
    audit = _Audit(ctx, req)
    try:
        bundle = ctx.catalogue.bundles.get(req.code) if isinstance(req.code, str) else None
        if bundle is None:
            raise ReportNotFound()
        if req.fmt not in BUNDLE_FORMATS:
            if req.download:
                raise FormatNotFound()
            raise ParameterError({"format": "Ein Bündel gibt es nur als PDF."})
        if gate is not None:
            gate()
        audit.stage = "access"
        if not can_run_bundle(req.actor, bundle, ctx.catalogue):
            raise AccessDenied()
        audit.stage = "run"
        parts = _run_parts(ctx, req, bundle)
        results = [part.page.result for part in parts if isinstance(part.page, ResultPdf)]
        if len({r.as_of for r in results}) != 1:
            raise NoData("Die Daten wurden während der Erstellung erneuert. Bitte rufen Sie "
                         "das Bündel erneut ab.")
        audit.seen(results[0].as_of)
        audit.stage = "render"
        made_at = ctx.clock()
        first = results[0]
        body = build_bundle(PageInfo(
            title=bundle.title, unit=first.unit, code=bundle.name,
            params=tuple((p.label, format_param(p)) for p in first.params
                         if p.name in bundle.params),
            as_of=format_date(first.as_of), created=format_local(made_at, ctx.config.timezone)),
            parts)
    except OpalError as exc:
        audit.refused(exc)
        raise
    except Exception as exc:
        raise audit.failed(exc) from exc
    rows = sum(r.row_count for r in results)
    audit.write("ok", rows=rows, message=f"Bündel {bundle.name}: {len(parts)} Teile")
    if made is not None:
        made.extend(results)
    stamp = made_at.strftime("%Y%m%dT%H%M%SZ")
    return Rendered(f"OPAL_{bundle.name}_{first.as_of.isoformat()}_{stamp}.pdf", PDF.mimetype,
                    body, rows)


def _run_parts(ctx: Context, req: RunRequest, bundle: BundleDefinition) -> list[Part]:
    """Each run of the bundle through ``run`` (its own audit row), laid out for the PDF."""
    unknown = [k for k in req.args if k not in bundle.params]
    if unknown:
        raise ParameterError({safe_name(k) if isinstance(k, str) else "?":
                              "Diesen Parameter gibt es für dieses Bündel nicht."
                              for k in unknown})
    parts: list[Part] = []
    for run_def in bundle.runs:
        defn = ctx.catalogue.reports[run_def.report]
        given = {k: v for k, v in req.args.items() if any(p.name == k for p in defn.params)}
        base = {**given, **dict(run_def.params)}
        units = _offices(ctx) if run_def.for_each == "office" else [None]
        for unit in units:
            args = base if unit is None else {**base, "office": unit}
            page = run(ctx, RunRequest(defn.code, req.actor, args, "pdf", req.client), ResultPdf)
            parts.append(Part(_part_label(defn, page.result, run_def.label,
                                          run_def.set_params), page))
    return parts


def _offices(ctx: Context) -> list[str]:
    """The offices of the live data by name (German order): a ``for_each = "office"`` run."""
    with ctx.case_db.connect() as conn:
        rows = [(str(i), str(n)) for i, n in conn.execute(
            text("SELECT office_id, name FROM office"))]
    return [i for i, n in sorted(rows, key=lambda r: (din5007(r[1]), r[1], r[0]))]


def _part_label(defn: ReportDefinition, result: Result, label: str,
                set_params: frozenset[str]) -> str:
    """The part's line in the contents: code, title and what the bundle set (an office's
    name, a figure), or the run's own label."""
    shown = label or ", ".join(format_param(p) for p in result.params if p.name in set_params)
    return f"{defn.code} {defn.title}" + (f" – {shown}" if shown else "")


def admit(ctx: Context, req: RunRequest) -> ReportDefinition:
    """Parse, access and linkage without running (the bare parameter form): refusals are
    audited like a run's; being admitted is not a run and writes nothing."""
    audit = _Audit(ctx, req)
    try:
        defn = _parse(ctx, req)
        audit.stage = "access"
        if not can_run(req.actor, defn):
            raise AccessDenied()
        audit.stage = "run"
        audit.seen(check_linked(ctx, req.actor))
    except OpalError as exc:
        audit.refused(exc)
        raise
    except Exception as exc:
        raise audit.failed(exc) from exc
    return defn


def linked(ctx: Context, actor: Actor) -> bool:
    """Whether the actor's staff, team or office is in the live data (the catalogue page)."""
    try:
        check_linked(ctx, actor)
    except OpalError:
        return False
    except Exception:  # an unreadable case DB: nobody is linked
        log.exception("linkage unreadable")
        return False
    return True


def _no_format(result: Result) -> Rendered:
    raise FormatNotFound()  # not reached: the report's formats are registered ones


def _same(result: Result) -> Result:
    return result


def _parse(ctx: Context, req: RunRequest) -> ReportDefinition:
    """The report (404) and, on the download path, a download format (404)."""
    found = get_format(req.fmt) if isinstance(req.fmt, str) else None
    if req.download and (found is None or not found.download):
        raise FormatNotFound()
    defn = ctx.catalogue.get(req.code) if isinstance(req.code, str) else None
    if defn is None:
        raise ReportNotFound()
    return defn


def _result(ctx: Context, req: RunRequest, defn: ReportDefinition, audit: _Audit) -> Result:
    """Run, shape, suppress, sort and cap: the Result every renderer reads."""
    if req.fmt not in defn.formats:
        raise ParameterError({"format": "Dieses Format gibt es für diesen Bericht nicht: "
                                        + ", ".join(defn.formats) + "."})
    fetched = fetch(ctx, defn, req.actor, req.args, allow_sort=req.client != "cli",
                    paged=req.paged, seen=audit.seen)
    rows, suppressed = suppress_rows(defn, shape_rows(defn, fetched.rows),
                                     under_control(req.actor.role))
    parsed = fetched.parsed
    if parsed.sort:
        rows = sort_rows(rows, parsed.sort, parsed.desc, defn.visible_columns[0].key)
    elif defn.collate:  # the specified order by a text: German, the same on both databases
        rows = sort_rows(rows, defn.collate, False, defn.visible_columns[0].key)
    limit = ctx.config.export_max_rows
    if req.fmt != "html" and len(rows) > limit:
        raise ExportTooLarge(len(rows), limit)
    notes = tuple(sorted({str(r[defn.notes_from]) for r in fetched.rows
                          if defn.notes_from and r.get(defn.notes_from)}))
    extra: dict[str, Any] = {"timing": {"db_s": fetched.db_s}}
    if req.paged:
        extra["page"] = parsed.page or 1
    if fetched.staff is not None:
        extra["staff"] = fetched.staff  # the page's form offers the same choices
    return Result(
        code=defn.code, title=defn.title, kind=defn.kind, orientation=defn.orientation,
        params=parsed.display, columns=defn.visible_columns, rows=rows, as_of=fetched.as_of,
        generated_at=ctx.clock(), suppressed_cells=suppressed, sort=parsed.sort,
        desc=parsed.desc, unit=fetched.unit, username=req.actor.username, extra=extra,
        timezone=ctx.config.timezone, notes=notes)


def _finish(audit: _Audit, result: Result) -> None:
    """Audit the run as done; the timing of the stages goes into ``Result.extra``."""
    audit_started = time.monotonic()
    audit.write("ok", rows=result.row_count)
    timing = result.extra["timing"]
    timing["audit_s"] = time.monotonic() - audit_started
    timing["total_s"] = time.monotonic() - audit.started


def _audited_stream(out: Rendered, audit: _Audit, result: Result) -> Rendered:
    """The streamed file, audited once: when its last chunk is made, when making one fails, or
    when the transfer is closed before its end."""
    content = out.content
    assert not isinstance(content, bytes)
    audited: list[bool] = []  # shared by every pass over the file: one row only

    def chunks() -> _AuditedChunks:
        return _AuditedChunks(iter(content()), audit, result, audited)

    return Rendered(out.filename, out.mimetype, chunks, out.rows)


class _AuditedChunks:
    """One pass over a streamed file. The last chunk is handed out only after the run's audit
    row is committed (a chunk is made one ahead): a failed audit never completes the file.
    ``close()`` before the end (a WSGI server closes the response, PEP 3333) is audited as an
    aborted transfer; an iterator merely collected writes nothing (it may outlive its
    database)."""

    def __init__(self, source: Iterator[bytes], audit: _Audit, result: Result,
                 audited: list[bool]) -> None:
        self.source, self.audit, self.result, self.audited = source, audit, result, audited
        self.ended = False
        self.ahead: bytes | None = None  # the next chunk, made before the current one goes

    def __iter__(self) -> _AuditedChunks:
        return self

    def __next__(self) -> bytes:
        if self.ended:
            raise StopIteration
        try:
            current = self.ahead if self.ahead is not None else next(self.source)
            self.ahead = next(self.source, None)
        except StopIteration:  # an empty file: nothing to hand out
            self._end()
            raise
        except Exception as exc:
            self.ended = True
            if not self.audited:
                self.audited.append(True)
                raise self.audit.failed(exc) from exc
            raise
        if self.ahead is None:
            self._end()  # raises when the audit fails: the last chunk is not handed out
        return current

    def _end(self) -> None:
        """The file is made: audit it (once over every pass) before its last chunk goes."""
        self.ended = True
        if not self.audited:
            self.audited.append(True)
            _finish(self.audit, self.result)

    def close(self) -> None:
        """Stop early: audit the aborted transfer (never raising), then close the source."""
        if not self.ended and not self.audited:
            self.audited.append(True)
            try:
                self.audit.write("error", rows=self.result.row_count,
                                 message="Übertragung abgebrochen")
            except Exception:  # closing must never raise
                log.warning("the aborted transfer of %s could not be audited",
                            clean_for_log(str(self.audit.req.code), 10), exc_info=True)
        close = getattr(self.source, "close", None)
        if close is not None:
            close()


@contextmanager
def closing_chunks(rendered: Rendered) -> Iterator[Iterator[bytes]]:
    """The file's chunks, closed afterwards whatever happened (a writer that fails midway
    still has its run audited)."""
    chunks = rendered.chunks()
    try:
        yield chunks
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def _is_timeout(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)
    name = orig.__class__.__name__ if orig is not None else ""
    return name == "QueryCanceled" or (name == "OperationalError" and "interrupt" in str(orig))
