"""PDF renderer: read the PDF back (pdftotext, pypdf); check what readers and attackers see."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PdfReader

from opal.renderers import get_renderer
from opal.renderers.pdf import PdfRenderer, fit_widths, paginate
from opal.result import SUPPRESSED, ColumnDef, ParamValue, Result

IN_CI = os.environ.get("CI", "").lower() == "true"
GENERATED = datetime(2026, 11, 24, 6, 12, 3, tzinfo=UTC)

#: names that try to become formulas, markup or links
HOSTILE = [
    "=1+1", "+49 170 1234567", "-x", "@SUM(A1)", "\tTab, Tobias", "\uff1dHYPERLINK(1)",
    '<a href="http://evil">x</a>', "<b", "Schmidt & Söhne", 'Er sagte "hallo"',
    "Müller, Jürgen", "Groß, Änne", "O'Neill, Siobhán",
]

LIST_COLUMNS = (
    ColumnDef("customer_no", "Kundennummer"),
    ColumnDef("name", "Name"),
    ColumnDef("case_manager", "Fallmanager/in"),
    ColumnDef("last_contact", "Letzter Kontakt", "date"),
    ColumnDef("days_since_contact", "Tage seit Kontakt", "int", total=True),
    ColumnDef("elb", "ELB im Haushalt", "bool"),
    ColumnDef("note", "Bemerkung"),
)


def person_list(n: int = 40, *, username: str = "kweiss") -> Result:
    """Return a named list whose first rows carry the hostile names."""
    rows: list[dict[str, Any]] = []
    for i in range(n):
        rows.append({
            "customer_no": f"123D{i:06d}",
            "name": HOSTILE[i] if i < len(HOSTILE) else f"Nachname {i}, Vorname",
            "case_manager": "Weiß, Karl-Heinz",
            "last_contact": date(2026, 11, 23) if i == 0 else date(2026, 1 + i % 12, 1 + i % 28),
            "days_since_contact": 1000 + i,
            "elb": i % 2 == 0,
            "note": None if i % 5 else "Bemerkung mit Umlauten äöü und ß " * 3,
        })
    return Result(
        code="R02", title="Kunden ohne Kontakt seit N Tagen", kind="list",
        orientation="landscape",
        params=(ParamValue("n_days", "Tage ohne Kontakt", 90),
                ParamValue("from_date", "Stichtag", "2026-10-01"),
                ParamValue("profile_group", "Profillage", None)),
        columns=LIST_COLUMNS, rows=rows, as_of=date(2026, 11, 23), generated_at=GENERATED,
        unit="Fallbestand Weiß, Karl-Heinz", username=username,
    )


def aggregate() -> Result:
    """Return a controlling aggregate with a suppressed cell and one-decimal rates."""
    columns = (
        ColumnDef("team", "Team"),
        ColumnDef("elb", "ELB", "int", count=True),
        ColumnDef("rate", "Quote in %", "decimal", decimals=1),
        ColumnDef("cost", "Kosten", "decimal", decimals=2),
    )
    rows = [
        {"team": "Team Nord", "elb": 12345, "rate": Decimal("1234.5"), "cost": Decimal("0.50")},
        {"team": "Team Süd", "elb": SUPPRESSED, "rate": SUPPRESSED, "cost": Decimal("-7.25")},
        {"team": "Gesamt", "elb": 12347, "rate": Decimal("12.0"), "cost": None},
    ]
    return Result(
        code="R10", title="Kennzahlen je Team", kind="aggregate", orientation="portrait",
        params=(ParamValue("month", "Monat", "2026-10"),
                ParamValue("only_open", "Nur offen", True)),
        columns=columns, rows=rows, as_of=date(2026, 11, 23), generated_at=GENERATED,
        suppressed_cells=2, unit="Kreis gesamt", username="controller1",
    )


def render(result: Result) -> bytes:
    return PdfRenderer().render(result).body


def pdf_text(body: bytes, page: int | None = None, *, mode: str = "-layout") -> str:
    """Return the text of the PDF (or of one page) via pdftotext (``-raw``: cells stay whole)."""
    if shutil.which("pdftotext") is None:
        if IN_CI:
            pytest.fail("pdftotext (poppler-utils) is missing and CI=true")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    args = ["pdftotext", mode]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    done = subprocess.run([*args, "-", "-"], input=body, capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def squash(text: str) -> str:
    """Drop all whitespace: wrapped cells and layout columns then compare as one string."""
    return re.sub(r"\s+", "", text)


def test_registered_under_pdf() -> None:
    renderer = get_renderer("pdf")
    out = renderer.render(person_list(3))
    assert renderer.format.mimetype == "application/pdf"
    assert out.filename == "OPAL_R02_2026-11-23_20261124T061203Z.pdf"
    assert out.body.startswith(b"%PDF-")


def test_header_footer_and_german_formats() -> None:
    body = render(person_list())
    text = pdf_text(body, page=1)
    assert "Kunden ohne Kontakt seit N Tagen" in text
    assert "Fallbestand Weiß, Karl-Heinz" in text
    assert "Tage ohne Kontakt: 90" in text
    assert "Stichtag: 01.10.2026" in text
    assert "Profillage: alle" in text
    assert "Datenstand: 23.11.2026" in text
    assert "Erstellt: 24.11.2026 07:12 MEZ" in text
    assert "23.11.2026" in text.split("Letzter")[1]  # a date cell, not only the footer
    assert "1.000" in text and "1.012" in text  # thousands dot
    assert " ja " in text and " nein " in text
    assert "Bemerkung mit Umlauten äöü und ß" in text


def test_hostile_names_print_as_literal_text() -> None:
    body = render(person_list())
    flat = squash(pdf_text(body, mode="-raw"))
    for name in HOSTILE:
        expected = squash(name.replace("\uff1d", "="))  # the font lacks ＝: NFKC form
        assert expected in flat, name
    assert "\x00" not in pdf_text(body)


def test_no_links_and_no_user_name() -> None:
    body = render(person_list())
    reader = PdfReader(io.BytesIO(body))
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            assert "/URI" not in str(annot.get_object())
    assert b"/URI" not in body
    assert b"kweiss" not in body
    assert "kweiss" not in pdf_text(body)
    meta = reader.metadata
    assert meta is not None
    assert meta.title == "Kunden ohne Kontakt seit N Tagen"
    assert meta.author == "OPAL"
    assert "kweiss" not in str(dict(meta))


def test_page_numbers_and_repeated_header_on_a_long_list() -> None:
    body = render(person_list(150))
    pages = len(PdfReader(io.BytesIO(body)).pages)
    assert pages >= 3
    for number in range(1, pages + 1):
        text = pdf_text(body, page=number)
        assert f"Seite {number} von {pages}" in text
        assert "Kundennummer" in text and "Letzter" in text  # the table header row
        assert "Datenstand: 23.11.2026" in text
    first_rows = squash(pdf_text(body, page=2))
    assert "123D" in first_rows  # page 2 carries data rows under its header
    last = pdf_text(body, page=pages)
    assert "Summe" in last  # the sum row of the total column ends the list
    assert f"{sum(1000 + i for i in range(150)):,}".replace(",", ".") in last


def test_suppressed_and_decimals_in_an_aggregate() -> None:
    body = render(aggregate())
    text = pdf_text(body)
    assert "1.234,5" in text
    assert "12.345" in text
    assert "0,50" in text and "-7,25" in text
    assert "12,0" in text
    assert re.search(r"Team Süd\s+\*\s+\*", text)
    assert "Monat: Oktober 2026" in text and "Nur offen: ja" in text
    assert "Summe" not in text  # sums belong to lists only
    assert "controller1" not in text and b"controller1" not in body
    page = PdfReader(io.BytesIO(body)).pages[0]
    assert page.mediabox.width < page.mediabox.height  # portrait as declared
    bold = []
    page.extract_text(visitor_text=lambda t, cm, tm, font, size: bold.append(
        (t.strip(), "Bold" in str((font or {}).get("/BaseFont")))))
    assert ("Gesamt", True) in bold and ("Team Nord", False) in bold


def test_empty_result_says_so() -> None:
    empty = person_list(0)
    body = render(empty)
    text = pdf_text(body)
    assert "Keine Einträge." in text
    assert "Seite 1 von 1" in text
    assert "Kundennummer" in text


def test_orientation() -> None:
    wide = PdfReader(io.BytesIO(render(person_list(2)))).pages[0]
    assert wide.mediabox.width > wide.mediabox.height  # declared landscape
    many = tuple(ColumnDef(f"c{i}", f"Spalte {i}", "int") for i in range(12))
    result = Result(
        code="R99", title="Breit", kind="aggregate", orientation="portrait", params=(),
        columns=many, rows=[{f"c{i}": i for i in range(12)}], as_of=date(2026, 11, 23),
        generated_at=GENERATED,
    )
    page = PdfReader(io.BytesIO(render(result))).pages[0]
    assert page.mediabox.width > page.mediabox.height  # many columns: landscape anyway


def test_fonts_are_embedded_dejavu_only() -> None:
    body = render(person_list(5))
    reader = PdfReader(io.BytesIO(body))
    names = set()
    for page in reader.pages:
        fonts = page["/Resources"]["/Font"]
        for ref in fonts.values():
            font = ref.get_object()
            names.add(str(font["/BaseFont"]))
            assert "/FontFile2" in font["/FontDescriptor"]  # embedded TrueType subset
    assert names and all("DejaVuSans" in n for n in names)


def test_text_longer_than_a_page_is_cut_not_fatal() -> None:
    result = person_list(2)
    result.rows[1]["note"] = "Wort " * 6000
    body = render(result)
    assert "…" in pdf_text(body)


def test_markup_cannot_break_rendering_in_header() -> None:
    result = person_list(1)
    hostile = Result(**{**result.__dict__, "title": "<b Titel & <i>", "unit": "<font size=40>"})
    text = pdf_text(render(hostile))
    assert "<b Titel & <i>" in text and "<font size=40>" in text


def test_fit_widths_fills_the_frame_and_caps_long_text() -> None:
    widths = fit_widths([50, 400, 300, 60], [50, 40, 40, 60], [False, True, True, False], 500)
    assert sum(widths) == pytest.approx(500)
    assert widths[0] == 50 and widths[3] == 60  # numbers keep their width
    assert widths[1] == pytest.approx(widths[2])  # the two long texts share what is left
    grown = fit_widths([50, 100], [50, 40], [False, True], 300)
    assert grown == pytest.approx([80, 220])  # text grows twice as much per point


def test_paginate_keeps_each_page_within_room() -> None:
    heights = [15.0] * 10 + [40.0] + [15.0] * 5
    pages = paginate(heights, 100.0)
    assert pages[0] == (0, 6)
    assert pages[-1][1] == len(heights)
    for start, end in pages:
        assert sum(heights[start:end]) <= 100.0


def test_no_columns_still_renders() -> None:
    bare = Result(code="R98", title="Leer", kind="aggregate", orientation="portrait", params=(),
                  columns=(), rows=[], as_of=date(2026, 11, 23), generated_at=GENERATED)
    assert "Keine Einträge." in pdf_text(render(bare))
