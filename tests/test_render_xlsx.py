"""XLSX renderer: read the workbook back with openpyxl and the raw sheet XML."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from opal.renderers import get_renderer
from opal.renderers.xlsx import MAX_WIDTH, MIN_WIDTH, XlsxRenderer
from opal.result import ColumnDef, Result
from tests.test_render_pdf import HOSTILE, aggregate, person_list

#: the person list's title block: title, unit, 3 parameters, Datenstand, Erstellt
HEADER_ROW = 9


def render(result: Result) -> bytes:
    return XlsxRenderer().render(result).body


def sheet(body: bytes) -> Worksheet:
    ws = openpyxl.load_workbook(io.BytesIO(body)).active
    assert isinstance(ws, Worksheet)
    return ws


def sheet_xml(body: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        return zf.read("xl/worksheets/sheet1.xml").decode("utf-8")


def test_registered_under_xlsx() -> None:
    renderer = get_renderer("xlsx")
    out = renderer.render(person_list(2))
    assert renderer.format.mimetype == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert out.filename == "OPAL_R02_2026-11-23_20261124T061203Z.xlsx"
    assert out.body.startswith(b"PK")


def test_no_formula_anywhere() -> None:
    result = person_list()
    result.rows[20]["name"] = "#N/A"  # an error literal must stay text, too
    body = render(result)
    assert "<f>" not in sheet_xml(body) and "<f " not in sheet_xml(body)
    ws = sheet(body)
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
            assert cell.data_type != "e", cell.coordinate


def test_hostile_names_are_neutralised_text() -> None:
    ws = sheet(render(person_list()))
    names = [ws.cell(row=HEADER_ROW + 1 + i, column=2) for i in range(len(HOSTILE))]
    assert all(c.data_type == "s" for c in names)
    values = [c.value for c in names]
    assert values[:6] == ["'=1+1", "'+49 170 1234567", "'-x", "'@SUM(A1)", "'\tTab, Tobias",
                          "'\uff1dHYPERLINK(1)"]
    assert values[6:] == HOSTILE[6:]  # markup, quotes, umlauts: verbatim


def test_title_block_and_header() -> None:
    ws = sheet(render(person_list()))
    assert ws.title == "R02"
    assert ws["A1"].value == "Kunden ohne Kontakt seit N Tagen" and ws["A1"].font.b
    assert ws["A2"].value == "Fallbestand Weiß, Karl-Heinz"
    assert (ws["A3"].value, ws["B3"].value) == ("Tage ohne Kontakt", "90")
    assert (ws["A4"].value, ws["B4"].value) == ("Stichtag", "01.10.2026")
    assert (ws["A5"].value, ws["B5"].value) == ("Profillage", "alle")
    assert ws["A6"].value == "Datenstand"
    assert ws["B6"].value == datetime(2026, 11, 23) and ws["B6"].number_format == "DD.MM.YYYY"
    assert (ws["A7"].value, ws["B7"].value) == ("Erstellt", "24.11.2026 07:12 MEZ")
    assert all(c.value is None for c in ws[HEADER_ROW - 1])  # the empty row
    header = [c.value for c in ws[HEADER_ROW]]
    assert header == [c.label for c in person_list().columns]
    assert all(c.font.b for c in ws[HEADER_ROW])
    assert ws.freeze_panes == f"A{HEADER_ROW + 1}"
    assert ws.auto_filter.ref == f"A{HEADER_ROW}:G{HEADER_ROW + 40}"


def test_typed_cells_with_german_formats() -> None:
    ws = sheet(render(person_list()))
    first = HEADER_ROW + 1
    date_cell, days, elb = ws.cell(first, 4), ws.cell(first, 5), ws.cell(first, 6)
    assert date_cell.value == datetime(2026, 11, 23) and date_cell.number_format == "DD.MM.YYYY"
    assert days.value == 1000 and days.data_type == "n" and days.number_format == "#,##0"
    assert (elb.value, elb.data_type) == ("ja", "s")
    assert ws.cell(first + 1, 6).value == "nein"
    assert ws.cell(first + 1, 7).value is None  # None stays empty


def test_suppressed_and_decimals() -> None:
    ws = sheet(render(aggregate()))
    header = next(r for r in range(1, 12) if ws.cell(r, 1).value == "Team")
    nord, sued = header + 1, header + 2
    assert ws.cell(nord, 2).value == 12345 and ws.cell(nord, 2).number_format == "#,##0"
    rate = ws.cell(nord, 3)
    assert rate.value == pytest.approx(1234.5) and rate.number_format == "#,##0.0"
    assert ws.cell(nord, 4).number_format == "#,##0.00"
    assert ws.cell(sued, 4).value == pytest.approx(-7.25)
    assert (ws.cell(sued, 2).value, ws.cell(sued, 2).data_type) == ("*", "s")
    assert ws.cell(sued, 3).value == "*"
    assert ws.cell(header + 3, 4).value is None
    assert ws["B4"].value == "ja"  # bool parameter


def test_no_user_name_and_metadata() -> None:
    body = render(person_list())
    wb = openpyxl.load_workbook(io.BytesIO(body))
    assert wb.properties.title == "Kunden ohne Kontakt seit N Tagen"
    assert wb.properties.creator == "OPAL"
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        for name in zf.namelist():
            assert b"kweiss" not in zf.read(name), name


def test_column_widths_fit_and_are_bounded() -> None:
    ws = sheet(render(person_list()))
    widths = {k: d.width for k, d in ws.column_dimensions.items()}
    assert all(MIN_WIDTH <= w <= MAX_WIDTH for w in widths.values())
    assert widths["G"] == MAX_WIDTH  # the long note, bounded
    assert widths["D"] < widths["B"]  # a date column is narrower than the names


def test_empty_result_and_control_characters() -> None:
    ws = sheet(render(person_list(0)))
    assert [c.value for c in ws[HEADER_ROW]][0] == "Kundennummer"
    assert ws.max_row == HEADER_ROW
    result = person_list(1)
    result.rows[0]["name"] = "Bell\x07 Name\x00"
    assert sheet(render(result)).cell(HEADER_ROW + 1, 2).value == "Bell Name"


def test_many_rows_stream() -> None:
    columns = (ColumnDef("n", "Nummer", "int"), ColumnDef("t", "Text"))
    rows = [{"n": i, "t": f"={i}"} for i in range(3000)]
    base = aggregate()
    result = Result(**{**base.__dict__, "columns": columns, "rows": rows})
    body = render(result)
    assert "<f>" not in sheet_xml(body)
    ws = sheet(body)
    assert ws.cell(ws.max_row, 1).value == 2999
    assert ws.cell(ws.max_row, 2).value == "'=2999"
