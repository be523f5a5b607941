"""/admin/targets: admin keeps the year's target per key figure (county or office), validated,
CSRF-protected and audited; R17 shows the office's target, else the county's, else none."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from opal.appdb.schema import audit_log
from tests.fixtures.web import Auth, csrf_of


def _login(app: Flask, key: str) -> FlaskClient:
    client = app.test_client()
    assert Auth(client).login(key).status_code == 302
    return client


def _post(client: FlaskClient, **form: str) -> Any:
    token = csrf_of(client.get("/admin/targets"))
    return client.post("/admin/targets", data={**form, "csrf_token": token})


def _last_audit(app: Flask) -> dict[str, Any]:
    with app.extensions["opal"].app_db.connect() as conn:
        row = conn.execute(select(audit_log).order_by(audit_log.c.id.desc())).mappings().first()
    assert row is not None
    return dict(row)


def _targets(client: FlaskClient, **args: str) -> dict[str, tuple[Any, Any, Any]]:
    query = "&".join(f"{k}={v}" for k, v in {"month": "2026-10", **args}.items())
    response = client.get(f"/reports/R17.json?{query}")
    assert response.status_code == 200, response.get_data(True)
    doc = json.loads(response.get_data(True))
    return {r["figure"]: (r["target"], r["value"], r["target_gap_pp"]) for r in doc["rows"]}


def test_targets_page_is_admin_only(web_app: Flask) -> None:
    for key in ("controlling", "case_manager", "team_lead"):
        assert _login(web_app, key).get("/admin/targets").status_code == 403
    admin = _login(web_app, "admin")
    page = admin.get("/admin/targets")
    assert page.status_code == 200 and "Zielwerte der Kennzahlen" in page.get_data(True)
    assert "Für 2026 sind keine Zielwerte gesetzt." in page.get_data(True)


def test_a_post_without_csrf_token_changes_nothing(web_app: Flask) -> None:
    admin = _login(web_app, "admin")
    response = admin.post("/admin/targets", data={"year": "2026", "figure": "K2",
                                                  "office": "", "value": "40"})
    assert response.status_code == 400
    assert "Für 2026 sind keine Zielwerte gesetzt." in admin.get("/admin/targets").get_data(True)


def test_bad_fields_are_a_400_naming_each(web_app: Flask) -> None:
    admin = _login(web_app, "admin")
    response = _post(admin, year="1900", figure="K9", office="O9", value="viel", extra="x")
    assert response.status_code == 400
    page = response.get_data(True)
    for name in ("year:", "figure:", "office:", "value:", "extra:"):
        assert name in page, name
    entry = _last_audit(web_app)
    assert entry["outcome"] == "invalid" and "extra, figure, office, value, year" in \
        entry["message"]
    for value in ("1000.1", "12.34", "1e3", "=1+1"):
        assert _post(admin, year="2026", figure="K2", office="", value=value).status_code == 400


def test_targets_are_set_audited_and_shown_office_else_county_else_none(web_app: Flask) -> None:
    admin = _login(web_app, "admin")
    assert _post(admin, year="2026", figure="K2", office="", value="45.5").status_code == 200
    assert _last_audit(web_app)["message"] == "Zielwert K2 2026 Kreis: 45.5 %"
    assert _post(admin, year="2026", figure="K2", office="O1", value="50").status_code == 200
    assert _post(admin, year="2026", figure="K3", office="", value="-2,0").status_code == 200
    assert _post(admin, year="2025", figure="K1E2", office="", value="1.0").status_code == 200
    assert _last_audit(web_app)["outcome"] == "ok"
    page = admin.get("/admin/targets?year=2026").get_data(True)
    assert "45,5" in page and "50,0" in page and "-2,0" in page and "Jobcenter Nordstadt" in page

    ctrl = _login(web_app, "controlling")
    county = _targets(ctrl)
    assert {k: v[0] for k, v in county.items() if v[0] is not None} == {"K2": 45.5, "K3": -2.0}
    o1 = _targets(ctrl, office="O1")
    assert {k: v[0] for k, v in o1.items() if v[0] is not None} == {"K2": 50.0, "K3": -2.0}
    o2 = _targets(ctrl, office="O2")
    assert {k: v[0] for k, v in o2.items() if v[0] is not None} == {"K2": 45.5, "K3": -2.0}
    for target, value, gap in (*county.values(), *o1.values()):
        if target is None or value is None:
            assert gap is None
        else:  # value - target from the unrounded value: at most half a tenth off
            assert gap is not None and abs(gap - (value - target)) <= 0.051
    # a month uses the targets of its year
    prev = _targets(ctrl, month="2025-10")
    assert {k: v[0] for k, v in prev.items() if v[0] is not None} == {"K1E2": 1.0}
    # an empty value deletes the office's target: the county's shows again
    assert _post(admin, year="2026", figure="K2", office="O1", value="").status_code == 200
    assert _last_audit(web_app)["message"] == "Zielwert K2 2026 O1: gelöscht"
    assert _targets(ctrl, office="O1")["K2"][0] == 45.5
