"""Inbox (Postfach), a user's subscriptions and the admin's standard subscriptions.

A delivered file goes only to its recipient, and only while their role may still run the report:
any other id is a 404, audited. Subscribing asks the engine's pure access check; what a delivery
shows is decided when it is made, for the recipient (``opal.delivery.deliver``).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, send_file
from flask_login import current_user, login_required

from opal.access import may_run
from opal.audit import record
from opal.delivery import inbox, subscriptions
from opal.delivery.schedule import WEEKDAYS
from opal.errors import AccessDenied, ParameterError, RateLimited, ReportNotFound
from opal.renderers import get_format
from opal.web.auth import admin_required, client_address
from opal.web.portal import live as portal_live
from opal.web.portal import portal
from opal.web.security import count_download

bp = Blueprint("delivery", __name__)
#: report parameters travel in the subscribe form as ``p.<name>`` (never clash with its fields)
PARAM_PREFIX = "p."
_CODE = re.compile(r"^[A-Za-z0-9_]{1,40}$")
MAX_PAGE = 10_000
TOO_MANY = ("Sie haben in der letzten Minute zu viele Dateien abgerufen. "
            "Bitte warten Sie eine Minute und versuchen Sie es dann erneut.")


def _as_of() -> Any:
    live = portal_live()
    return live.as_of if live else portal().now().date()


def _titles() -> dict[str, str]:
    """Report code or bundle name -> title, for the inbox and subscription lists."""
    catalogue = portal().catalogue
    return {**{d.code: d.title for d in catalogue},
            **{b.name: b.title for b in catalogue.bundles.values()}}


def _audit(action: str, outcome: str, message: str, report: str | None = None) -> None:
    p = portal()
    record(p.app_db, clock=p.clock, username=current_user.username, role=current_user.role,
           action=action, report=report, outcome=outcome, message=message,
           client=client_address())


@bp.get("/inbox")
@login_required
def inbox_page() -> Any:
    """The user's delivered files, newest first; ``?report=CODE``: that report's history."""
    p = portal()
    bad = {k: "Diesen Parameter gibt es hier nicht." for k in request.args
           if k not in ("report", "page")}
    report = request.args.get("report") or None
    if report is not None and (len(request.args.getlist("report")) > 1
                               or not _CODE.fullmatch(report)):
        bad["report"] = "Unbekannter Bericht."
    raw_page = request.args.get("page", "1")
    if len(request.args.getlist("page")) > 1 or not (raw_page.isascii() and raw_page.isdigit()
                                                      and 1 <= int(raw_page) <= MAX_PAGE):
        bad["page"] = f"Bitte eine Seitenzahl von 1 bis {MAX_PAGE}."
    if bad:
        return _error(400, bad)
    page = int(raw_page)
    found = inbox.entries(p.app_db, current_user.user_id, report=report, limit=inbox.PAGE + 1,
                          offset=(page - 1) * inbox.PAGE)
    more, found = len(found) > inbox.PAGE, found[:inbox.PAGE]
    titles = _titles()
    keep = {"report": report} if report else {}
    html = render_template("inbox.html", entries=found, titles=titles, report=report,
                           local=_local_time(p.config.timezone), size=_size, page=page,
                           prev_href=_page_href(keep, page - 1) if page > 1 else None,
                           next_href=_page_href(keep, page + 1) if more else None)
    inbox.mark_seen(p.app_db, current_user.user_id, [e.id for e in found if e.new], p.now())
    return html


@bp.get("/inbox/<int:delivery_id>")
def inbox_file(delivery_id: int) -> Any:
    """One delivered file, to its recipient only; any other id is 404 and audited."""
    if not current_user.is_authenticated:
        abort(401)
    p = portal()
    stored = inbox.stored_file(p.config, p.app_db, delivery_id)
    if stored is None or stored.owner_id != current_user.user_id:
        owner = inbox.owner_of(p.app_db, delivery_id)
        why = ("fremder Postfacheintrag" if owner is not None and owner != current_user.user_id
               else "Postfacheintrag ohne Datei" if owner is not None
               else "unbekannter Postfacheintrag")
        _audit("inbox", "denied", f"{why} {delivery_id}")
        abort(404)
    if not may_run(current_user.actor(), p.catalogue, stored.report):
        _audit("inbox", "denied", f"Postfacheintrag {delivery_id}: Rolle nicht mehr berechtigt",
               stored.report)
        abort(404)
    if not count_download(p.app_db, current_user.username, p.now_naive(),
                          p.config.downloads_per_minute, p.config.app_db_schema):
        raise RateLimited(TOO_MANY)
    _audit("inbox", "ok", f"Postfacheintrag {delivery_id} abgerufen", stored.report)
    found = get_format(stored.format)
    return send_file(stored.path, mimetype=found.mimetype if found else None,
                     as_attachment=True, download_name=stored.file_name, max_age=0)


@bp.get("/subscriptions")
@login_required
def subscriptions_page() -> Any:
    return _subscriptions_page({}, 200)


def _staff_team(staff_id: str | None) -> str | None:
    """A case manager's team in the live data (team standard subscriptions reach them)."""
    from sqlalchemy import text

    if not staff_id:
        return None
    try:
        with portal().case_db.connect() as conn:
            found = conn.execute(text("SELECT team_id FROM staff WHERE staff_id = :s"),
                                 {"s": staff_id}).scalar()
    except Exception:  # no live generation: the page still lists the user's own
        return None
    return None if found is None else str(found)


def _subscriptions_page(errors: dict[str, str], status: int) -> Any:
    p = portal()
    mine = subscriptions.for_user(p.app_db, current_user.user_id, current_user.role,
                                  current_user.team_id or _staff_team(current_user.staff_id))
    titles = _titles()
    return render_template("subscriptions.html", subs=mine, titles=titles, errors=errors,
                           user_id=current_user.user_id), status


@bp.post("/subscriptions")
@login_required
def subscribe() -> Any:
    """Subscribe to a report with the parameters of the report page, a format and a schedule."""
    p = portal()
    form = request.form
    code = form.get("report", "")
    args = {k[len(PARAM_PREFIX):]: v for k, v in form.items() if k.startswith(PARAM_PREFIX)}
    try:
        subscriptions.subscribe(p.app_db, p.catalogue, current_user.user_id,
                                current_user.actor(), code, args, form, _as_of(),
                                clock=p.clock, client=client_address())
    except ReportNotFound:
        abort(404)
    except AccessDenied:
        abort(403)
    except ParameterError as exc:
        return _subscriptions_page(exc.errors, 400)
    return redirect("/subscriptions", code=303)


@bp.post("/subscriptions/<int:sub_id>/delete")
@login_required
def unsubscribe(sub_id: int) -> Any:
    p = portal()
    if not subscriptions.unsubscribe(p.app_db, sub_id, actor=current_user.actor(),
                                     user_id=current_user.user_id, clock=p.clock,
                                     client=client_address()):
        abort(404)
    return redirect("/subscriptions", code=303)


@bp.route("/admin/subscriptions", methods=["GET", "POST"])
@admin_required
def admin_subscriptions() -> Any:
    """Standard subscriptions for every user of a role or of a team."""
    p = portal()
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = request.form
        kind = form.get("audience_kind", "")
        value = form.get("role", "") if kind == "role" else form.get("team_id", "").strip()
        args, errors = _param_lines(form.get("params", ""))
        try:
            if errors:
                raise ParameterError(errors)
            subscriptions.subscribe_standard(p.app_db, p.catalogue, current_user.actor(),
                                             f"{kind}:{value}", form.get("report", ""), args,
                                             form, _as_of(), clock=p.clock,
                                             client=client_address())
        except ReportNotFound:
            errors = {"report": "Bitte wählen Sie einen Bericht."}
        except ParameterError as exc:
            errors = exc.errors
        if not errors:
            return redirect("/admin/subscriptions", code=303)
        status = 400
    record(p.app_db, clock=p.clock, username=current_user.username, role=current_user.role,
           action="admin", outcome="ok", message="Standard-Abonnements angesehen",
           client=client_address())
    return render_template("admin/subscriptions.html", subs=subscriptions.standard(p.app_db),
                           definitions=[*p.catalogue, *p.catalogue.bundles.values()],
                           roles=subscriptions.AUDIENCE_ROLES,
                           formats=subscriptions.FORMAT_LABELS, weekdays=WEEKDAYS,
                           errors=errors, form=request.form), status


@bp.post("/admin/subscriptions/<int:sub_id>/delete")
@admin_required
def admin_unsubscribe(sub_id: int) -> Any:
    p = portal()
    if not subscriptions.unsubscribe(p.app_db, sub_id, actor=current_user.actor(),
                                     user_id=None, clock=p.clock, client=client_address()):
        abort(404)
    return redirect("/admin/subscriptions", code=303)


def _param_lines(raw: str) -> tuple[dict[str, str], dict[str, str]]:
    """``name=value`` per line (the admin form) -> arguments; a malformed line is an error."""
    args: dict[str, str] = {}
    for line in raw.splitlines():
        if not line.strip():
            continue
        name, eq, value = line.partition("=")
        if not eq or not name.strip():
            return {}, {"params": "Bitte je Zeile name=wert angeben."}
        args[name.strip()] = value.strip()
    return args, {}


def _local_time(zone_name: str) -> Any:
    """A formatter: an aware UTC moment as TT.MM.JJJJ HH:MM in the portal's time zone."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(zone_name)

    def local(moment: Any) -> str:
        return "" if moment is None else str(moment.astimezone(zone).strftime("%d.%m.%Y %H:%M"))

    return local


def _page_href(keep: dict[str, str], page: int) -> str:
    from urllib.parse import urlencode

    return "/inbox?" + urlencode({**keep, "page": str(page)}) if page > 1 else \
        "/inbox" + ("?" + urlencode(keep) if keep else "")


def _size(n: int | None) -> str:
    """Bytes as a German size (kB/MB, one decimal)."""
    if n is None:
        return ""
    if n < 1024:
        return f"{n} B"
    value, unit = (n / 1024, "kB") if n < 1024 * 1024 else (n / 1024 / 1024, "MB")
    return f"{value:.1f} {unit}".replace(".", ",")


def _error(status: int, errors: dict[str, str]) -> Any:
    from opal.web.errors import error_response

    return error_response(status, errors=errors)


def new_entries() -> int:
    """The header's number of new inbox entries (0 for anonymous users and admins)."""
    try:
        if not current_user.is_authenticated or current_user.role == "admin":
            return 0
        if "opal_inbox_new" in g:  # the report page read it with its "frühere Ausgaben"
            return int(g.opal_inbox_new)
        return inbox.count_new(portal().app_db, current_user.user_id)
    except Exception:  # the app DB is down: the page (an error page) renders without it
        return 0
