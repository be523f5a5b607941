"""German labels in every format (HTML, PDF, XLSX, CSV), codes in JSON; the form and the
parameters as run show labels too (reports.md, "Every output")."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook

from opal import labels
from opal.renderers import get_renderer
from opal.result import ColumnDef, ParamValue, Result
from tests.test_render_pdf import pdf_text

GENERATED = datetime(2026, 11, 24, 6, 12, 3, tzinfo=UTC)


def _result(code: str, columns: tuple[ColumnDef, ...], rows: list[dict[str, Any]],
            params: tuple[ParamValue, ...] = (), kind: str = "list") -> Result:
    return Result(code=code, title=f"Bericht {code}", kind=kind, orientation="landscape",
                  params=params, columns=columns, rows=rows, as_of=date(2026, 11, 23),
                  generated_at=GENERATED, unit="Team Eins (T1)")


R03 = _result("R03", (ColumnDef("customer_no", "Kundennummer"),
                      ColumnDef("plan_status", "Planstatus"), ColumnDef("plan_type", "Planart")),
              [{"customer_no": "K1", "plan_status": "FEHLT", "plan_type": None},
               {"customer_no": "K2", "plan_status": "UEBERFAELLIG",
                "plan_type": "KOOPERATIONSPLAN"},
               {"customer_no": "K3", "plan_status": "FAELLIG", "plan_type": "EGV"}])
R05 = _result("R05", (ColumnDef("customer_no", "Kundennummer"),
                      ColumnDef("legal_basis", "Rechtsgrundlage")),
              [{"customer_no": "K1", "legal_basis": "P16_AVGS"}],
              (ParamValue("n_days", "Zeitraum in Tagen", 30),
               ParamValue("legal_basis", "Rechtsgrundlage", "P16_AVGS")))
R02 = _result("R02", (ColumnDef("customer_no", "Kundennummer"),
                      ColumnDef("profile_group", "Profillage"),
                      ColumnDef("last_contact", "Letzter Kontakt", "date"),
                      ColumnDef("days_since_contact", "Tage seit Kontakt", "int")),
              [{"customer_no": "K1", "profile_group": None, "last_contact": None,
                "days_since_contact": None},
               {"customer_no": "K2", "profile_group": "B", "last_contact": date(2026, 1, 2),
                "days_since_contact": 325}])
R09 = _result("R09", (ColumnDef("team", "Team"), ColumnDef("focus", "Schwerpunkt")),
              [{"team": "Team Eins", "focus": "UE25"}, {"team": "Team Zwei", "focus": "FM"},
               {"team": "Team Drei", "focus": "U25"}], kind="aggregate")
R10 = _result("R10", (ColumnDef("profile_group", "Profillage"), ColumnDef("elb", "eLb", "int")),
              [{"profile_group": "A", "elb": 5}, {"profile_group": None, "elb": 3},
               {"profile_group": "Gesamt", "elb": 8}], kind="aggregate")
R11 = _result("R11", (ColumnDef("wz_section", "Wirtschaftsabschnitt"),
                      ColumnDef("integrations", "Integrationen", "int")),
              [{"wz_section": "N", "integrations": 4}, {"wz_section": None, "integrations": 1},
               {"wz_section": "Gesamt", "integrations": 5}], kind="aggregate")
R12 = _result("R12", (ColumnDef("group", "Gruppe"), ColumnDef("k2", "K2", "int")),
              [{"group": "W", "k2": 1}, {"group": "M", "k2": 2}, {"group": "D", "k2": 3},
               {"group": "Gesamt", "k2": 6}],
              (ParamValue("month", "Berichtsmonat", "2026-10"),
               ParamValue("group_by", "Gliederung", "sex")), kind="aggregate")

#: result -> texts every human format must show, codes JSON must keep
CASES: list[tuple[Result, list[str], list[str]]] = [
    (R03, ["fehlt", "überfällig", "fällig", "Kooperationsplan", "Eingliederungsvereinbarung"],
     ["FEHLT", "UEBERFAELLIG", "FAELLIG", "KOOPERATIONSPLAN", "EGV"]),
    (R05, ["§ 45 SGB III (AVGS)"], ["P16_AVGS"]),
    (R02, ["ohne Profillage", "nie"], []),
    (R09, ["Ü25 (ab 25 Jahre)", "Fallmanagement", "U25 (unter 25 Jahre)"], ["UE25", "FM"]),
    (R10, ["ohne Profillage", "Gesamt"], []),
    (R11, ["N – Sonstige wirtschaftliche Dienstleistungen", "ohne Wirtschaftsabschnitt",
           "Gesamt"], ["N"]),
    (R12, ["weiblich", "männlich", "divers", "Gesamt"], ["W", "M", "D"]),
]
#: parameters as run, by their labels (CSV has no block above its header: not there)
PARAMS_SHOWN = {"R12": ["Gliederung", "Geschlecht", "Berichtsmonat", "Oktober 2026"],
                "R05": ["Rechtsgrundlage"]}


def _texts(fmt: str, result: Result) -> str:
    body = get_renderer(fmt).render(result).body
    if fmt == "xlsx":
        wb = load_workbook(io.BytesIO(body))
        return "\n".join(str(c.value) for row in wb.active.iter_rows() for c in row
                         if c.value is not None)
    if fmt == "pdf":
        return pdf_text(body, mode="-raw")
    return body.decode("utf-8-sig")


@pytest.mark.parametrize("fmt", ["html", "pdf", "xlsx", "csv"])
@pytest.mark.parametrize("result,shown,_codes", CASES, ids=[c[0].code for c in CASES])
def test_every_human_format_shows_labels(fmt: str, result: Result, shown: list[str],
                                         _codes: list[str]) -> None:
    text = _texts(fmt, result)
    for label in shown + (PARAMS_SHOWN.get(result.code, []) if fmt != "csv" else []):
        assert label in text, (fmt, label)
    raw = {"R03": "UEBERFAELLIG", "R05": "P16_AVGS", "R09": "UE25", "R12": "Gliederung: sex"}
    if result.code in raw:
        assert raw[result.code] not in text


@pytest.mark.parametrize("result,_shown,codes", CASES, ids=[c[0].code for c in CASES])
def test_json_keeps_codes(result: Result, _shown: list[str], codes: list[str]) -> None:
    doc = json.loads(get_renderer("json").render(result).body)
    values = {v for row in doc["rows"] for v in row.values()}
    assert set(codes) <= values
    assert None in values or not any(r for r in result.rows if None in r.values())
    assert doc["params"] == result.params_json()  # params keep their codes too


def test_r02_nie_only_where_the_report_gives_it_a_meaning() -> None:
    shows = labels.labeller(R02)
    assert shows["last_contact"](None) == "nie"
    assert "days_since_contact" not in shows  # an empty number stays empty
    assert shows["last_contact"](date(2026, 1, 2)) == date(2026, 1, 2)


def test_unknown_code_and_total_are_shown_as_they_are() -> None:
    assert labels.label("plan_status", "NEU") == "NEU"
    assert labels.label("wz_section", "Gesamt") == "Gesamt"
    assert labels.label("sex", None) is None
    assert labels.month_label("2026-03") == "März 2026"
    assert labels.month_label("2026-13") == "2026-13"


def test_every_export_code_has_a_label() -> None:
    from opal.casedb.schema import EXPORT_TABLES

    codes = {t.name: t for t in EXPORT_TABLES}
    assert codes  # the domains below must cover every code the export allows
    legal = next(c for c in codes["measure_type"].columns if c.name == "legal_basis")
    assert set(legal.codes) == set(labels.LEGAL_BASIS)
    sex = next(c for c in codes["person"].columns if c.name == "sex")
    assert set(sex.codes) == set(labels.SEX)
    focus = next(c for c in codes["team"].columns if c.name == "focus")
    assert set(focus.codes) == set(labels.TEAM_FOCUS)
    plan_type = next(c for c in codes["integration_plan"].columns if c.name == "plan_type")
    assert set(plan_type.codes) == set(labels.PLAN_TYPE)
    assert sorted(labels.WZ_SECTION) == [chr(c) for c in range(ord("A"), ord("U") + 1)]
