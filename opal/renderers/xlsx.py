"""XLSX renderer: one streamed sheet (openpyxl write-only), typed cells, never a formula.

Write-only mode keeps memory flat for 200,000 rows: rows go straight to the zip stream. Every
string cell gets ``data_type = "s"`` after its value is set, so text such as ``=1+1`` or ``#N/A``
is stored as text, never as a formula or an error; trigger-led text is also neutralised as in CSV.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.properties import PageSetupProperties

from opal.labels import TOTAL, labeller, shown_row
from opal.localtime import DEFAULT_ZONE, to_local
from opal.renderers.base import Format, Rendered
from opal.renderers.cells import (
    SUPPRESSED_LEGEND,
    SUPPRESSED_MARK,
    format_bool,
    header,
    safe_text,
)
from opal.result import SUPPRESSED, ColumnDef, Result

FORMAT = Format("xlsx", "Excel (XLSX)",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                download=True, streams=False)
DATE_FORMAT = "DD.MM.YYYY"
DATETIME_FORMAT = "DD.MM.YYYY HH:MM"
#: column widths in characters: fitted to content within these bounds
MIN_WIDTH, MAX_WIDTH = 6, 60
#: Excel's limit for the characters in one cell
EXCEL_MAX_TEXT = 32767
#: width fitting looks at this many rows at most (evenly spread)
WIDTH_SAMPLE = 20000

_HEADER_FILL = PatternFill("solid", fgColor="E4E8ED")
_HEADER_BORDER = Border(bottom=Side(style="thin", color="1F2933"))


def _safe_text(text: str) -> str:
    """Neutralise a formula trigger with a leading ``'`` (as CSV does); drop XML-illegal chars."""
    return safe_text(ILLEGAL_CHARACTERS_RE.sub("", text))[:EXCEL_MAX_TEXT]


def number_format(col: ColumnDef) -> str:
    """Return the Excel number format of a column: thousands separator, declared decimals."""
    if col.type == "date":
        return DATE_FORMAT
    if col.type == "decimal" and col.decimals > 0:
        return "#,##0." + "0" * col.decimals
    return "#,##0"


def _display_len(value: Any, col: ColumnDef) -> int:
    """Return roughly how many characters a cell shows, for fitting the column width."""
    if value is None:
        return 0
    if value is SUPPRESSED or isinstance(value, bool):
        return 4
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    if isinstance(value, int | Decimal | float):
        digits = len(str(int(value)))
        return digits + (digits - 1) // 3 + (col.decimals + 1 if col.type == "decimal" else 0)
    return len(str(value))


class _Sheet:
    """Typed-cell factory for one write-only sheet: strings always explicit text."""

    def __init__(self, ws: WriteOnlyWorksheet) -> None:
        self.ws = ws

    def text(self, value: str, *, bold: bool = False, size: float | None = None,
             right: bool = False) -> Cell:
        cell = WriteOnlyCell(self.ws, value=_safe_text(value))
        cell.data_type = "s"  # never a formula, never an error code
        if bold or size:
            cell.font = Font(bold=bold, size=size)
        # always styled: openpyxl reuses an unstyled passed-in cell as its scratch cell
        cell.alignment = Alignment(horizontal="right" if right else "left")
        return cell

    def typed(self, value: Any, fmt: str) -> Cell:
        cell = WriteOnlyCell(self.ws, value=value)
        cell.number_format = fmt
        return cell


class _ColumnWriter:
    """Turn a column's values into cells, reusing one styled cell per kind for speed."""

    def __init__(self, sheet: _Sheet, col: ColumnDef, zone: str = DEFAULT_ZONE, *,
                 bold: bool = False) -> None:
        self.col = col
        self.zone = zone
        self.number = sheet.typed(0, number_format(col))
        self.stamp = sheet.typed(datetime(2000, 1, 1), DATETIME_FORMAT)
        self.text = sheet.text("", right=col.numeric, bold=bold)
        if bold:
            self.number.font = Font(bold=True)
            self.stamp.font = Font(bold=True)

    def cell(self, value: Any) -> Cell | None:
        """Return the cell for ``value``; the writer consumes it before the next row asks."""
        if value is None:
            return None
        if value is SUPPRESSED:
            return self._text(SUPPRESSED_MARK)
        if isinstance(value, bool):
            return self._text(format_bool(value))
        if isinstance(value, datetime):
            if value.tzinfo is not None:  # Excel has no time zones: local wall time
                value = to_local(value, self.zone)
            self.stamp.value = value.replace(tzinfo=None)
            return self.stamp
        if isinstance(value, int | Decimal | float | date):
            self.number.value = value
            return self.number
        return self._text(str(value))

    def _text(self, value: str) -> Cell:
        self.text.value = _safe_text(value)
        self.text.data_type = "s"
        return self.text


class XlsxRenderer:
    """Render a Result as an XLSX workbook with one sheet named after the report code."""

    format = FORMAT

    def render(self, result: Result) -> Rendered:
        """Return the workbook bytes under the server-made file name."""
        wb = Workbook(write_only=True)
        wb.properties.title = result.title
        wb.properties.creator = "OPAL"
        wb.properties.lastModifiedBy = "OPAL"
        stamp = result.generated_at.astimezone(UTC).replace(tzinfo=None)
        wb.properties.created = wb.properties.modified = stamp
        ws = wb.create_sheet(title=re.sub(r"[\[\]:*?/\\]", "_", result.code)[:31] or "OPAL")
        sheet = _Sheet(ws)
        block = self._title_block(result, sheet)
        header_row = len(block) + 2
        self._set_widths(ws, result, block)
        last_col = get_column_letter(max(1, len(result.columns)))
        ws.freeze_panes = f"A{header_row + 1}"
        first_key = result.columns[0].key if result.columns else ""
        body = sum(1 for r in result.rows if r.get(first_key) != TOTAL)
        ws.auto_filter.ref = f"A{header_row}:{last_col}{header_row + max(1, body)}"
        ws.print_title_rows = f"{header_row}:{header_row}"
        ws.page_setup.orientation = result.orientation
        ws.page_setup.paperSize = "9"  # A4
        ws.page_setup.fitToWidth = 1  # one page wide, as many pages long as it takes
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        for row in block:
            ws.append(row)
        ws.append([])
        ws.append([self._header_cell(sheet, c) for c in result.columns])
        writers = [_ColumnWriter(sheet, c, result.timezone) for c in result.columns]
        shows = labeller(result)
        keys = [c.key for c in result.columns]
        totals = [_ColumnWriter(sheet, c, result.timezone, bold=True) for c in result.columns]
        for data in result.rows:
            # the Gesamt row: bold, and below the autofilter range so that sorting leaves it
            use = totals if data.get(first_key) == TOTAL else writers
            ws.append([w.cell(v) for w, v in zip(use, shown_row(data, keys, shows),
                                                 strict=True)])
        if result.notes:  # under the table, as on the page (R17 on a format-1 export)
            ws.append([])
            for note in result.notes:
                ws.append([sheet.text(note)])
        buf = io.BytesIO()
        wb.save(buf)
        return FORMAT.rendered(result, buf.getvalue())

    @staticmethod
    def _header_cell(sheet: _Sheet, col: ColumnDef) -> Cell:
        cell = sheet.text(col.label, bold=True, right=col.numeric)
        cell.fill = _HEADER_FILL
        cell.border = _HEADER_BORDER
        return cell

    @staticmethod
    def _title_block(result: Result, sheet: _Sheet) -> list[list[Any]]:
        """Return the rows above the table: title, unit, parameters, Datenstand, Erstellt."""
        head = header(result)
        rows: list[list[Any]] = [[sheet.text(head.title, bold=True, size=13)]]
        if head.unit:
            rows.append([sheet.text(head.unit)])
        for label, text in head.params:
            rows.append([sheet.text(label, bold=True), sheet.text(text)])
        rows.append([sheet.text("Datenstand", bold=True), sheet.typed(result.as_of, DATE_FORMAT)])
        rows.append([sheet.text("Erstellt", bold=True), sheet.text(head.made)])
        if result.suppressed_cells:
            rows.append([sheet.text(SUPPRESSED_LEGEND)])
        return rows

    @staticmethod
    def _set_widths(ws: Any, result: Result, block: list[list[Any]]) -> None:
        """Fit each column to its header, a sample of its values and the title block labels."""
        step = max(1, len(result.rows) // WIDTH_SAMPLE)
        sample = result.rows[::step]
        for i, col in enumerate(result.columns):
            widest = max((_display_len(r.get(col.key), col) for r in sample), default=0)
            widest = max(widest, len(col.label) + 2)  # room for the autofilter button
            if i < 2:  # title block labels and values, not the title or unit line
                widest = max([widest] + [len(str(row[i].value)) for row in block
                                         if len(row) == 2])
            width = min(MAX_WIDTH, max(MIN_WIDTH, widest + 1))
            ws.column_dimensions[get_column_letter(i + 1)].width = width

