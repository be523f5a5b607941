"""Pages and downloads: same rows in every format, sorting, paging, headers, errors, health."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.fixtures.exports import base_rows
from tests.fixtures.web import Auth, Clock, build_portal, dispose

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def html_column(html: str, index: int = 0) -> list[str]:
    """Return the text of column ``index`` of the result table's body rows."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)[index] for r in rows]


def csv_rows(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8-sig")
    assert "Datenstand" not in text.partition("\r\n")[0]  # the header row first, no block
    return list(csv.reader(io.StringIO(text), delimiter=";"))


@pytest.mark.parametrize(("key", "code", "query", "first"), [
    ("team_lead", "R02", {"n_days": "30"}, "customer_no"),
    ("case_manager", "R03", {"lead_days": "60", "sort": "name"}, "customer_no"),
    ("controlling", "R16", {}, "office"),
])
def test_same_rows_in_every_format(shared_web: Flask, key: str, code: str,
                                   query: dict[str, str], first: str) -> None:
    client = shared_web.test_client()
    Auth(client).login(key)
    page = client.get(f"/reports/{code}", query_string=query)
    assert page.status_code == 200
    in_html = html_column(page.get_data(True))
    assert in_html, "the hand-made data should list someone"
    as_json = client.get(f"/reports/{code}.json", query_string=query).get_json()
    assert [r[first] for r in as_json["rows"]] == in_html
    table = csv_rows(client.get(f"/reports/{code}.csv", query_string=query).data)
    legend = "* anonymisiert (Werte 1 oder 2 oder daraus errechenbar)"
    assert [r[0] for r in table[1:] if r != [legend]] == in_html
    xlsx = client.get(f"/reports/{code}.xlsx", query_string=query).data
    sheet = load_workbook(io.BytesIO(xlsx))
    values = [c for row in sheet.active.iter_rows(values_only=True) for c in row]
    positions = [values.index(c) for c in in_html]
    assert positions == sorted(positions)
    pdf = client.get(f"/reports/{code}.pdf", query_string=query).data
    assert pdf.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    at = 0
    for cell in in_html:  # every row, in the page's order
        at = text.index(cell, at) + len(cell)


def test_sorting_applies_to_page_and_download(shared_web: Flask) -> None:
    client = shared_web.test_client()
    Auth(client).login("team_lead")
    query = {"n_days": "1", "sort": "customer_no", "desc": "1"}
    page = client.get("/reports/R02", query_string=query).get_data(True)
    numbers = html_column(page)
    assert numbers == sorted(numbers, reverse=True) and len(numbers) > 1
    assert 'aria-sort="descending"' in page
    assert "sort=name" in page  # clickable headers
    rows = client.get("/reports/R02.json", query_string={**query, "page": "9"}).get_json()
    assert [r["customer_no"] for r in rows["rows"]] == numbers
    assert client.get("/reports/R02", query_string={"sort": "password"}).status_code == 400


def test_paging_shows_50_rows_per_page(tmp_path: Path, clock: Clock) -> None:
    from tests.conftest import make_config

    rows = base_rows()
    template = next(p for p in rows["person"] if p["customer_no"] == "P001")
    spell = next(s for s in rows["benefit_spell"] if s["customer_no"] == "P001")
    for i in range(120):
        no = f"Q{i:04d}"
        rows["person"].append({**template, "customer_no": no, "last_name": f"Test{i}"})
        rows["benefit_spell"].append({**spell, "spell_id": f"X{i:04d}", "customer_no": no})
    cfg, _ = make_config(tmp_path, "sqlite")
    (tmp_path / "var").mkdir()
    app = build_portal(cfg, clock, rows)
    client = app.test_client()
    Auth(client).login("case_manager")
    first = client.get("/reports/R02?n_days=30").get_data(True)
    assert len(html_column(first)) == 50 and "Seite 1 von 3" in first
    third = client.get("/reports/R02?n_days=30&page=3").get_data(True)
    total = client.get("/reports/R02.json?n_days=30&page=3").get_json()["row_count"]
    assert len(html_column(third)) == total - 100
    assert client.get("/reports/R02?n_days=30&page=0").status_code == 400
    csv_body = client.get("/reports/R02.csv?n_days=30&page=2").data
    assert len(csv_rows(csv_body)) == total + 1
    dispose(app)


def test_hostile_names_are_shown_as_text(tmp_path: Path, clock: Clock) -> None:
    from tests.conftest import make_config

    rows = base_rows()
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    next(p for p in rows["person"] if p["customer_no"] == "P001")["last_name"] = hostile
    cfg, _ = make_config(tmp_path, "sqlite")
    (tmp_path / "var").mkdir()
    app = build_portal(cfg, clock, rows)
    client = app.test_client()
    Auth(client).login("case_manager")
    html = client.get("/reports/R02?n_days=1").get_data(True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # no inline script (CSP): the only script is the static file
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/opal.js" defer>']
    dispose(app)


def test_german_formats_and_parameters_as_run(shared_web: Flask) -> None:
    client = shared_web.test_client()
    Auth(client).login("team_lead")
    html = client.get("/reports/R02?n_days=30").get_data(True)
    assert "Datenstand" in html and "23.11.2026" in html
    assert re.search(r"\d\d\.\d\d\.\d{4}", html_column(html, 4)[-1] or "01.01.2000")
    assert "Tage ohne Kontakt" in html and ">30<" in html
    assert "/reports/R02.pdf?n_days=30" in html and "/reports/R02.xlsx?n_days=30" in html


def test_form_shows_typed_inputs_and_field_errors(shared_web: Flask) -> None:
    client = shared_web.test_client()
    Auth(client).login("controlling")
    form = client.get("/reports/R15").get_data(True)
    # every parameter has a default: the list shows on opening (interface.md)
    assert 'type="date"' in form and '<table class="list">' in form
    month = client.get("/reports/R11").get_data(True)
    assert 'type="month"' in month and 'value="2026-10"' in month
    Auth(client).logout()
    Auth(client).login("team_lead")
    r02 = client.get("/reports/R02").get_data(True)
    assert 'type="number"' in r02 and 'min="1"' in r02 and 'max="730"' in r02
    assert '<select id="p-profile_group"' in r02
    bad = client.get("/reports/R02?n_days=999")
    assert bad.status_code == 400
    assert 'class="field-error" id="e-n_days"' in bad.get_data(True)
    assert 'value="999"' in bad.get_data(True)  # what was typed stays in the field


def test_security_headers_on_every_kind_of_response(shared_web: Flask) -> None:
    client = shared_web.test_client()
    responses = [client.get("/login"), client.get("/reports"), client.get("/reports/R02.csv"),
                 client.get("/healthz"), client.get("/static/opal.css"),
                 client.get("/nirgendwo"), client.open("/reports", method="TRACE"),
                 client.put("/login"), client.delete("/reports/R02"), client.post("/login")]
    Auth(client).login("team_lead")
    responses += [client.get("/reports"), client.get("/reports/R02?n_days=30"),
                  client.get("/reports/R02.pdf"), client.get("/reports/R02.xlsx"),
                  client.get("/reports/R02.json"), client.get("/reports/R02?n_days=x"),
                  client.get("/reports/R12"), client.get("/admin/users")]
    for response in responses:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (response.request.path, name)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert "Server" not in response.headers
        response.close()
    assert [r.status_code for r in responses[6:9]] == [405, 405, 405]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_csv_and_json_downloads_stream_with_the_same_headers(shared_web: Flask, fmt: str,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    """A file past ``WHOLE_UP_TO`` bytes is sent in chunks as made (no Content-Length), a
    smaller one whole with its length: same bytes and other headers either way."""
    from opal.renderers import get_renderer
    from opal.web import views

    client = shared_web.test_client()
    Auth(client).login("team_lead")
    url = f"/reports/R02.{fmt}?n_days=1"
    whole = client.get(url, buffered=False)  # the hand-made rows: a few hundred bytes
    assert whole.headers["Content-Length"] == str(len(whole.data))
    monkeypatch.setattr(type(get_renderer(fmt)), "batch", 1)
    monkeypatch.setattr(views, "WHOLE_UP_TO", 0)
    streamed = client.get(url, buffered=False)
    assert streamed.status_code == 200 and streamed.is_streamed
    chunks = list(streamed.response)
    streamed.close()
    assert len(chunks) > 2 and b"".join(chunks) == whole.data  # a row a chunk
    assert "Content-Length" not in streamed.headers
    whole.headers.remove("Content-Length")
    assert client.get(url.replace(fmt, "pdf")).headers["Content-Length"]  # whole formats keep it
    assert streamed.headers["Content-Disposition"] == {
        "json": 'attachment; filename="OPAL_R02_2026-11-23_20261124T061203Z.json"',
        "csv": 'attachment; filename="OPAL_R02_Kunden-ohne-Kontakt-seit-N-Tagen_Datenstand-'
               '2026-11-23_erstellt-2026-11-24_071203_MEZ.csv"'}[fmt]
    assert streamed.headers["Content-Type"] == get_renderer(fmt).format.mimetype
    for name, value in SECURITY_HEADERS.items():
        assert streamed.headers.get(name) == value, name
    assert "frame-ancestors 'none'" in streamed.headers["Content-Security-Policy"]
    assert dict(streamed.headers) == dict(whole.headers)
    if fmt == "csv":
        assert whole.data.startswith(b"\xef\xbb\xbfKundennummer;") and b"\r\n" in whole.data
        assert len(csv_rows(whole.data)) > 2


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_small_download_is_audited_before_it_is_sent(shared_web: Flask, fmt: str) -> None:
    """A file that ends within ``WHOLE_UP_TO`` bytes is made and its run audited before the
    response goes to the server, as a PDF's is."""
    from opal.audit import recent

    client = shared_web.test_client()
    Auth(client).login("team_lead")
    response = client.get(f"/reports/R02.{fmt}?n_days=1", buffered=False)
    entry = recent(shared_web.extensions["opal"].app_db, 1)[0]  # nothing read from it yet
    assert (entry["report"], entry["format"], entry["outcome"]) == ("R02", fmt, "ok")
    assert response.status_code == 200 and "Content-Length" in response.headers
    response.close()


@pytest.mark.parametrize("whole_up_to", [64 * 1024, 0])
def test_a_failed_audit_does_not_serve_the_file(web_app: Flask, whole_up_to: int,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """When the run's audit row cannot be written, the user gets a 500 (a small file) or a
    file cut short before its last chunk (a streamed one): never the complete file."""
    from opal import pipeline
    from opal.renderers.csv import CsvRenderer
    from opal.web import views

    client = web_app.test_client()
    Auth(client).login("team_lead")
    url = "/reports/R02.csv?n_days=1"
    complete = client.get(url).data
    real = pipeline.record

    def fail_ok(*args: object, **kwargs: object) -> None:
        if kwargs.get("outcome") == "ok":
            raise RuntimeError("audit log unwritable")
        real(*args, **kwargs)

    monkeypatch.setattr("opal.pipeline.record", fail_ok)
    monkeypatch.setattr(CsvRenderer, "batch", 1)
    monkeypatch.setattr(views, "WHOLE_UP_TO", whole_up_to)
    response = client.get(url, buffered=False)
    if whole_up_to:
        assert response.status_code == 500
        assert b"Kundennummer" not in response.get_data()
        return
    assert response.status_code == 200 and "Content-Length" not in response.headers
    sent = []
    with pytest.raises(RuntimeError, match="audit log unwritable"):
        for chunk in response.response:
            sent.append(chunk)
    response.close()
    assert complete.startswith(b"".join(sent)) and len(b"".join(sent)) < len(complete)


def test_download_limit_answers_429(tmp_path: Path, clock: Clock) -> None:
    from tests.conftest import make_config

    cfg, _ = make_config(tmp_path, "sqlite", downloads_per_minute=3)
    (tmp_path / "var").mkdir()
    app = build_portal(cfg, clock)
    client = app.test_client()
    Auth(client).login("case_manager")
    assert [client.get("/reports/R02.csv").status_code for _ in range(3)] == [200] * 3
    limited = client.get("/reports/R02.json")
    assert limited.status_code == 429
    assert "zu viele Dateien" in limited.get_json()["error"]
    assert "eine Minute" in client.get("/reports/R02.pdf").get_data(True)
    assert client.get("/reports/R02?n_days=5").status_code == 200  # pages are not downloads
    clock.advance(seconds=61)
    assert client.get("/reports/R02.csv").status_code == 200
    dispose(app)


@pytest.mark.parametrize(("age_hours", "status", "state", "banner"), [
    (4, 200, "ok", None), (30, 200, "stale_warning", "älter als üblich"),
    (60, 503, "stale", "veraltet")])
def test_healthz_and_banner_follow_the_data_age(web_app: Flask, clock: Clock, age_hours: int,
                                                status: int, state: str,
                                                banner: str | None) -> None:
    from datetime import UTC, datetime

    clock.now = datetime(2026, 11, 24, 1, 30, tzinfo=UTC) + timedelta(hours=age_hours)
    client = web_app.test_client()
    health = client.get("/healthz")
    assert health.status_code == status
    body = health.get_json()
    assert body == {"status": state, "as_of": "2026-11-23", "age_hours": float(age_hours),
                    "published_at": body["published_at"]}
    assert re.fullmatch(r"2026-11-24T\d\d:\d\d:\d\dZ", body["published_at"])
    Auth(client).login("case_manager")
    html = client.get("/reports").get_data(True)
    assert "Datenstand: <strong>23.11.2026</strong>" in html
    if banner:
        assert banner in html
    else:
        assert 'class="banner' not in html


def test_healthz_without_live_data_is_503(tmp_path: Path, clock: Clock) -> None:
    from opal.web.app import build_app
    from tests.conftest import make_config, upgrade_app_db

    cfg, _ = make_config(tmp_path, "sqlite")
    upgrade_app_db(cfg)
    app = build_app(cfg, clock=clock)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["status"] == "no_data"
    assert "keine Daten eingespielt" in app.test_client().get("/login").get_data(True)
    app.extensions["opal"].app_db.dispose()


def test_internal_error_shows_an_incident_id_and_no_internals(web_app: Flask,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture
                                                              ) -> None:
    from opal.renderers import csv as csv_renderer

    def explode(*_a: object) -> None:
        raise RuntimeError("SELECT secret FROM d_person -- boom")

    monkeypatch.setattr(csv_renderer.CsvRenderer, "render", explode)
    client = web_app.test_client()
    Auth(client).login("case_manager")
    response = client.get("/reports/R02.csv")
    assert response.status_code == 500
    html = response.get_data(True)
    assert "SELECT" not in html and "Traceback" not in html and "boom" not in html
    incident = re.search(r"Vorgangsnummer: <code>([0-9a-f]{12})</code>", html)
    assert incident and incident.group(1) in caplog.text
    assert response.headers["Cache-Control"] == "no-store"


def test_admin_pages_show_users_audit_and_runs(web_app: Flask) -> None:
    client = web_app.test_client()
    Auth(client).login("admin")
    assert client.get("/reports").status_code == 200
    users_page = client.get("/admin/users").get_data(True)
    assert "fm.arendt" in users_page and "Fallmanagement" in users_page  # roles in German
    audit = client.get("/admin/audit?action=login&outcome=ok").get_data(True)
    assert "admin" in audit and "Anmeldung" in audit and "erfolgreich" in audit
    assert client.get("/admin/audit?from=gestern").status_code == 400
    assert "Benutzerliste" in client.get("/admin/audit?action=admin").get_data(True)
    runs = client.get("/admin/refresh").get_data(True)
    assert "erfolgreich" in runs and "23.11.2026" in runs
    assert "Müller" not in users_page + audit + runs  # no case data for the admin
    assert client.get("/reports/R02").status_code == 403
    assert client.get("/reports/R16.json").status_code == 403
