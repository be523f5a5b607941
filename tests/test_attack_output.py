"""Adversarial suite, output injection: the hostile names of the hand-made export (``=HYPERLINK``,
``+49 …``, ``-…``, ``@…``, TAB, full-width ``＝``, ``<script>``, ``O'Brien & Söhne``, ``"Boss"``)
through the real portal into HTML, PDF, XLSX, CSV and JSON, and the XLSX and CSV through
LibreOffice (headless, formulas evaluated) back into text.

Security reference: shared/reference/security.md §1 (CSV/formula injection, reportlab markup) and
§6 items 9 and 10.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import unicodedata
import zipfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from opal.renderers.cells import FORMULA_TRIGGERS
from tests.conftest import IN_CI
from tests.fixtures.attack import (
    HmPortal,
    allowed_customers,
    csv_table,
    hostile_names,
    pdf_text,
    persons,
    portal_per_backend,
)

#: the lists that show the hostile persons: R02 with n_days=1 lists every eLb of the case load
QUERY = {"n_days": "1"}
USERS = ("albers", "celik")  # K001-K006, K008, K009 (albers), K007 (celik, protected)


def shown_name(no: str) -> str:
    p = persons()[no]
    return f"{p['last_name']}, {p['first_name']}"


def hostile_customers(user: str) -> list[str]:
    names = set(hostile_names())
    return sorted(no for no in allowed_customers(user) if persons()[no]["last_name"] in names)


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def hm(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
       ) -> Iterator[HmPortal]:
    yield from portal_per_backend(request, tmp_path_factory, "attack-out")


@pytest.fixture(scope="module")
def outputs(hm: HmPortal) -> dict[str, dict[str, bytes]]:
    """user -> format -> body of R02 (n_days=1)."""
    made: dict[str, dict[str, bytes]] = {}
    for user in USERS:
        client: FlaskClient = hm.login(user)
        page = client.get("/reports/R02", query_string=QUERY)
        assert page.status_code == 200
        made[user] = {"html": page.data}
        for fmt in ("pdf", "csv", "xlsx", "json"):
            response = client.get(f"/reports/R02.{fmt}", query_string=QUERY)
            assert response.status_code == 200, fmt
            made[user][fmt] = response.data
    return made


def test_the_hostile_persons_are_really_listed(outputs: dict[str, dict[str, bytes]]) -> None:
    listed = {no for user in USERS
              for no in (r["customer_no"] for r in json.loads(outputs[user]["json"])["rows"])}
    hostile = set(hostile_customers("albers")) | set(hostile_customers("celik"))
    assert len(hostile) >= 9 and hostile <= listed, hostile - listed


def test_json_carries_the_names_unchanged(outputs: dict[str, dict[str, bytes]]) -> None:
    for user in USERS:
        rows = {r["customer_no"]: r["name"] for r in json.loads(outputs[user]["json"])["rows"]}
        for no in hostile_customers(user):
            assert rows[no] == shown_name(no)


# --------------------------------------------------------------------------------------------
# HTML: text, never markup
# --------------------------------------------------------------------------------------------

class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.cells: list[str] = []
        self._in_td = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        if tag == "td":
            self._in_td = True
            self.cells.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in_td = False

    def handle_data(self, data: str) -> None:
        if self._in_td:
            self.cells[-1] += data


@pytest.mark.parametrize("user", USERS)
def test_html_shows_hostile_names_as_text(outputs: dict[str, dict[str, bytes]], user: str) -> None:
    parser = _Elements()
    parser.feed(outputs[user]["html"].decode("utf-8"))
    tags = [t for t, _ in parser.tags]
    assert "img" not in tags and "iframe" not in tags
    # the only script is the portal's own static file (CSP script-src 'self'), never data
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert scripts in ([], [[("src", "/static/opal.js"), ("defer", None)]])
    for tag, attrs in parser.tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert not (value or "").strip().lower().startswith("javascript:"), (tag, name)
    cells = [c.strip() for c in parser.cells]
    for no in hostile_customers(user):
        assert shown_name(no).strip() in cells, no  # the literal text, decoded from entities


# --------------------------------------------------------------------------------------------
# PDF: literal text, no links, no actions, renders
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("user", USERS)
def test_pdf_prints_hostile_names_literally_without_links(outputs: dict[str, dict[str, bytes]],
                                                          user: str) -> None:
    from pypdf import PdfReader

    body = outputs[user]["pdf"]
    reader = PdfReader(io.BytesIO(body))
    assert len(reader.pages) >= 1
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            obj = annot.get_object()
            assert "/URI" not in str(obj.get("/A", "")) and obj.get("/Subtype") != "/Link"
    for marker in (b"/URI", b"/JavaScript", b"/JS", b"/Launch", b"/OpenAction", b"/AA "):
        assert marker not in body, marker
    text = pdf_text(body)
    for no in hostile_customers(user):
        # characters the embedded font lacks print as their NFKC form (＝ -> =), by design
        name = unicodedata.normalize("NFKC", shown_name(no)).replace("\t", "").strip()
        assert name.split(",")[0].strip() in text.replace("\t", ""), (no, name)


@pytest.mark.parametrize("user", USERS)
def test_pdftotext_reads_the_literal_names(outputs: dict[str, dict[str, bytes]], user: str,
                                           tmp_path: Path) -> None:
    tool = shutil.which("pdftotext")
    if tool is None:
        if IN_CI:
            pytest.fail("pdftotext (poppler-utils) missing under CI=true")
        pytest.skip("pdftotext (poppler-utils) not installed: make system-deps as root")
    source = tmp_path / "r.pdf"
    source.write_bytes(outputs[user]["pdf"])
    done = subprocess.run([tool, "-layout", str(source), "-"], capture_output=True, timeout=60,
                          check=True)
    text = done.stdout.decode("utf-8")
    for no in hostile_customers(user):
        last = unicodedata.normalize("NFKC", persons()[no]["last_name"]).strip()
        assert last in text, (no, last)
        assert no in text


# --------------------------------------------------------------------------------------------
# XLSX and CSV: no formula, triggers neutralised, numbers stay numbers
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("user", USERS)
def test_xlsx_has_no_formula_and_neutralised_names(outputs: dict[str, dict[str, bytes]],
                                                   user: str) -> None:
    from openpyxl import load_workbook

    body = outputs[user]["xlsx"]
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                xml = archive.read(name).decode("utf-8")
                assert "<f>" not in xml and "<f " not in xml, name
            assert b"HYPERLINK" not in archive.read(name) or name.endswith(
                ("sharedStrings.xml",)) or name.startswith("xl/worksheets/"), name
    book = load_workbook(io.BytesIO(body))
    texts: list[str] = []
    numbers = 0
    for sheet in book.worksheets:
        assert not sheet._hyperlinks  # noqa: SLF001 - no data-made link anywhere
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.coordinate
                if isinstance(cell.value, str):
                    texts.append(cell.value)
                    assert not cell.value.startswith(FORMULA_TRIGGERS), cell.value
                elif isinstance(cell.value, int):
                    numbers += 1
    assert numbers > 0  # days_since_contact stays numeric
    for no in hostile_customers(user):
        name = shown_name(no)
        want = "'" + name if name.startswith(FORMULA_TRIGGERS) else name
        assert want in texts, (no, want)


@pytest.mark.parametrize("user", USERS)
def test_csv_cells_never_start_with_a_trigger(outputs: dict[str, dict[str, bytes]],
                                              user: str) -> None:
    body = outputs[user]["csv"]
    text = body.decode("utf-8-sig")
    every = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    for row in every:
        for cell in row:
            assert not cell.startswith(FORMULA_TRIGGERS), cell
    table = csv_table(body)
    names = {r[0]: r[1] for r in table[1:]}
    for no in hostile_customers(user):
        name = shown_name(no)
        want = "'" + name if name.startswith(FORMULA_TRIGGERS) else name
        assert names[no] == want, (no, names[no])


# --------------------------------------------------------------------------------------------
# LibreOffice: what a user's office suite computes from the files
# --------------------------------------------------------------------------------------------

#: CSV import: ';', '"', UTF-8, from line 1, standard cells, German, quoted as text off,
#: detect special numbers on, ..., evaluate formulas ON (the worst a user can configure)
CSV_IMPORT = "CSV:59,34,76,1,,1031,false,true,false,false,false,-1,true"
#: CSV export: ';', '"', UTF-8, save cell contents as shown, no formulas
CSV_EXPORT = "csv:Text - txt - csv (StarCalc):59,34,76,1,,1031,false,true,true,false,false"
ERRORS = re.compile(r"Err:\d+|#NAME\?|#VALUE!|#REF!|#NAME|#WERT|#NV|#N/A")


def soffice() -> str:
    tool = shutil.which("soffice") or shutil.which("libreoffice")
    if tool is None:
        if IN_CI:
            pytest.fail("soffice (libreoffice-calc-nogui) missing under CI=true")
        pytest.skip("LibreOffice (soffice) not installed: make system-deps as root")
    return tool


def convert(source: Path, work: Path, infilter: str | None) -> list[list[str]]:
    """Open ``source`` in LibreOffice headless and save what the cells show as CSV."""
    out = work / "out"
    out.mkdir(exist_ok=True)
    profile = work / "profile"
    args = [soffice(), f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
            "--nolockcheck"]
    if infilter:
        args.append(f"--infilter={infilter}")
    args += ["--convert-to", CSV_EXPORT, "--outdir", str(out), str(source)]
    env = {**os.environ, "HOME": str(work)}
    subprocess.run(args, capture_output=True, timeout=180, check=True, env=env)
    result = out / (source.stem + ".csv")
    assert result.exists(), "LibreOffice wrote nothing"
    text = result.read_text(encoding="utf-8", errors="replace")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def test_libreoffice_proves_it_evaluates_formulas(tmp_path: Path) -> None:
    """The control: an unneutralised ``=1+1`` is computed by the import used below."""
    source = tmp_path / "control.csv"
    source.write_text("a;b\r\n=1+1;'=1+1\r\n", encoding="utf-8")
    rows = convert(source, tmp_path, CSV_IMPORT)
    assert rows[1][:2] == ["2", "'=1+1"]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_libreoffice_shows_the_literal_names_not_a_computed_value(
        outputs: dict[str, dict[str, bytes]], hm: HmPortal, fmt: str, tmp_path: Path) -> None:
    source = tmp_path / f"R02.{fmt}"
    source.write_bytes(outputs["albers"][fmt])
    rows = convert(source, tmp_path, CSV_IMPORT if fmt == "csv" else None)
    by_no = {r[0]: r for r in rows if r and re.fullmatch(r"K[0-9]{3}", r[0])}
    for row in rows:
        for cell in row:
            assert not ERRORS.search(cell), cell
    for no in hostile_customers("albers"):
        name = shown_name(no)
        cell = by_no[no][1]
        assert cell.lstrip("'").strip() == name.strip(), (no, cell, name)
        assert "HYPERLINK" not in name or "HYPERLINK" in cell
