"""Admin pages: users, the audit log (filterable) and refresh runs; never any case data."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, render_template, request
from sqlalchemy import func, select

from opal.appdb.schema import ROLES, audit_log, refresh_runs, users
from opal.web.auth import admin_required, audit_event
from opal.web.portal import portal

bp = Blueprint("admin", __name__, url_prefix="/admin")
AUDIT_PAGE = 100
AUDIT_FILTERS = ("username", "action", "outcome", "report", "from", "to")
AUDIT_CHOICES = {"action": ("run", "login", "logout", "admin", "purge"),
                 "outcome": ("ok", "denied", "invalid", "error")}


@bp.get("/users")
@admin_required
def users_page() -> Any:
    """List every account with role, linkage and state (changes go through `opal users`)."""
    _audit("Benutzerliste")
    with portal().app_db.connect() as conn:
        rows = conn.execute(select(users.c.username, users.c.role, users.c.staff_id,
                                   users.c.team_id, users.c.active, users.c.updated_at)
                            .order_by(users.c.username)).mappings().all()
    return render_template("admin/users.html", users=rows, roles=ROLES)


@bp.get("/audit")
@admin_required
def audit_page() -> Any:
    """Show the newest audit entries, filtered by user, action, outcome, report and day."""
    _audit("Protokoll")
    given = {k: request.args.get(k, "").strip()[:64] for k in AUDIT_FILTERS}
    errors: dict[str, str] = {}
    query = select(audit_log)
    for key in ("username", "action", "outcome", "report"):
        if given[key]:
            query = query.where(audit_log.c[key] == given[key])
    for key, op in (("from", "ge"), ("to", "lt")):
        if given[key]:
            try:
                day = datetime.combine(date.fromisoformat(given[key]), datetime.min.time())
            except ValueError:
                errors[key] = "Bitte ein Datum im Format JJJJ-MM-TT angeben."
                continue
            bound = day if op == "ge" else day + timedelta(days=1)
            column = audit_log.c.ts
            query = query.where(column >= bound if op == "ge" else column < bound)
    page = int(request.args["page"]) if request.args.get("page", "").isdigit() else 1
    page = max(page, 1)
    with portal().app_db.connect() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(query.order_by(audit_log.c.id.desc()).limit(AUDIT_PAGE)
                            .offset((page - 1) * AUDIT_PAGE)).mappings().all()
    pages = max(1, -(-total // AUDIT_PAGE))
    keep = {k: v for k, v in given.items() if v}
    return render_template(
        "admin/audit.html", rows=rows, given=given, errors=errors, total=total, page=page,
        choices=AUDIT_CHOICES,
        pages=pages, page_href=lambda n: "/admin/audit?" + urlencode({**keep, "page": n})), \
        400 if errors else 200


@bp.get("/refresh")
@admin_required
def refresh_page() -> Any:
    """Show the live generation and the latest refresh runs with their messages."""
    _audit("Datenübernahme")
    with portal().app_db.connect() as conn:
        runs = conn.execute(select(refresh_runs).order_by(refresh_runs.c.id.desc())
                            .limit(50)).mappings().all()
    return render_template("admin/refresh.html", runs=runs)


def _audit(page: str) -> None:
    """Record that an admin looked at an admin page (who watches the watchers)."""
    from flask_login import current_user

    audit_event(current_user.username, current_user.role, "admin", "ok", page)
