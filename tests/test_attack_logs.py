"""Adversarial suite, logs and responses: a whole portal session (logins, reports as case manager
and team lead, downloads, errors) leaves no personal data and no session secret in the logs;
no URL carries a customer number; every response (every report x format, every error code)
has the security headers; error pages show no internals.

Security reference: shared/reference/security.md §6 items 15, 16, 17.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.test import TestResponse

from opal.cli.serve import ACCESS_LOG_FORMAT
from tests.fixtures.attack import (
    CODES,
    CUSTOMER,
    DOWNLOADS,
    LIST_ARGS,
    HmPortal,
    definition,
    persons,
    portal_per_backend,
    runner_for,
    start,
)
from tests.fixtures.web import PASSWORD, csrf_of

HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
           "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
LEAKS = ("Traceback", "sqlalchemy", "sqlite3", "psycopg", "SELECT ", " FROM ", "d_person",
         "d_list_scope", ".py\"", ".py,", "/work/", "site-packages", "Werkzeug", "gunicorn")


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def hm(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
       ) -> Iterator[HmPortal]:
    yield from portal_per_backend(request, tmp_path_factory, "attack-logs",
                                  downloads_per_minute=500)


def personal_strings() -> list[str]:
    """Customer numbers and names of the hand-made persons (names of 5+ characters, so that no
    German word of a log message counts as a hit)."""
    out: list[str] = []
    for no, p in persons().items():
        out += [no, f"{p['last_name']}, {p['first_name']}"]
        out += [n for n in (p["last_name"].strip(), p["first_name"]) if len(n) >= 5]
    return out


def assert_headers(response: TestResponse, what: object) -> None:
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (what, name)
    csp = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, what
    assert "Server" not in response.headers, what


def assert_no_internals(response: TestResponse, what: object) -> None:
    body = response.get_data(True)
    assert not any(leak in body for leak in LEAKS), (what, body[-400:])


# --------------------------------------------------------------------------------------------
# a whole session with every log captured
# --------------------------------------------------------------------------------------------

def session(hm: HmPortal, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    """Drive the portal like users do; return (every URL seen, the session cookie values)."""
    urls: list[str] = []
    cookies: list[str] = []

    def look(response: TestResponse) -> TestResponse:
        html = response.get_data(True) if response.mimetype == "text/html" else ""
        urls.extend(re.findall(r'(?:href|action|src)="([^"]*)"', html))
        if "Location" in response.headers:
            urls.append(response.headers["Location"])
        return response

    for user in ("albers", "lead_t1", "celik"):
        client = hm.client()
        look(client.get("/reports/R02?n_days=1"))  # anonymous: redirect with next=
        token = csrf_of(client.get("/login"))
        look(client.post("/login", data={"username": user, "password": "falsch",
                                         "csrf_token": token}))
        look(client.post("/login", data={"username": user, "password": PASSWORD,
                                         "csrf_token": token}))
        cookie = client.get_cookie("opal_session")
        assert cookie is not None
        cookies.append(cookie.value)
        look(client.get("/reports"))
        for code in CODES:
            args = LIST_ARGS.get(code, {})
            look(client.get(f"/reports/{code}"))
            look(client.get(f"/reports/{code}", query_string=args))
            look(client.get(f"/reports/{code}", query_string={**args, "sort": "name",
                                                              "desc": "1"}))
            for fmt in DOWNLOADS:
                look(client.get(f"/reports/{code}.{fmt}", query_string=args))
        look(client.get("/reports/R02?n_days=abc&bogus=1"))
        look(client.get("/reports/R02.csv?_viewer=S:S03"))
        look(client.get("/reports/R99"))
        look(client.get("/admin/audit"))
        look(client.post("/logout", data={"csrf_token": csrf_of(client.get("/reports"))}))
        look(client.get("/reports/R02.json"))  # after logout: 401
    # an internal error on a download
    from opal.renderers import xlsx

    def explode(*_a: object) -> None:
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr(xlsx.XlsxRenderer, "render", explode)
    client = hm.login("albers")
    assert client.get("/reports/R02.xlsx", query_string={"n_days": "1"}).status_code == 500
    return urls, cookies


def test_no_personal_data_or_session_secret_in_logs_or_urls(
        hm: HmPortal, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.INFO)  # as `opal serve` configures the root logger
    for name in ("opal", "opal.web", "opal.query", "werkzeug", "gunicorn.access",
                 "gunicorn.error"):
        caplog.set_level(logging.DEBUG, logger=name)
    urls, cookies = session(hm, monkeypatch)
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert "incident" in logged  # the 500 above was logged: the capture works
    for needle in personal_strings():
        assert needle not in logged, needle
    for value in cookies:
        assert value not in logged
    assert urls and not [u for u in urls if CUSTOMER.search(u)]
    assert not [u for u in urls if "password" in u.lower() or "opal_session" in u]
    # the audit log records who ran what, never the data
    from opal.audit import recent

    rows = recent(hm.app_db, 10_000)
    assert len(rows) > 100
    text = "\n".join(str(sorted(r.items())) for r in rows)
    for needle in personal_strings():
        assert needle not in text, needle
    for value in cookies + [PASSWORD]:
        assert value not in text


def test_gunicorn_access_log_keeps_query_strings_and_headers_out() -> None:
    """``opal serve`` logs method, path (no query string), status, size, time: no parameters, no
    cookie, no referrer (which would carry a report URL with its parameters)."""
    atoms = set(re.findall(r"%\(([^)]+)\)s", ACCESS_LOG_FORMAT))
    assert atoms, ACCESS_LOG_FORMAT
    assert not atoms & {"r", "q", "f", "a", "u"}, atoms  # request line, query, referer, UA
    assert not [a for a in atoms if a.startswith("{")], atoms  # no header or cookie values
    assert "U" in atoms  # the path only


@pytest.mark.parametrize("fmt", [ACCESS_LOG_FORMAT, '%(h)s "%(r)s" %(a)s %({cookie}i)s'])
def test_the_access_log_line_is_gunicorns_own(fmt: str) -> None:
    """``GunicornLogger`` computes only the atoms ``opal serve``'s format names, and they are
    gunicorn's values (the path as UTF-8); a format naming others gets gunicorn's whole table."""
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config
    from gunicorn.glogging import Logger, SafeAtoms

    from opal.logs import GunicornLogger

    cfg = Config()
    cfg.set("access_log_format", fmt)
    resp = SimpleNamespace(status="200 OK", sent=1234, headers=[("Content-Type", "text/csv")])
    req = SimpleNamespace(headers=[("COOKIE", "opal_session=secret")])
    environ = {"REMOTE_ADDR": "10.0.0.7", "REQUEST_METHOD": "GET",
               "PATH_INFO": "/reports/M\xc3\xbcller", "RAW_URI": "/reports/x?n_days=90",
               "QUERY_STRING": "n_days=90", "SERVER_PROTOCOL": "HTTP/1.1",
               "HTTP_USER_AGENT": "curl"}
    took = timedelta(seconds=1, microseconds=234_567)

    def line(logger: Logger) -> str:
        logger.now = lambda: "[05/Dec/2026:17:00:00 +0000]"  # type: ignore[method-assign]
        return fmt % SafeAtoms(logger.atoms(resp, req, environ, took))

    ours, theirs = line(GunicornLogger(cfg)), line(Logger(cfg))
    assert ours == theirs.replace("M\xc3\xbcller", "Müller")
    if fmt == ACCESS_LOG_FORMAT:
        assert ours == '10.0.0.7 [05/Dec/2026:17:00:00 +0000] "GET /reports/Müller" 200 1234 1234ms'
    else:
        assert ours.endswith(" curl opal_session=secret")  # gunicorn's own table


# --------------------------------------------------------------------------------------------
# headers on every response: every report x format, every error status
# --------------------------------------------------------------------------------------------

def test_headers_on_every_report_and_format(hm: HmPortal) -> None:
    clients = {user: hm.login(user) for user in ("albers", "lead_t1", "controlling")}
    for code in CODES:
        client = clients[runner_for(code)]
        args = LIST_ARGS.get(code, {})
        page = client.get(f"/reports/{code}", query_string=args)
        assert page.status_code == 200
        assert_headers(page, code)
        for fmt in definition(code).formats:
            if fmt == "html":
                continue
            response = client.get(f"/reports/{code}.{fmt}", query_string=args)
            assert response.status_code == 200, (code, fmt)
            assert_headers(response, (code, fmt))
            disposition = response.headers["Content-Disposition"]
            # server-made names only: the CSV's carries title, data date and local time made
            stem = (r"[A-Za-z0-9-]+_Datenstand-2026-11-23_erstellt-2026-11-24_[0-9]{6}_MEZ"
                    if fmt == "csv" else r"2026-11-23_[0-9]{8}T[0-9]{6}Z")
            assert re.fullmatch(rf'attachment; filename="OPAL_{code}_{stem}\.{fmt}"',
                                disposition), disposition


def test_headers_and_no_internals_on_every_error_status(hm: HmPortal, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    anonymous = hm.client()
    albers = hm.login("albers")
    seen: dict[int, list[TestResponse]] = {}

    def keep(response: TestResponse) -> None:
        seen.setdefault(response.status_code, []).append(response)

    for url in ("/reports/R02", "/admin/users"):
        keep(anonymous.get(url))  # 302
    for url in ("/reports/R02.csv", "/reports/R02.json", "/reports/R02.pdf"):
        keep(anonymous.get(url))  # 401
    keep(anonymous.post("/login", data={"username": "x", "password": "y"}))  # 400 (CSRF)
    for url in ("/reports/R02?n_days=x", "/reports/R02.json?n_days=%00",
                "/reports/R02.xlsx?sort=1;--", "/reports/R02.pdf?_viewer=S:S03"):
        keep(albers.get(url))  # 400
    for url in ("/reports/R12", "/reports/R12.pdf", "/reports/R16.json", "/admin/audit"):
        keep(albers.get(url))  # 403
    for url in ("/reports/R99", "/reports/R99.json", "/reports/R02.exe", "/nirgendwo",
                "/reports/..%2f..%2fetc%2fpasswd", "/static/../config.py"):
        keep(albers.get(url))  # 404
    keep(albers.put("/reports/R02"))  # 405
    keep(albers.open("/reports/R02", method="TRACE"))
    keep(albers.delete("/login"))
    keep(albers.post("/reports/R02", data={"csrf_token": csrf_of(albers.get("/reports"))}))
    # 413: a body over MAX_CONTENT_LENGTH
    keep(anonymous.post("/login", data={"username": "x" * 70_000}))
    # 429: over the download limit
    limited = start(tmp_path / "limited", hm.backend, downloads_per_minute=1)
    try:
        client = limited.login("albers")
        keep(client.get("/reports/R02.csv"))
        keep(client.get("/reports/R02.csv"))
        keep(client.get("/reports/R02.json"))
    finally:
        limited.close()
    # 500 with an incident id
    from opal.renderers import pdf

    def explode(*_a: object) -> None:
        raise RuntimeError("SELECT * FROM d_person WHERE customer_no = 'K001' /work/x.py")

    monkeypatch.setattr(pdf.PdfRenderer, "render", explode)
    keep(albers.get("/reports/R02.pdf"))
    keep(albers.get("/reports/R02.pdf?n_days=1"))
    assert {302, 400, 401, 403, 404, 405, 413, 429, 500} <= set(seen), sorted(seen)
    for status, responses in seen.items():
        for response in responses:
            what = (status, response.request.path)
            assert_headers(response, what)
            if status >= 400:
                assert_no_internals(response, what)
                assert not CUSTOMER.search(response.get_data(True)), what
                assert "attachment" not in response.headers.get("Content-Disposition", "")
    for response in seen[500]:
        assert re.search(r"[0-9a-f]{12}", response.get_data(True))  # the incident id


def test_503_without_live_data_has_headers_and_no_internals(tmp_path: Path, backend: str
                                                            ) -> None:
    from opal.users import upsert_user
    from opal.web.app import build_app
    from tests.conftest import drop_pg_schemas, make_config, upgrade_app_db
    from tests.fixtures.web import Clock

    config, prefix = make_config(tmp_path, backend)
    (tmp_path / "var").mkdir()
    upgrade_app_db(config)
    app = build_app(config, clock=Clock())
    try:
        upsert_user(app.extensions["opal"].app_db, "albers", "case_manager", staff_id="S01",
                    password=PASSWORD)
        client = app.test_client()
        token = csrf_of(client.get("/login"))
        client.post("/login", data={"username": "albers", "password": PASSWORD,
                                    "csrf_token": token})
        for url in ("/healthz", "/reports/R02.json", "/reports/R02.csv", "/reports/R01"):
            response = client.get(url)
            # nothing published yet: 503 (the contract), with headers and no internals
            assert response.status_code == 503, (url, response.status_code)
            assert_headers(response, url)
            assert_no_internals(response, url)
    finally:
        app.extensions["opal"].app_db.dispose()
        app.extensions["opal"].case_db.dispose()
        if prefix:
            drop_pg_schemas(prefix)
