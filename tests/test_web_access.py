"""URL x role x status: every report, every format, every role (flaskr/SecureDrop style grid)."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient

from opal.catalogue import load_catalogue
from tests.fixtures.web import ROLE_KEYS

CATALOGUE = load_catalogue()
CODES = [d.code for d in CATALOGUE]
DOWNLOADS = ("pdf", "xlsx", "csv", "json")
ADMIN_URLS = ("/admin/users", "/admin/audit", "/admin/refresh")


#: interface.md's role table, stated for the real catalogue: who may run each report
#: (lists: case managers and team leads; aggregates also controlling and the office lead, who
#: never reaches a person list; admin and no role never)
RUNS: dict[str, set[str]] = {
    "R01": {"case_manager", "team_lead", "office_lead"},
    **{code: {"case_manager", "team_lead"}
       for code in ("R02", "R03", "R04", "R05", "R06", "R07", "R08")},
    **{code: {"team_lead", "office_lead", "controlling"} for code in ("R09", "R10", "R11")},
    **{code: {"controlling", "office_lead"} for code in ("R12", "R13", "R14", "R16")},
    "R15": {"controlling"},
    **{code: {"controlling", "office_lead"} for code in ("R17", "R18")},
}


def test_the_grid_covers_the_whole_catalogue() -> None:
    assert set(RUNS) == set(CODES)


def expected_status(code: str, key: str) -> int:
    return 200 if key in RUNS[code] else 403


@pytest.mark.parametrize("code", CODES)
def test_anonymous_page_redirects_and_download_is_401(shared_web: Flask, code: str) -> None:
    client = shared_web.test_client()
    page = client.get(f"/reports/{code}")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/login?next=/reports/")
    for fmt in DOWNLOADS:
        response = client.get(f"/reports/{code}.{fmt}")
        assert response.status_code == 401, fmt
        assert "attachment" not in response.headers.get("Content-Disposition", "")
    body = client.get(f"/reports/{code}.json").get_json()
    assert body["ok"] is False and body["status"] == 401


@pytest.mark.parametrize("key", ROLE_KEYS)
@pytest.mark.parametrize("code", CODES)
def test_role_grid(role_clients: dict[str, FlaskClient], code: str, key: str) -> None:
    client = role_clients[key]
    want = expected_status(code, key)
    definition = CATALOGUE.get(code)
    assert definition is not None
    page = client.get(f"/reports/{code}")
    assert page.status_code == want, page.get_data(True)[-500:]
    if want == 200 and definition.params:
        assert 'name="' + definition.params[0].name + '"' in page.get_data(True)
    for fmt in DOWNLOADS:
        response = client.get(f"/reports/{code}.{fmt}")
        assert fmt in definition.formats  # every report offers every download (a format it
        # does not offer: tests/test_pipeline.py::test_a_format_the_report_does_not_offer)
        assert response.status_code == want, (fmt, response.get_data(True)[:300])
        if want == 200:
            disposition = response.headers["Content-Disposition"]
            assert disposition.startswith(f'attachment; filename="OPAL_{code}_')
            assert "2026-11-23" in disposition  # the data date is in every file name
            assert disposition.endswith(f'.{fmt}"')


@pytest.mark.parametrize("key", ROLE_KEYS)
def test_catalogue_lists_exactly_the_runnable_reports(role_clients: dict[str, FlaskClient],
                                                      key: str) -> None:
    html = role_clients[key].get("/reports").get_data(True)
    for code in CODES:
        linked = f'href="/reports/{code}"' in html
        assert linked == (expected_status(code, key) == 200), code


@pytest.mark.parametrize("key", ROLE_KEYS)
def test_unknown_report_is_404(role_clients: dict[str, FlaskClient], key: str) -> None:
    client = role_clients[key]
    assert client.get("/reports/R99").status_code == 404
    assert client.get("/reports/R99.csv").status_code == 404
    body = client.get("/reports/R99.json")
    assert body.status_code == 404 and body.get_json()["status"] == 404
    assert client.get("/reports/R02.exe").status_code == 404
    assert client.get("/nirgendwo").status_code == 404


@pytest.mark.parametrize("key", [k for k in ROLE_KEYS if k != "admin"])
@pytest.mark.parametrize("url", ADMIN_URLS)
def test_admin_pages_are_admin_only(role_clients: dict[str, FlaskClient], shared_web: Flask,
                                    key: str, url: str) -> None:
    assert role_clients[key].get(url).status_code == 403
    assert shared_web.test_client().get(url).status_code == 302
    assert role_clients["admin"].get(url).status_code == 200


def _runner_for(code: str) -> str:
    return next(k for k in ROLE_KEYS if expected_status(code, k) == 200)


@pytest.mark.parametrize("code", [d.code for d in CATALOGUE if d.params])
def test_bad_parameters_are_400_naming_every_field(role_clients: dict[str, FlaskClient],
                                                   code: str) -> None:
    definition = CATALOGUE.get(code)
    assert definition is not None
    client = role_clients[_runner_for(code)]
    args = {p.name: "<b>kaputt</b>" for p in definition.params}
    args.update({"_viewer": "S:S03", "bogus": "1", "sort": "1;--"})
    page = client.get(f"/reports/{code}", query_string=args)
    assert page.status_code == 400
    html = page.get_data(True)
    assert "<b>kaputt</b>" not in html
    for p in definition.params:  # each field's own error beside its input; a parameter the
        # role may not set (an office lead's fixed office) is listed by name
        assert f'id="e-{p.name}"' in html or f"<code>{p.name}</code>" in html, p.name
    for name in ("bogus", "_viewer", "sort"):  # the others are listed by name
        assert f"<code>{name}</code>" in html, name
    download = client.get(f"/reports/{code}.json", query_string=args)
    assert download.status_code == 400
    errors = json.loads(download.get_data(True))["errors"]
    assert {p.name for p in definition.params} | {"_viewer", "bogus", "sort"} <= set(errors)


def test_wrong_role_is_403_whatever_the_parameters(role_clients: dict[str, FlaskClient]) -> None:
    response = role_clients["controlling"].get("/reports/R02.csv", query_string={"n_days": "x"})
    assert response.status_code == 403


def test_office_lead_form_withholds_the_office_grouping(
        role_clients: dict[str, FlaskClient]) -> None:
    """R12 for an office lead: no `office` grouping offered, asking for it is a 400 naming it;
    their R01 (the office's case managers, counts only) links to no person list."""
    client = role_clients["office_lead"]
    page = client.get("/reports/R12").get_data(True)
    assert 'name="group_by"' in page and 'value="sex"' in page
    assert 'value="office"' not in page
    controlling = role_clients["controlling"].get("/reports/R12").get_data(True)
    assert 'value="office"' in controlling  # the county keeps it
    bad = client.get("/reports/R12.json", query_string={"group_by": "office"})
    assert bad.status_code == 400 and set(bad.get_json()["errors"]) == {"group_by"}
    r01 = client.get("/reports/R01")
    assert r01.status_code == 200
    assert "/reports/R02" not in r01.get_data(True) and "<tfoot" not in r01.get_data(True)
    assert "case_manager=" not in r01.get_data(True)  # no drill-through: no list is theirs
    assert client.get("/reports", query_string={"case_manager": "S01"}).status_code == 400
    # the team lead keeps the sum row of R01 (no disclosure control there) and the links
    lead = role_clients["team_lead"].get("/reports/R01").get_data(True)
    assert "<tfoot" in lead and "/reports?case_manager=S01" in lead
    for code in ("R02", "R05", "R08"):
        assert client.get(f"/reports/{code}?case_manager=S01").status_code == 403
