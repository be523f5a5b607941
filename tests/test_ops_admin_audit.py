"""/admin/audit and /admin/audit.csv: admin only, filterable, validated (400 naming every bad
filter, never a 500), paged, exported as safe CSV, and the viewing and exporting audited."""

from __future__ import annotations

import csv
import html as htmllib
import io
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from opal.appdb.schema import audit_log
from opal.audit import record
from opal.clock import fixed_clock
from tests.conftest import FIXED_NOW, make_config
from tests.fixtures.web import Auth, Clock, build_portal, dispose

#: (days before FIXED_NOW, username, role, action, report, outcome, message)
SEEDED = [
    (10, "=HYPERLINK(\"http://x\")", "case_manager", "run", "R02", "ok", "+1 Zeile"),
    (9, "fm.arendt", "case_manager", "run", "R02", "ok", None),
    (8, "fm.arendt", "case_manager", "run", "R03", "denied", "Rolle nicht berechtigt"),
    (5, "tl.nord", "team_lead", "run", "R02", "invalid", "Parameter: n_days"),
    (3, "controlling", "controlling", "run", "R16", "ok", "@SUMME(1)"),
    (2, "tl.nord", "team_lead", "login", None, "ok", None),
    (1, "fm.arendt", "case_manager", "run", "R02", "error", "Fehler (Vorgang abc)"),
]


def seed(engine: Engine) -> None:
    for days, username, role, action, report, outcome, message in SEEDED:
        record(engine, clock=fixed_clock(FIXED_NOW - timedelta(days=days)), username=username,
               role=role, action=action, report=report, outcome=outcome, message=message,
               params={"n_days": "30"} if report else None,
               format="csv" if report else None, client="10.0.0.5")


def table(page: str) -> list[list[str]]:
    """The audit table's body rows as lists of unescaped cell texts."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [[htmllib.unescape(c.strip()) for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
            for r in rows if "Keine Einträge" not in r]


@pytest.fixture
def admin(web_app: Flask) -> FlaskClient:
    seed(web_app.extensions["opal"].app_db)
    client = web_app.test_client()
    assert Auth(client).login("admin").status_code == 302
    return client


def last_entry(app: Flask) -> dict[str, Any]:
    with app.extensions["opal"].app_db.connect() as conn:
        row = conn.execute(select(audit_log).order_by(audit_log.c.id.desc())).mappings().first()
    assert row is not None
    return dict(row)


@pytest.mark.parametrize("key", ["case_manager", "team_lead", "controlling", "no_role"])
def test_audit_view_and_export_are_admin_only(role_clients: dict[str, FlaskClient],
                                              shared_web: Flask, key: str) -> None:
    client = role_clients[key]
    for url in ("/admin/audit", "/admin/audit?action=run", "/admin/audit.csv",
                "/admin/audit.csv?role=admin", "/admin/audit?from=gestern"):
        assert client.get(url).status_code == 403, url
    anonymous = shared_web.test_client()
    for url in ("/admin/audit", "/admin/audit.csv"):
        response = anonymous.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")


#: (query, reports of the rows shown, newest first)
FILTER_CASES = [
    ("username=fm.arendt", ["R02", "R03", "R02"]),
    ("role=team_lead", ["", "R02"]),
    ("report=R02", ["R02", "R02", "R02", "R02"]),
    ("outcome=denied", ["R03"]),
    ("action=login&username=tl.nord", [""]),
    ("from=2026-11-16&to=2026-11-21", ["R16", "R02", "R03"]),  # both days included
    ("username=fm.arendt&outcome=ok&report=R02&role=case_manager&to=2026-11-15", ["R02"]),
    ("username=niemand", []),
]


def test_filters(admin: FlaskClient) -> None:
    for query, expected in FILTER_CASES:
        response = admin.get("/admin/audit?" + query)
        assert response.status_code == 200, response.get_data(True)
        rows = table(response.get_data(True))
        assert [r[4] for r in rows] == expected, query  # column 4 is the report
        assert f"{len(expected)} Einträge" in response.get_data(True)


#: (query, every field the 400 must name)
BAD_CASES = [
    ("role=chef", ["role"]),
    ("outcome=vielleicht&action=delete", ["outcome", "action"]),
    ("from=gestern&to=2026-13-01", ["from", "to"]),
    ("from=2026-11-20&to=2026-11-01", ["to"]),
    ("report=R02;--", ["report"]),
    ("report=" + "R" * 41, ["report"]),
    ("username=a%00b", ["username"]),
    ("username=" + "x" * 65, ["username"]),
    ("username=%E2%80%AEadmin", ["username"]),
    ("page=0", ["page"]), ("page=-1", ["page"]), ("page=zwei", ["page"]),
    ("page=99999999999999999999999", ["page"]), ("page=%D9%A3", ["page"]),
    ("action=run&action=login", ["action"]),
    ("_debug=1&sort=id", ["_debug", "sort"]),
    ("role=chef&from=x&page=0&evil=1", ["role", "from", "page", "evil"]),
]


def test_bad_filters_are_400_naming_every_field(admin: FlaskClient, web_app: Flask) -> None:
    for query, fields in BAD_CASES:
        response = admin.get("/admin/audit?" + query)
        assert response.status_code == 400, query
        page = response.get_data(True)
        for name in fields:
            assert name in page.split("Bitte prüfen Sie die Filter", 1)[1], (query, name)
        assert table(page) == []
        entry = last_entry(web_app)
        assert (entry["action"], entry["outcome"]) == ("admin", "invalid")
        assert entry["message"].startswith("Protokoll: ungültige Filter: ")
        assert set(entry["message"].split(": ", 2)[2].split(", ")) == set(fields), query
        csv_response = admin.get("/admin/audit.csv?" + query)
        assert csv_response.status_code == 400, query
        assert csv_response.mimetype == "text/html"
        assert last_entry(web_app)["message"].startswith("Protokoll-Export: ungültige Filter")


def test_odd_but_valid_filters_never_500(admin: FlaskClient) -> None:
    for query in ("to=9999-12-31", "from=0001-01-01", "from=9999-12-31&to=9999-12-31",
                  "page=100000", "username=%27%3B%20DROP%20TABLE%20audit_log%3B--",
                  "username=M%C3%BCller%20%EF%BC%9D1", "report=R%25", "from="):
        response = admin.get("/admin/audit?" + query)
        assert response.status_code in (200, 400), query
        assert response.status_code == 200 or "report" in query, query


def test_paging_keeps_the_filters(admin: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("opal.web.admin.AUDIT_PAGE", 2)
    first = admin.get("/admin/audit?action=run&role=case_manager").get_data(True)
    assert "4 Einträge, Seite 1 von 2" in first
    assert [r[1] for r in table(first)] == ["fm.arendt", "fm.arendt"]
    link = re.search(r'href="(/admin/audit\?[^"]*page=2[^"]*)"', first)
    assert link is not None
    second_url = htmllib.unescape(link.group(1))
    assert "action=run" in second_url and "role=case_manager" in second_url
    second = admin.get(second_url).get_data(True)
    assert "Seite 2 von 2" in second
    assert [r[1] for r in table(second)] == ["fm.arendt", '=HYPERLINK("http://x")']
    beyond = admin.get("/admin/audit?action=run&role=case_manager&page=7")
    assert beyond.status_code == 200 and table(beyond.get_data(True)) == []


def csv_table(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def test_csv_export_same_filters_safe_cells_and_audited(admin: FlaskClient,
                                                        web_app: Flask) -> None:
    response = admin.get("/admin/audit.csv?role=case_manager&action=run")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="protokoll-\d{8}-\d{6}\.csv"',
                        response.headers["Content-Disposition"])
    assert response.headers["Cache-Control"] == "no-store"
    rows = csv_table(response.data)
    assert rows[0] == ["Nr.", "Zeit (UTC)", "Benutzer", "Rolle", "Aktion", "Bericht", "Format",
                       "Parameter", "Zeilen", "Ergebnis", "Datenstand", "Hinweis", "Client"]
    body = rows[1:]
    assert [r[2] for r in body] == ["'=HYPERLINK(\"http://x\")", "fm.arendt", "fm.arendt",
                                    "fm.arendt"]  # oldest first, formula neutralised
    assert body[0][1] == (FIXED_NOW - timedelta(days=10)).strftime("%d.%m.%Y %H:%M:%S")
    assert body[0][11] == "'+1 Zeile"
    assert [r[9] for r in body] == ["ok", "ok", "denied", "error"]
    for row in body:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    entry = last_entry(web_app)
    assert (entry["action"], entry["outcome"], entry["format"], entry["row_count"],
            entry["message"], entry["username"]) == \
        ("admin", "ok", "csv", 4, "Protokoll-Export", "admin")
    assert '"role": "case_manager"' in entry["params"]
    # the same filters as the page
    page_rows = table(admin.get("/admin/audit?role=case_manager&action=run").get_data(True))
    assert [r[1] for r in page_rows] == [r[2].removeprefix("'") for r in reversed(body)]
    formula = admin.get("/admin/audit.csv?outcome=ok&action=run&role=controlling")
    assert csv_table(formula.data)[1][11] == "'@SUMME(1)"


def test_csv_export_over_the_cap_is_a_clear_400(tmp_path: Path, clock: Clock) -> None:
    cfg, _ = make_config(tmp_path, "sqlite", export_max_rows=3)
    (tmp_path / "var").mkdir()
    app = build_portal(cfg, clock)
    try:
        seed(app.extensions["opal"].app_db)
        client = app.test_client()
        Auth(client).login("admin")
        too_many = client.get("/admin/audit.csv?action=run")
        assert too_many.status_code == 400
        assert "erlaubt sind höchstens 3" in too_many.get_data(True)
        assert "Bitte schränken Sie die Filter ein" in too_many.get_data(True)
        assert last_entry(app)["message"] == "Exportgrenze überschritten"
        assert client.get("/admin/audit.csv?action=run&outcome=ok").status_code == 200
    finally:
        dispose(app)


def test_viewing_the_log_is_itself_logged(admin: FlaskClient, web_app: Flask) -> None:
    admin.get("/admin/audit?outcome=denied")
    entry = last_entry(web_app)
    assert (entry["action"], entry["outcome"], entry["message"]) == ("admin", "ok", "Protokoll")
    assert entry["params"] == '{"outcome": "denied"}'
    assert entry["ts"] == datetime(2026, 11, 24, 6, 12, 3)
