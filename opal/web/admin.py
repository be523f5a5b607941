"""Admin pages: users, the audit log (filterable, paged, CSV export) and refresh runs; never any
case data. Every admin page view and every export is itself audited (who watches the watchers)."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, request
from flask_login import current_user
from sqlalchemy import Select, func, select

from opal.appdb.schema import audit_log, refresh_runs, users
from opal.audit import OUTCOMES, record
from opal.renderers.cells import safe_text
from opal.roles import ROLE_NAMES
from opal.web.auth import admin_required, client_address
from opal.web.errors import error_response
from opal.web.portal import live as portal_live
from opal.web.portal import offices as live_offices
from opal.web.portal import portal

bp = Blueprint("admin", __name__, url_prefix="/admin")
AUDIT_PAGE = 100
#: the largest page number accepted (an offset beyond any real log, and no integer overflow)
MAX_PAGE = 100_000
AUDIT_FILTERS = ("username", "role", "action", "outcome", "report", "from", "to")
AUDIT_CHOICES = {"action": ("run", "login", "logout", "admin", "purge"),
                 "outcome": OUTCOMES, "role": ROLE_NAMES}
_REPORT = re.compile(r"^[A-Za-z0-9_]{1,40}$")
CSV_HEADER = ("Nr.", "Zeit (UTC)", "Benutzer", "Rolle", "Aktion", "Bericht", "Format",
              "Parameter", "Zeilen", "Ergebnis", "Datenstand", "Hinweis", "Client")
CSV_COLUMNS = ("id", "ts", "username", "role", "action", "report", "format", "params",
               "row_count", "outcome", "data_as_of", "message", "client")
BAD_CHARS = "Der Wert enthält ungültige Zeichen."


@dataclass
class AuditFilter:
    """The audit filters of one request, checked; ``errors`` names every bad field."""

    given: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    page: int = 1
    query: Select[Any] = field(default_factory=lambda: select(audit_log))

    @property
    def keep(self) -> dict[str, str]:
        return {k: v for k, v in self.given.items() if v}


def parse_audit_filter(args: Any, *, paged: bool) -> AuditFilter:
    """Check every filter (unknown or repeated arguments, values, dates, page): never a 500."""
    allowed = set(AUDIT_FILTERS) | ({"page"} if paged else set())
    errors: dict[str, str] = {}
    for name in args:
        shown = _shown(name)
        if name not in allowed:
            errors[shown] = "Diesen Filter gibt es nicht."
        elif len(args.getlist(name)) > 1:
            errors[shown] = "Bitte nur einen Wert angeben."
    given = {k: str(args.get(k, "")).strip() for k in AUDIT_FILTERS}
    result = AuditFilter({k: v[:64] for k, v in given.items()}, errors)
    query = select(audit_log)
    for key in ("username", "role", "action", "outcome", "report"):
        value = given[key]
        if not value:
            continue
        problem = _junk(value, 64)
        if problem is None and key in AUDIT_CHOICES and value not in AUDIT_CHOICES[key]:
            problem = "Bitte einen der angebotenen Werte wählen."
        if problem is None and key == "report" and not _REPORT.match(value):
            problem = "Bitte einen Berichtscode angeben (z. B. R02)."
        if problem:
            errors[key] = problem
            continue
        query = query.where(audit_log.c[key] == value)
    days: dict[str, date] = {}
    for key in ("from", "to"):
        if given[key]:
            try:
                days[key] = date.fromisoformat(given[key])
            except ValueError:
                errors[key] = "Bitte ein Datum im Format JJJJ-MM-TT angeben."
    if "from" in days and "to" in days and days["from"] > days["to"]:
        errors["to"] = "Das Enddatum liegt vor dem Anfangsdatum."
    if "from" in days:
        query = query.where(audit_log.c.ts >= datetime.combine(days["from"], datetime.min.time()))
    if "to" in days and days["to"] < date.max:  # the last day is included
        end = datetime.combine(days["to"] + timedelta(days=1), datetime.min.time())
        query = query.where(audit_log.c.ts < end)
    raw_page = str(args.get("page", "")).strip() if paged else ""
    if raw_page:
        if raw_page.isascii() and raw_page.isdigit() and 1 <= int(raw_page) <= MAX_PAGE:
            result.page = int(raw_page)
        else:
            errors["page"] = f"Bitte eine Seitenzahl von 1 bis {MAX_PAGE} angeben."
    result.query = query
    return result


def _junk(value: str, limit: int) -> str | None:
    if len(value) > limit:
        return f"Der Wert ist zu lang (höchstens {limit} Zeichen)."
    if "\ufffd" in value or any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in value):
        return BAD_CHARS
    return None


def _shown(name: str) -> str:
    """A request's argument name as it may appear in a page: short, control chars escaped."""
    out = "".join(f"\\u{ord(ch):04x}" if unicodedata.category(ch).startswith("C") else ch
                  for ch in name[:40])
    return out or "(leer)"


@bp.get("/users")
@admin_required
def users_page() -> Any:
    """List every account with role, linkage and state (changes go through `opal users`)."""
    _audit("Benutzerliste")
    with portal().app_db.connect() as conn:
        rows = conn.execute(select(users.c.username, users.c.role, users.c.staff_id,
                                   users.c.team_id, users.c.office_id, users.c.active,
                                   users.c.updated_at)
                            .order_by(users.c.username)).mappings().all()
    return render_template("admin/users.html", users=rows, roles=ROLE_NAMES)


@bp.get("/audit")
@admin_required
def audit_page() -> Any:
    """Show the audit entries, newest first, filtered and paged; bad filters are a 400."""
    filt = parse_audit_filter(request.args, paged=True)
    if filt.errors:
        _audit("Protokoll", outcome="invalid", params=request.args.to_dict(),
               message="Protokoll: ungültige Filter: " + ", ".join(sorted(filt.errors)))
        total, rows, pages = 0, [], 1
    else:
        _audit("Protokoll", params=filt.keep or None)
        with portal().app_db.connect() as conn:
            total = conn.execute(select(func.count()).select_from(filt.query.subquery())
                                 ).scalar_one()
            rows = list(conn.execute(filt.query.order_by(audit_log.c.id.desc())
                                     .limit(AUDIT_PAGE).offset((filt.page - 1) * AUDIT_PAGE))
                        .mappings().all())
        pages = max(1, -(-total // AUDIT_PAGE))
    keep = filt.keep
    csv_href = "/admin/audit.csv" + ("?" + urlencode(keep) if keep else "")
    return render_template(
        "admin/audit.html", rows=rows, given=filt.given, errors=filt.errors, total=total,
        page=filt.page, choices=AUDIT_CHOICES, pages=pages, csv_href=csv_href,
        other_errors={k: v for k, v in filt.errors.items() if k not in AUDIT_FILTERS},
        page_href=lambda n: "/admin/audit?" + urlencode({**keep, "page": n})), \
        400 if filt.errors else 200


@bp.get("/audit.csv")
@admin_required
def audit_csv() -> Any:
    """Export the filtered audit entries as CSV (BOM, ``;``, CRLF, formula-neutral cells)."""
    filt = parse_audit_filter(request.args, paged=False)
    if filt.errors:
        _audit("Protokoll-Export", outcome="invalid", params=request.args.to_dict(), fmt="csv",
               message="Protokoll-Export: ungültige Filter: " + ", ".join(sorted(filt.errors)))
        return error_response(400, "Bitte prüfen Sie die Filter.", filt.errors)
    limit = portal().config.export_max_rows
    with portal().app_db.connect() as conn:
        total = conn.execute(select(func.count()).select_from(filt.query.subquery())).scalar_one()
        if total > limit:
            _audit("Protokoll-Export", outcome="invalid", params=filt.keep or None, fmt="csv",
                   rows=total, message="Exportgrenze überschritten")
            return error_response(400, f"Der Export umfasst {total} Einträge, erlaubt sind "
                                       f"höchstens {limit}. Bitte schränken Sie die Filter ein.")
        rows = conn.execute(filt.query.order_by(audit_log.c.id)).mappings().all()
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow([_csv_cell(key, row[key]) for key in CSV_COLUMNS])
    _audit("Protokoll-Export", params=filt.keep or None, fmt="csv", rows=len(rows))
    stamp = portal().now_naive().strftime("%Y%m%d-%H%M%S")
    response = Response(("\ufeff" + buffer.getvalue()).encode("utf-8"),
                        mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="protokoll-{stamp}.csv"'
    return response


def _csv_cell(key: str, value: Any) -> Any:
    if value is None:
        return ""
    if key == "ts":
        return value.strftime("%d.%m.%Y %H:%M:%S")
    if isinstance(value, int):
        return value
    return safe_text(str(value))


@bp.route("/targets", methods=["GET", "POST"])
@admin_required
def targets_page() -> Any:
    """Show a year's targets of the key figures; a POST (CSRF-checked) sets or deletes one,
    audited; bad fields are a 400 naming each."""
    from opal import targets

    p = portal()
    offices = live_offices()
    known = {o for o, _ in offices}
    errors: dict[str, str] = {}
    form: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = {k: str(v)[:64] for k, v in request.form.items() if k != "csrf_token"}
        junk = {k: BAD_CHARS for k, v in request.form.items() if _junk(str(v), 64)}
        values, errors = targets.parse_form(request.form, known)
        errors = {**errors, **junk}
        if errors:
            status = 400
            _audit("Zielwerte", outcome="invalid", params=form,
                   message="Zielwerte: ungültige Felder: " + ", ".join(sorted(errors)))
        else:
            targets.save(p.app_db, values, current_user.username, p.now_naive())
            shown = "gelöscht" if values["value_e1"] is None else \
                f"{values['value_e1'] / 10:.1f} %"
            _audit("Zielwerte", params=form,
                   message=f"Zielwert {values['figure']} {values['year']} "
                           f"{values['office'] or 'Kreis'}: {shown}")
            year = values["year"]
    raw_year = str(request.args.get("year", form.get("year", ""))).strip()
    live = portal_live()
    year = int(raw_year) if raw_year.isdigit() and targets.YEARS[0] <= int(raw_year) <= \
        targets.YEARS[1] else (live.as_of.year if live else p.now().year)
    if request.method == "GET":
        _audit("Zielwerte", params={"year": str(year)})
    rows = targets.listing(p.app_db, year)
    names = dict(offices)
    return render_template("admin/targets.html", year=year, rows=rows, names=names,
                           offices=offices, figures=targets.FIGURES, errors=errors,
                           form=form), status


@bp.get("/refresh")
@admin_required
def refresh_page() -> Any:
    """Show the live generation and the latest refresh runs with their messages."""
    _audit("Datenübernahme")
    with portal().app_db.connect() as conn:
        runs = conn.execute(select(refresh_runs).order_by(refresh_runs.c.id.desc())
                            .limit(50)).mappings().all()
    last_ok = next((r for r in runs if r["status"] == "ok"), None)
    failed = next((r for r in runs if r["status"] == "failed"), None)
    if failed is not None and last_ok is not None and last_ok["id"] > failed["id"]:
        failed = None  # a later run succeeded: no alarm, the failure stays in the list
    return render_template("admin/refresh.html", runs=runs, failed=failed)


def _audit(page: str, *, outcome: str = "ok", params: dict[str, str] | None = None,
           fmt: str | None = None, rows: int | None = None, message: str | None = None) -> None:
    """Record that an admin looked at (or exported) an admin page."""
    p = portal()
    record(p.app_db, clock=p.clock, username=current_user.username, role=current_user.role,
           action="admin", params=params, format=fmt, row_count=rows, outcome=outcome,
           message=message or page, client=client_address())
