"""Drill-through (reports.md): R17's figures open R18 for that figure, office, sex and month;
R12-R14's office rows open R17 for that office and month; a link never leads a role to a report
it may not run (``access.can_run``), and every link it gets runs (200)."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import date
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient

from opal.access import Actor
from opal.catalogue import Catalogue, load_and_check
from opal.result import ColumnDef, ParamValue, Result
from opal.web.drill import links_for
from tests.conftest import FIXED_NOW

M = "2026-10"


def _links(client: FlaskClient, url: str, to: str) -> list[str]:
    page = client.get(url)
    assert page.status_code == 200, url
    return [html.unescape(h) for h in re.findall(r'<td[^>]*><a href="([^"]+)"', page.get_data(True))
            if html.unescape(h).startswith(to)]


def _query(href: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}


def test_r17_figures_open_r18_with_the_same_parameters(
        role_clients: dict[str, FlaskClient]) -> None:
    ctrl = role_clients["controlling"]
    links = _links(ctrl, f"/reports/R17?month={M}&office=O1&sex=W", "/reports/R18")
    assert len(links) == 15
    assert _query(links[5]) == {"figure": "K2", "month": M, "office": "O1", "sex": "W"}
    page = ctrl.get(links[5])
    assert page.status_code == 200 and "<svg" in page.get_data(True)
    assert 'selected>K2 – Integrationsquote' in page.get_data(True)
    county = _links(ctrl, f"/reports/R17?month={M}", "/reports/R18")
    assert _query(county[0]) == {"figure": "K1", "month": M}


def test_the_office_lead_gets_links_without_the_fixed_office(
        role_clients: dict[str, FlaskClient]) -> None:
    lead = role_clients["office_lead"]
    links = _links(lead, f"/reports/R17?month={M}", "/reports/R18")
    assert [_query(h) for h in links][:2] == [{"figure": "K1", "month": M},
                                              {"figure": "K1E1", "month": M}]
    assert lead.get(links[0]).status_code == 200  # a link never leads to a 400 or 403
    for code in ("R13", "R14"):
        rows = _links(lead, f"/reports/{code}?month={M}", "/reports/R17")
        assert [_query(h) for h in rows] == [{"month": M}]
        assert lead.get(rows[0]).status_code == 200
    # R12 for the office lead is grouped by sex: no office rows, no links
    assert _links(lead, f"/reports/R12?month={M}", "/reports/R17") == []


def test_office_rows_open_r17_for_that_office(role_clients: dict[str, FlaskClient]) -> None:
    ctrl = role_clients["controlling"]
    for code in ("R12", "R13", "R14"):
        links = _links(ctrl, f"/reports/{code}?month={M}", "/reports/R17")
        assert [_query(h) for h in links] == [
            {"month": M, "office": "O1"}, {"month": M, "office": "O2"}, {"month": M}], code
    assert ctrl.get(f"/reports/R17?month={M}&office=O2").status_code == 200
    assert _links(ctrl, f"/reports/R12?month={M}&group_by=sex", "/reports/R17") == []


def test_roles_without_the_target_report_get_no_link() -> None:
    """Decided by ``can_run``: with R18 for controlling only, the office lead's R17 links
    nothing; with R17 withheld, R13's office rows link nothing."""
    real = load_and_check()
    defs = dict(real.reports)
    defs["R18"] = replace(defs["R18"], roles=("controlling",))
    narrowed = Catalogue(defs)
    r17 = Result("R17", "T", "aggregate", "landscape", (ParamValue("month", "M", M),),
                 (ColumnDef("figure", "Kennzahl"),), [{"figure": "K2"}], date(2026, 11, 23),
                 FIXED_NOW)
    lead = Actor("ol", "office_lead", office_id="O1")
    ctrl = Actor("c", "controlling")
    none = (lambda: [], lambda: {})
    assert links_for(r17, lead, narrowed, *none) is None
    found = links_for(r17, ctrl, narrowed, *none)
    assert found is not None and found({"figure": "K2"}) == {
        "figure": "/reports/R18?figure=K2&month=2026-10"}
    r13 = replace(r17, code="R13", columns=(ColumnDef("office", "Dienststelle"),))
    assert links_for(r13, Actor("t", "team_lead", team_id="T1"), real, *none) is None
    offices = (lambda: [("O1", "Nord"), ("O2", "Nord"), ("O3", "Süd")], lambda: {})
    links = links_for(r13, ctrl, real, *offices)
    assert links is not None
    assert links({"office": "Nord"}) == {}  # two offices of that name: no guess
    assert links({"office": "Süd"}) == {"office": "/reports/R17?month=2026-10&office=O3"}


def test_r18_bad_parameters_over_http_are_a_400_naming_each(
        role_clients: dict[str, FlaskClient]) -> None:
    ctrl = role_clients["controlling"]
    for months in ("11", "61"):
        bad = ctrl.get(f"/reports/R18.json?months={months}")
        assert bad.status_code == 400 and set(bad.get_json()["errors"]) == {"months"}
    for months in ("12", "60"):
        assert len(ctrl.get(f"/reports/R18.json?months={months}").get_json()["rows"]) == int(
            months)
    both = ctrl.get("/reports/R18.json?figure=K9&months=61")
    assert both.status_code == 400 and set(both.get_json()["errors"]) == {"figure", "months"}
    page = ctrl.get("/reports/R18?figure=K9")
    assert page.status_code == 400 and 'id="e-figure"' in page.get_data(True)
    # access first: a role that may not run R18 is denied whatever it asks
    for key in ("case_manager", "team_lead", "admin"):
        assert role_clients[key].get("/reports/R18.json?figure=K9").status_code == 403
