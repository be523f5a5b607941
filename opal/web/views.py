"""Catalogue, report page and downloads: thin views over ``opal.pipeline`` (parse, access, run,
suppress, render, audit happen there, for every caller alike)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
)
from flask_login import current_user, login_required

from opal.access import can_run, can_run_bundle
from opal.catalogue import ReportDefinition
from opal.delivery import inbox
from opal.delivery.schedule import WEEKDAYS
from opal.delivery.subscriptions import FORMAT_LABELS
from opal.errors import ParameterError, RateLimited
from opal.params import BAD_STAFF
from opal.pipeline import RunRequest, admit, linked, run, run_bundle, run_file
from opal.renderers import DOWNLOADS, Rendered
from opal.renderers.cells import format_param
from opal.renderers.html import PER_PAGE, build_table, chart_svg
from opal.result import Result
from opal.roles import as_seen_by
from opal.web.auth import client_address
from opal.web.drill import links_for
from opal.web.forms import build_fields, other_errors
from opal.web.portal import case_manager_choices, live, offices, portal, round_hours
from opal.web.security import count_download

bp = Blueprint("views", __name__)
TOO_MANY = ("Sie haben in der letzten Minute zu viele Dateien abgerufen. "
            "Bitte warten Sie eine Minute und versuchen Sie es dann erneut.")
#: a page: the HTML and its status
Page = tuple[str, int]


@bp.get("/")
def index() -> Any:
    return redirect("/reports")


@bp.get("/reports")
@login_required
def catalogue() -> Any:
    """List the reports this user may run, grouped as the definitions say."""
    ctx, actor = portal(), current_user.actor()
    groups: dict[str, list[ReportDefinition]] = {}
    is_linked = linked(ctx, actor)
    for_whom = None
    if "case_manager" in request.args:  # the lists of one case manager (R01's drill-through)
        staff_id = request.args.get("case_manager", "")
        choices = case_manager_choices(actor) if is_linked else {}
        if staff_id not in choices:
            raise ParameterError({"case_manager": BAD_STAFF})
        for_whom = (staff_id, choices[staff_id])
    for definition in ctx.catalogue:
        if not (is_linked and can_run(actor, definition)):
            continue
        if for_whom is not None and not any(q.type == "staff" for q in definition.params):
            continue
        groups.setdefault(definition.group, []).append(definition)
    bundles = [] if for_whom is not None or not is_linked else [
        b for _, b in sorted(ctx.catalogue.bundles.items())
        if can_run_bundle(actor, b, ctx.catalogue)]
    return render_template("catalogue.html", groups=groups, linked=is_linked, for_whom=for_whom,
                           bundles=bundles, formats={"pdf": FORMAT_LABELS["pdf"]},
                           weekdays=WEEKDAYS, form=None,
                           query=urlencode({"case_manager": for_whom[0]}) if for_whom else "")


@bp.get("/reports/<name>")
def report(name: str) -> Any:
    """Show the form, and the list once parameters are given; ``CODE.fmt`` downloads."""
    code, dot, fmt = name.partition(".")
    if dot:
        return download(code, fmt)
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    ctx, args, actor = portal(), query_args(), current_user.actor()
    req = RunRequest(code, actor, args, "html", client_address(), paged=True)
    found = ctx.catalogue.get(code)
    # the form offers what the role may ask (withheld choices, fixed parameters gone)
    definition = as_seen_by(actor.role, found) if found is not None else None
    if definition is not None and not args and definition.params \
            and not runs_on_opening(definition):
        # the bare form runs nothing, but an unlinked user gets no form either (audited)
        return _page(as_seen_by(actor.role, admit(ctx, req)), args, {}, None, 200)
    try:
        return run(ctx, req, lambda result: _page(_known(definition), args, {}, result, 200))
    except ParameterError as exc:
        return _page(_known(definition), args, exc.errors, None, 400)


def _known(definition: ReportDefinition | None) -> ReportDefinition:
    """The definition of a report the pipeline has found (it raised 404 otherwise)."""
    assert definition is not None
    return definition


def runs_on_opening(definition: ReportDefinition) -> bool:
    """A report whose parameters all have defaults (or may stay empty) shows its list at once."""
    return all(p.default is not None or p.optional for p in definition.params)


def query_args() -> dict[str, Any]:
    """The query arguments; a repeated one keeps all its values (a list), which the engine
    rejects naming the field: never silently the first of several (parameter pollution)."""
    return {k: v[0] if len(v) == 1 else v for k, v in request.args.lists()}


def _page(definition: ReportDefinition, args: dict[str, Any], errors: dict[str, str],
          result: Result | None, status: int) -> Page:
    """Render the report page: form (with errors), and the table when there is a result."""
    args = {k: v if isinstance(v, str) else ", ".join(v) for k, v in args.items()}
    data = live()
    staff = None
    if any(p.type == "staff" for p in definition.params):
        ran = result.extra.get("staff") if result is not None else None
        staff = dict(ran) if ran is not None else case_manager_choices(current_user.actor())
    found = (offices() if any(p.type == "office" for p in definition.params) else None)
    fields = build_fields(definition, args, errors, data.as_of if data else None, staff, found)
    table = downloads = chart = None
    if result is not None:
        chart = chart_svg(result)
        page = int(result.extra.get("page") or 1)
        table = build_table(result, page=page, per_page=PER_PAGE, sortable=definition.sort,
                            sort_href=lambda key, desc: _href(definition.code, args, sort=key,
                                                              desc="1" if desc else "0"),
                            links=links_for(result, current_user.actor(), portal().catalogue,
                                            offices,
                                            lambda: case_manager_choices(current_user.actor())))
        plain = {k: v for k, v in args.items() if k != "page"}
        downloads = [(f.label, f"/reports/{definition.code}.{f.name}?{urlencode(plain)}")
                     for f in DOWNLOADS if f.name in definition.formats]
    html = render_template(
        "report.html", definition=definition, fields=fields, errors=errors,
        other_errors=other_errors(definition, errors), result=result, table=table,
        downloads=downloads, params=_params_as_run(definition, result), chart=chart,
        page_href=lambda n: _href(definition.code, args, page=str(n)),
        **_delivery_parts(definition, args, result))
    return html, status


def _delivery_parts(definition: ReportDefinition, args: dict[str, str],
                    result: Result | None) -> dict[str, Any]:
    """The "Abonnieren" form (the page's current parameters, once they ran) and the link to
    "frühere Ausgaben" of the user's own deliveries of this report."""
    formats = {f: label for f, label in FORMAT_LABELS.items() if f in definition.formats}
    keep = {k: v for k, v in args.items() if k != "page"}
    return {"subscribe": bool(result is not None and formats), "sub_params": keep,
            "formats": formats, "weekdays": WEEKDAYS, "form": None,
            "history": _history(definition.code)}


def _history(code: str) -> bool:
    """Whether the user has deliveries of ``code``; the header's count of new inbox entries
    comes from the same query (``opal.web.delivery.new_entries``)."""
    new, found = inbox.overview(portal().app_db, current_user.user_id, code)
    g.opal_inbox_new = new
    return found


def _params_as_run(definition: ReportDefinition, result: Result | None
                   ) -> list[tuple[str, str]]:
    """Return (label, shown value) per parameter; code values by their German label."""
    return [(value.label, format_param(value)) for value in
            (result.params if result is not None else ())]


def _href(code: str, args: dict[str, str], **changes: str) -> str:
    """Return the report URL with ``args`` changed (a new sort starts on page 1)."""
    merged = {**args, **changes}
    if "sort" in changes:
        merged.pop("page", None)
    return f"/reports/{code}?{urlencode(merged)}"


def download(code: str, fmt: str) -> Any:
    """Send all rows as a file named by the server; 401 anonymous, 429 over the limit."""
    if not current_user.is_authenticated:
        abort(401)
    args = {k: v for k, v in query_args().items() if k != "page"}
    req = RunRequest(code, current_user.actor(), args, fmt, client_address(), download=True)
    ctx = portal()
    runner = run_bundle if code in ctx.catalogue.bundles else run_file
    rendered = runner(ctx, req, gate=_count_download)
    response = Response(_body(rendered), content_type=rendered.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{rendered.filename}"'
    return response


def _count_download() -> None:
    """Count this download; over the per-minute limit it is refused (429, audited)."""
    ctx = portal()
    if not count_download(ctx.app_db, current_user.username, ctx.now_naive(),
                          ctx.config.downloads_per_minute, ctx.config.app_db_schema):
        raise RateLimited(TOO_MANY)


#: a streamed file whose chunks add up to at most this many bytes is sent whole
WHOLE_UP_TO = 64 * 1024


def _body(rendered: Rendered) -> bytes | _Prefetched:
    """The bytes, or for a streamed format its chunks with the first made here, so that a
    small file is done (and any fault a 500) before the status line goes out. A file that ends
    within ``WHOLE_UP_TO`` bytes (the common short list) goes out whole with its length: one
    write, no chunked encoding; its run is audited before the response, as a PDF's is."""
    if isinstance(rendered.content, bytes):
        return rendered.content  # whole: the response keeps its Content-Length
    chunks = rendered.chunks()
    made = [next(chunks, b"")]
    size = len(made[0])
    while size <= WHOLE_UP_TO:
        piece = next(chunks, None)
        if piece is None:  # the end: the stream has audited the run
            return b"".join(made)
        made.append(piece)
        size += len(piece)
    return _Prefetched(b"".join(made), chunks)


class _Prefetched:
    """The first chunk (made before the status line) and the rest; ``close()`` reaches the
    pipeline's stream, so a transfer stopped early is audited."""

    def __init__(self, first: bytes, rest: Iterator[bytes]) -> None:
        self.first, self.rest = first, rest

    def __iter__(self) -> Iterator[bytes]:
        return chain((self.first,), self.rest)

    def close(self) -> None:
        close = getattr(self.rest, "close", None)
        if close is not None:
            close()


@bp.get("/healthz")
def healthz() -> Any:
    """Tell monitoring how old the live data is: 503 when stale past the error threshold."""
    data = live()
    if data is None:
        empty = {"status": "no_data", "as_of": None, "published_at": None, "age_hours": None}
        return jsonify(empty), 503
    status = {"ok": "ok", "warn": "stale_warning", "error": "stale"}[data.level]
    published = data.published_at.strftime("%Y-%m-%dT%H:%M:%SZ") if data.published_at else None
    body: dict[str, Any] = {"status": status, "as_of": data.as_of.isoformat(),
                            "published_at": published, "age_hours": round_hours(data.age_hours)}
    return jsonify(body), 503 if data.level == "error" else 200
