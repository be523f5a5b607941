"""PDF and XLSX as people print them: the § 35 marking on every page of a person list, words
never broken, the Gesamt row set apart (bold; in XLSX outside the autofilter), one page wide."""

from __future__ import annotations

import dataclasses
import io
import re

from openpyxl import load_workbook
from pypdf import PdfReader

from opal.renderers.pdf import PdfRenderer
from opal.renderers.xlsx import XlsxRenderer
from opal.result import ColumnDef, Result
from tests.test_render_pdf import aggregate, pdf_text, person_list

MARK = "Sozialdaten – nur für den dienstlichen Gebrauch (§ 35 SGB I)"


def test_every_page_of_a_person_list_carries_the_marking() -> None:
    body = PdfRenderer().render(person_list(120)).body
    pages = len(PdfReader(io.BytesIO(body)).pages)
    assert pages >= 3
    for page in range(1, pages + 1):
        assert MARK in pdf_text(body, page, mode="-raw"), page


def test_an_aggregate_has_no_marking() -> None:
    body = PdfRenderer().render(aggregate()).body
    assert "§ 35 SGB I" not in pdf_text(body, mode="-raw")


def _plans(n: int) -> Result:
    columns = (ColumnDef("customer_no", "Kundennummer"), ColumnDef("name", "Name"),
               ColumnDef("case_manager", "Fallmanagement"),
               ColumnDef("plan_status", "Planstatus"), ColumnDef("plan_type", "Planart"),
               ColumnDef("legal_basis", "Rechtsgrundlage"), ColumnDef("provider", "Träger"),
               ColumnDef("measure_name", "Maßnahme"), ColumnDef("note", "Bemerkung"))
    rows = [{"customer_no": f"123D{i:06d}", "name": f"Mustermann-Schulze, Maximiliane {i}",
             "case_manager": "Weiß, Karl-Heinz", "plan_status": "UEBERFAELLIG",
             "plan_type": "KOOPERATIONSPLAN" if i % 2 else "EGV", "legal_basis": "P16_FBW",
             "provider": "Bildungszentrum Westmünsterland gGmbH",
             "measure_name": "Aktivierungsmaßnahme Langzeitleistungsbeziehende",
             "note": "Rücksprache Arbeitgeberservice wegen Eingliederungszuschuss"}
            for i in range(n)]
    base = person_list(1)
    return dataclasses.replace(base, code="R03", columns=columns, rows=rows)


def test_pdf_never_breaks_a_word() -> None:
    body = PdfRenderer().render(_plans(30)).body
    text = pdf_text(body, mode="-raw")
    words = set(re.findall(r"[\wÄÖÜäöüß§.-]+", text))
    for word in ("Eingliederungsvereinbarung", "Kooperationsplan", "überfällig",
                 "Westmünsterland", "Langzeitleistungsbeziehende", "Eingliederungszuschuss",
                 "Arbeitgeberservice", "Aktivierungsmaßnahme", "Mustermann-Schulze"):
        assert word in words, word
    assert "KOOPERATIONSPLAN" not in text  # shown by its label


def _xlsx(result: Result) -> object:
    return load_workbook(io.BytesIO(XlsxRenderer().render(result).body))


def test_xlsx_gesamt_bold_outside_the_autofilter_and_one_page_wide() -> None:
    ws = _xlsx(aggregate()).active  # type: ignore[attr-defined]
    rows = list(ws.iter_rows())
    gesamt = next(r for r in rows if r[0].value == "Gesamt")
    header = next(r for r in rows if r[0].value == "Team")
    body = [r for r in rows if r[0].row > header[0].row and r[0].value != "Gesamt"]
    assert all(c.font.b for c in gesamt if c.value is not None)
    assert not any(c.font.b for r in body for c in r if c.value is not None)
    first, last = ws.auto_filter.ref.split(":")
    assert int(re.sub(r"[A-Z]", "", first)) == header[0].row
    assert int(re.sub(r"[A-Z]", "", last)) == body[-1][0].row < gesamt[0].row
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0


def test_xlsx_person_list_filter_covers_every_row() -> None:
    result = person_list(5)
    ws = _xlsx(result).active  # type: ignore[attr-defined]
    last = int(re.sub(r"[A-Z]", "", ws.auto_filter.ref.split(":")[1]))
    assert ws.cell(row=last, column=1).value == result.rows[-1]["customer_no"]
