"""PDF renderer: one table of the Result on the shared OPAL page (``pdfpage.ReportPage``).

Speed: every row height is computed here once and handed to the Table, so reportlab never
re-measures the remaining rows at each page break; only text that does not fit its column becomes
a (wrapping, escaped) Paragraph, everything else is a plain string that reportlab draws without
parsing markup.
"""

from __future__ import annotations

import heapq
import re
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, PageBreak, Spacer, Table, TableStyle

from opal import charts
from opal.labels import labeller, shown_row
from opal.renderers.base import Format, Rendered
from opal.renderers.cells import SUPPRESSED_LEGEND, format_value, header, totals
from opal.renderers.pdfchart import drawing
from opal.renderers.pdfpage import (
    FONT,
    FONT_BOLD,
    INK,
    RULE,
    PageInfo,
    ReportPage,
    para,
    printable,
    register_fonts,
    style,
)
from opal.result import ColumnDef, Result

FORMAT = Format("pdf", "PDF", "application/pdf", download=True, streams=False)
SIZE = 8  # body font size (pt)
#: the smallest type a wide table shrinks to rather than break words
MIN_SIZE = 5.5
LEADING = 10
PAD_X = 4
PAD_Y = 2.5
PLAIN_ROW = LEADING + 2 * PAD_Y
#: more visible columns than this always go landscape
WIDE_COLUMNS = 8
#: a text column never gets narrower than this (pt) before its text wraps
MIN_TEXT = 42
#: the widest DejaVu glyph is below 1 em: a text of n chars at most n * SIZE wide
EM = 1.0

#: on every page of a person list (reports.md, "Every output")
SOCIAL_DATA_MARKING = "Sozialdaten – nur für den dienstlichen Gebrauch (§ 35 SGB I)"
#: a text column is at least as wide as its longest word, up to this (pt): no word is broken
#: unless it alone is wider than this (a hostile or absurd value)
MAX_WORD = 150.0

#: space between a chart and the table below it (pt)
CHART_GAP = 8
HEAD_BG = colors.HexColor("#E4E8ED")
ZEBRA = colors.HexColor("#F3F5F7")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def cell_text(value: Any, col: ColumnDef) -> str:
    """Return the printed text of one cell (German formats, ``*`` for suppressed); numbers as the
    engine rounded them (to the column's declared places), never rounded again here."""
    text = format_value(value, thousands=True)
    if isinstance(value, str):
        return printable(_CONTROL.sub(" ", text))
    return text


def page_info(result: Result) -> PageInfo:
    """Return header/footer content: title, unit, parameters, dates; never the user name."""
    head = header(result)
    return PageInfo(title=head.title, unit=head.unit, code=head.code,
                    params=tuple((label, _CONTROL.sub(" ", text)) for label, text in head.params),
                    as_of=head.as_of, created=head.made,
                    marking=SOCIAL_DATA_MARKING if result.kind == "list" else "")


def _natural_width(texts: list[str], col: ColumnDef, size: float = 8) -> float:
    """Return the width a column wants: all of a number, ~95th percentile of a text."""
    if not texts:
        return 0.0
    if col.type == "text":
        step = max(1, len(texts) // 20000)  # a sample is enough for very long lists
        sample = texts[::step]
        rank = max(1, len(sample) // 20)
        longest = heapq.nlargest(rank, sample, key=len)[-1]
        return float(stringWidth(longest, FONT, size))
    longest_texts = heapq.nlargest(3, texts, key=len)
    return max(float(stringWidth(t, FONT, size)) for t in longest_texts)


def _longest_word(texts: list[str], size: float = 8) -> float:
    """Return the width of the longest word in a (sampled) column: where a wrap may not cut."""
    step = max(1, len(texts) // 5000)
    words = {w for t in texts[::step] for w in t.split()}
    longest = heapq.nlargest(20, words, key=len)
    return max((float(stringWidth(w, FONT, size)) for w in longest), default=0.0)


def fit_widths(natural: list[float], minimum: list[float], flexible: list[bool],
               frame_width: float) -> list[float]:
    """Share the frame width: stretch (text twice as much), or cap the widest text first."""
    total = sum(natural)
    if total <= frame_width:
        grow = [n * (2 if f else 1) for n, f in zip(natural, flexible, strict=True)]
        extra = (frame_width - total) / sum(grow)
        return [n + g * extra for n, g in zip(natural, grow, strict=True)]
    fixed = sum(n for n, f in zip(natural, flexible, strict=True) if not f)
    room = frame_width - fixed
    flex_min = sum(m for m, f in zip(minimum, flexible, strict=True) if f)
    if any(flexible) and room >= flex_min:
        cap = _water_level(natural, minimum, flexible, room)
        return [min(n, max(m, cap)) if f else n
                for n, m, f in zip(natural, minimum, flexible, strict=True)]
    slack = [n - m for n, m in zip(natural, minimum, strict=True)]
    excess = total - frame_width
    if sum(slack) >= excess:  # numbers keep their width, labels wrap
        share = excess / sum(slack)
        return [n - r * share for n, r in zip(natural, slack, strict=True)]
    scale = frame_width / sum(minimum)  # last resort: everything smaller than it wants
    return [m * scale for m in minimum]


def _water_level(natural: list[float], minimum: list[float], flexible: list[bool],
                 room: float) -> float:
    """Return the cap for text columns at which they fill ``room`` exactly (bisection)."""
    low, high = 0.0, max(natural)
    for _ in range(40):
        level = (low + high) / 2
        used = sum(min(n, max(m, level))
                   for n, m, f in zip(natural, minimum, flexible, strict=True) if f)
        low, high = (level, high) if used < room else (low, level)
    return low


def _align(col: ColumnDef) -> str:
    """Numbers right (digits line up), ja/nein centred, everything else left."""
    return "RIGHT" if col.numeric else "CENTER" if col.type == "bool" else "LEFT"


def paginate(heights: list[float], room: float, first: float | None = None
             ) -> list[tuple[int, int]]:
    """Split rows into pages greedily: ``[(start, end), ...]`` with each page's rows in ``room``
    (the first page's in ``first``, when a chart stands above the table)."""
    pages: list[tuple[int, int]] = []
    start, used = 0, 0.0
    for i, height in enumerate(heights):
        if used + height > (room if pages or first is None else first) and i > start:
            pages.append((start, i))
            start, used = i, 0.0
        used += height
    pages.append((start, len(heights)))
    return pages


class ResultPdf(ReportPage):
    """The report body: a table with a repeated header row, zebra rows and optional sums."""

    def __init__(self, result: Result) -> None:
        register_fonts()  # column widths are measured before the page exists
        self.result = result
        self.cols = result.columns
        shows = labeller(result)
        keys = [c.key for c in self.cols]
        self.texts = [[cell_text(v, c) for v, c in zip(shown_row(row, keys, shows), self.cols,
                                                      strict=True)] for row in result.rows]
        self.totals = self._totals()
        self._set_size(SIZE)
        natural, minimum, flexible = self._column_needs()
        wide = result.orientation == "landscape" or len(self.cols) > WIDE_COLUMNS
        portrait_width = A4[0] - 2 * self.margin
        super().__init__(page_info(result), wide=wide or sum(minimum) > portrait_width * 1.1)
        while sum(minimum) > self.frame_width and self.size > MIN_SIZE:
            # words would break: a smaller type instead (widths shrink with it, padding not)
            scale = (self.frame_width - 2 * PAD_X * len(minimum)) / (
                sum(minimum) - 2 * PAD_X * len(minimum))
            self._set_size(max(MIN_SIZE, self.size * min(scale, 0.99)))
            natural, minimum, flexible = self._column_needs()
        self.widths = fit_widths(natural, minimum, flexible, self.frame_width) if natural else []

    def _set_size(self, size: float) -> None:
        """Set the table's type size (and with it leading and plain row height)."""
        self.size = round(size, 2)
        self.leading = round(self.size * LEADING / SIZE, 2)
        self.plain_row = self.leading + 2 * PAD_Y

    def get_story(self) -> list[Flowable]:
        """Return one table per page (header row on each), or "Keine Einträge."."""
        if not self.cols:
            return [para("Keine Einträge.", style("empty", 9))]
        head, head_height = self._head()
        room = self.frame_height - head_height - 1  # 1 pt slack against rounding
        rows: list[list[Any]] = []
        heights: list[float] = []
        text_style = style("cell", self.size, leading=self.leading)
        for texts in self.texts:
            cells, height = self._cells(texts, text_style, room)
            rows.append(cells)
            heights.append(height)
        if self.totals is not None:
            rows.append(self.totals)
            heights.append(self.plain_row)
        if not self.result.rows:
            table = self._table([head], [head_height], sums=False)
            return [table, Spacer(1, 6), para("Keine Einträge.", style("empty", 9))]
        story: list[Flowable] = []
        first = None
        chart = charts.chart_for(self.result)
        if chart is not None:  # above the table, the same points (reports.md, R18)
            figure = drawing(chart, self.frame_width)
            story += [figure, Spacer(1, CHART_GAP)]
            first = room - figure.height - CHART_GAP
        for start, end in paginate(heights, room, first):
            if start:
                story.append(PageBreak())
            sums = self.totals is not None and end == len(rows)
            story.append(self._table([head] + rows[start:end],
                                     [head_height] + heights[start:end], sums=sums))
        if self.result.suppressed_cells:
            story += [Spacer(1, 6), para(SUPPRESSED_LEGEND, style("legend", 8))]
        for note in self.result.notes:  # R17 on a format-1 export: why K1/K1E1 are empty
            story += [Spacer(1, 6), para(note, style("note", 8))]
        return story

    def _head(self) -> tuple[list[Any], float]:
        """Return the header cells (plain bold text; a Paragraph only where a label wraps)."""
        cells: list[Any] = []
        height = self.plain_row
        for i, (col, width) in enumerate(zip(self.cols, self.widths, strict=True)):
            label = printable(_CONTROL.sub(" ", col.label))
            if stringWidth(label, FONT_BOLD, self.size) <= width - 2 * PAD_X:
                cells.append(label)
                continue
            cell = para(label, style(f"h{i}", self.size, bold=True, align=_align(col),
                                     leading=self.leading))
            height = max(height, cell.wrap(width - 2 * PAD_X, 1000)[1] + 2 * PAD_Y)
            cells.append(cell)
        return cells, height

    def _table(self, data: list[list[Any]], heights: list[float], *, sums: bool) -> Table:
        """Return one page's table: fixed widths and heights, so reportlab never re-measures."""
        table = Table(data, colWidths=self.widths, rowHeights=heights, repeatRows=1,
                      hAlign="LEFT")
        table.setStyle(self._table_style(len(data), sums))
        if self.result.kind == "aggregate":  # the SQL's "Gesamt" rows stand out like sums
            for i, row in enumerate(data[1:], 1):
                if row and row[0] == "Gesamt":
                    table.setStyle([("FONT", (0, i), (-1, i), FONT_BOLD, self.size, self.leading),
                                    ("LINEABOVE", (0, i), (-1, i), 0.6, INK)])
        return table

    def _cells(self, texts: list[str], text_style: Any, room: float) -> tuple[list[Any], float]:
        """Return one row's cells (plain strings; Paragraphs where text must wrap) and height."""
        height = self.plain_row
        cells: list[Any] = texts
        for i, (text, col, width) in enumerate(zip(texts, self.cols, self.widths, strict=True)):
            inner = width - 2 * PAD_X
            if col.type != "text" or len(text) * self.size * EM <= inner:
                continue
            if stringWidth(text, FONT, self.size) <= inner:
                continue
            if cells is texts:
                cells = list(texts)
            cell = para(text, text_style)
            cell_height = cell.wrap(inner, 100000)[1] + 2 * PAD_Y
            while cell_height > room:  # a text longer than a page: cut, never fail
                text = text[: int(len(text) * 0.8)] + "…"
                cell = para(text, text_style)
                cell_height = cell.wrap(inner, 100000)[1] + 2 * PAD_Y
            cells[i] = cell
            height = max(height, cell_height)
        return cells, height

    def _table_style(self, n_rows: int, sums: bool) -> TableStyle:
        last_data = n_rows - (2 if sums else 1)
        cmds: list[tuple[Any, ...]] = [
            ("FONT", (0, 0), (-1, -1), FONT, self.size, self.leading),
            ("TEXTCOLOR", (0, 0), (-1, -1), INK),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), PAD_X),
            ("RIGHTPADDING", (0, 0), (-1, -1), PAD_X),
            ("TOPPADDING", (0, 0), (-1, -1), PAD_Y),
            ("BOTTOMPADDING", (0, 0), (-1, -1), PAD_Y),
            # the header row, on every page
            ("FONT", (0, 0), (-1, 0), FONT_BOLD, self.size, self.leading),
            ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
        ]
        if last_data >= 1:
            cmds.append(("ROWBACKGROUNDS", (0, 1), (-1, last_data), [colors.white, ZEBRA]))
            cmds.append(("LINEBELOW", (0, last_data), (-1, last_data), 0.6, RULE))
        for i, col in enumerate(self.cols):
            if _align(col) != "LEFT":
                cmds.append(("ALIGN", (i, 0), (i, -1), _align(col)))  # numbers right, ja/nein
        if sums:
            cmds.append(("FONT", (0, -1), (-1, -1), FONT_BOLD, self.size, self.leading))  # sum row
            cmds.append(("LINEABOVE", (0, -1), (-1, -1), 0.8, INK))
        return TableStyle(cmds)

    def _column_needs(self) -> tuple[list[float], list[float], list[bool]]:
        """Return natural and minimum widths (padding included) and which columns may wrap."""
        natural: list[float] = []
        minimum: list[float] = []
        flexible: list[bool] = []
        for i, col in enumerate(self.cols):
            texts = [row[i] for row in self.texts]
            if self.totals is not None:
                texts.append(str(self.totals[i]))
            label = float(stringWidth(col.label, FONT_BOLD, self.size))
            word = max((float(stringWidth(w, FONT_BOLD, self.size)) for w in col.label.split()),
                       default=0.0)
            content = _natural_width(texts, col, self.size)
            wraps = col.type == "text"
            natural.append(max(label, content) + 2 * PAD_X)
            if wraps:  # words stay whole: the column is at least its longest word wide
                cap = MAX_WORD * self.size / SIZE
                word = max(word, min(cap, _longest_word(texts, self.size)))
            floor = max(word, MIN_TEXT) if wraps else max(word, content)
            if wraps:  # half a point against rounding in reportlab's line breaking
                natural[-1] = max(natural[-1], floor + 2 * PAD_X + 0.5)
                minimum.append(floor + 2 * PAD_X + 0.5)
            else:
                minimum.append(min(floor + 2 * PAD_X, natural[-1]))
            flexible.append(wraps)
        return natural, minimum, flexible

    def _totals(self) -> list[str] | None:
        """Return the sum row of the ``total`` columns (``cells.totals``) as printed text."""
        sums = totals(self.result)
        if sums is None:
            return None
        return [cell_text(value, col) for value, col in zip(sums, self.cols, strict=True)]


class PdfRenderer:
    """Render a Result as an A4 PDF (landscape for wide tables)."""

    format = FORMAT

    def render(self, result: Result) -> Rendered:
        """Return the PDF under the server-made file name."""
        body = ResultPdf(result).build()
        return FORMAT.rendered(result, body)
