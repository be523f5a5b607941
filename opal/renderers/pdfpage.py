"""The PDF page every report shares: A4, embedded fonts, header, footer and "Seite n von m".

The base class owns the page (pretix ``ReportlabExportMixin``): size and margins, the header with
title, unit line and parameters, the footer with data date, creation time and page numbers, and
the document metadata. A subclass only builds the story (``get_story``). Every text that comes
from data is escaped before it meets Paragraph markup, so a name never becomes markup or a link.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Paragraph

#: drawn on a page once the whole document is laid out (a table of contents' page numbers)
LateDrawing = Callable[[canvas.Canvas], None]

#: the embedded fonts: the same glyphs (umlauts, ß, ...) on every system
FONT = "OpalSans"
FONT_BOLD = "OpalSans-Bold"
FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"

INK = colors.HexColor("#1F2933")
MUTED = colors.HexColor("#52606D")
RULE = colors.HexColor("#9AA5B1")


def register_fonts() -> None:
    """Register the packaged DejaVu fonts once, so no PDF depends on the system's fonts."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT,
                                  boldItalic=FONT_BOLD)


_coverage: dict[str, frozenset[int]] = {}


def _covered() -> frozenset[int]:
    """Return the code points both embedded fonts have a glyph for."""
    if "both" not in _coverage:
        register_fonts()
        faces = [pdfmetrics.getFont(name).face for name in (FONT, FONT_BOLD)]
        _coverage["both"] = frozenset(faces[0].charToGlyph) & frozenset(faces[1].charToGlyph)
    return _coverage["both"]


def printable(text: str) -> str:
    """Replace characters the font lacks: by their NFKC form (＝ -> =) if printable, else U+FFFD.

    Without this a full-width ``＝`` prints as an empty box and extracts as NUL.
    """
    if text.isascii():
        return text
    covered = _covered()
    if all(ord(ch) in covered for ch in text):
        return text
    out = []
    for ch in text:
        if ord(ch) in covered:
            out.append(ch)
            continue
        compat = unicodedata.normalize("NFKC", ch)
        out.append(compat if all(ord(c) in covered for c in compat) else "\ufffd")
    return "".join(out)


def style(name: str, size: float = 8, *, bold: bool = False, align: str = "LEFT",
          color: Any = INK, leading: float | None = None, space_after: float = 0,
          ) -> ParagraphStyle:
    """Return a paragraph style in the embedded font (no style may fall back to Helvetica)."""
    alignment = {"LEFT": TA_LEFT, "RIGHT": TA_RIGHT, "CENTER": TA_CENTER}[align]
    return ParagraphStyle(name, fontName=FONT_BOLD if bold else FONT, fontSize=size,
                          leading=leading or round(size * 1.25, 2), textColor=color,
                          alignment=alignment, spaceAfter=space_after)


def para(text: str, pstyle: ParagraphStyle) -> Paragraph:
    """Return a Paragraph of plain text: escaped, so data never becomes markup."""
    return Paragraph(escape(printable(text)), pstyle)


@dataclass(frozen=True)
class PageInfo:
    """What the header and footer of every page show; no user name by design."""

    title: str
    unit: str
    params: tuple[tuple[str, str], ...]  # (label, display value)
    code: str
    as_of: str  # TT.MM.JJJJ
    created: str  # TT.MM.JJJJ HH:MM MEZ
    marking: str = ""  # person lists: the § 35 SGB I marking, on every page


class NumberedCanvas(canvas.Canvas):
    """Keep every page until the end so that each can say "Seite n von m" in one layout pass;
    what only the end knows (a bundle's table of contents) is drawn then, too (``late``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []
        self.late: dict[int, list[LateDrawing]] = {}

    @property
    def page_number(self) -> int:
        """The number of the page being drawn (1-based)."""
        return len(self._pages) + 1

    def showPage(self) -> None:  # noqa: N802 (reportlab's name)
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, 1):
            self.__dict__.update(state)
            self._draw_page_number(number, total)
            for draw in self.late.get(number, ()):
                draw(self)
            super().showPage()
        super().save()

    def _draw_page_number(self, number: int, total: int) -> None:
        width = self._pagesize[0]
        self.setFont(FONT, 7.5)
        self.setFillColor(MUTED)
        self.drawRightString(width - ReportPage.margin, ReportPage.footer_y,
                             f"Seite {number} von {total}")


class ReportPage:
    """Base class of every OPAL PDF: owns the page, header, footer and metadata."""

    margin = 14 * mm
    footer_y = 9 * mm

    def __init__(self, info: PageInfo, *, wide: bool) -> None:
        register_fonts()
        self.info = info
        self.pagesize = landscape(A4) if wide else A4
        self.frame_width = self.pagesize[0] - 2 * self.margin
        self._header = self._header_flowables()
        self._header_height = sum(f.wrap(self.frame_width, self.pagesize[1])[1]
                                  + f.style.spaceAfter for f in self._header)

    def get_story(self) -> list[Flowable]:
        """Return the report body; subclasses build it."""
        raise NotImplementedError

    @property
    def frame_height(self) -> float:
        return float(self.pagesize[1] - self._top_margin() - self._bottom_margin())

    def build(self) -> bytes:
        """Lay out the story on numbered pages and return the PDF bytes."""
        buf = io.BytesIO()
        doc = BaseDocTemplate(
            buf, pagesize=self.pagesize, leftMargin=self.margin, rightMargin=self.margin,
            topMargin=self._top_margin(), bottomMargin=self._bottom_margin(),
            title=self.info.title, author="OPAL", creator="OPAL", subject=f"OPAL {self.info.code}",
            keywords="", lang="de-DE", initialFontName=FONT, initialFontSize=8,
        )
        doc.addPageTemplates([self.page_template("page")])
        doc.build(self.get_story(), canvasmaker=NumberedCanvas)
        return buf.getvalue()

    def page_template(self, template_id: str) -> PageTemplate:
        """This page as a template: its size, body frame, header and footer (a bundle holds one
        per part)."""
        frame = Frame(self.margin, self._bottom_margin(), self.frame_width, self.frame_height,
                      id=f"{template_id}-body", leftPadding=0, rightPadding=0, topPadding=0,
                      bottomPadding=0)
        return PageTemplate(id=template_id, frames=[frame], onPage=self._on_page,
                            pagesize=self.pagesize)

    def _top_margin(self) -> float:
        return float(10 * mm + self._header_height + 4 * mm)

    def _bottom_margin(self) -> float:
        return float(16 * mm)

    def _header_flowables(self) -> list[Paragraph]:
        """Return title, unit line and parameters, escaped; measured once, drawn on every page."""
        info = self.info
        parts = [para(info.title, style("title", 13, bold=True, leading=16, space_after=2))]
        if info.unit:
            parts.append(para(info.unit, style("unit", 9, space_after=1)))
        if info.params:
            text = "\u2003·\u2003".join(
                f"<b>{escape(printable(label))}:</b> {escape(printable(value))}"
                for label, value in info.params
            )
            parts.append(Paragraph(text, style("params", 8, color=MUTED)))
        return parts

    def _on_page(self, canv: Any, doc: Any) -> None:
        """Draw the header and footer; the page number follows in ``NumberedCanvas.save``."""
        canv.saveState()
        width, height = self.pagesize
        y = height - 10 * mm
        for flowable in self._header:
            _, h = flowable.wrapOn(canv, self.frame_width, height)
            flowable.drawOn(canv, self.margin, y - h)
            y -= h + flowable.style.spaceAfter
        canv.setStrokeColor(RULE)
        canv.setLineWidth(0.6)
        canv.line(self.margin, y - 1.5 * mm, width - self.margin, y - 1.5 * mm)
        canv.line(self.margin, self.footer_y + 4 * mm, width - self.margin, self.footer_y + 4 * mm)
        canv.setFont(FONT, 7.5)
        canv.setFillColor(MUTED)
        left = f"Datenstand: {self.info.as_of}\u2003·\u2003Erstellt: {self.info.created}"
        canv.drawString(self.margin, self.footer_y, left)
        code = f"OPAL {self.info.code}"
        half = pdfmetrics.stringWidth(code, FONT, 7.5) / 2
        # centred, unless a long code (a bundle's name) would run into the dates
        centre = max(width / 2, self.margin + pdfmetrics.stringWidth(left, FONT, 7.5) + 12 + half)
        canv.drawCentredString(centre, self.footer_y, code)
        if self.info.marking:
            canv.setFont(FONT_BOLD, 7.5)
            canv.setFillColor(INK)
            canv.drawString(self.margin, self.footer_y - 4 * mm, self.info.marking)
        canv.restoreState()
