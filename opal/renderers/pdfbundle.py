"""A bundle's PDF: one document of a cover with a table of contents and every part's pages, each
part on its own page template (its own header, size and margins), "Seite n von m" over all.

One layout pass: the parts' first pages are recorded while they are laid out, and the table of
contents' page numbers are drawn when the document is saved (``NumberedCanvas.late``), like the
total page count. The cover's contents list has one line per part, so its length never depends
on those numbers.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import BaseDocTemplate, Flowable, NextPageTemplate, PageBreak, Spacer

from opal.renderers.pdfpage import (
    FONT,
    INK,
    NumberedCanvas,
    PageInfo,
    ReportPage,
    para,
    printable,
    style,
)

TOC_SIZE = 10
TOC_LEADING = 16
#: room kept on a contents line for its page number (pt)
NUMBER_ROOM = 36


@dataclass(frozen=True)
class Part:
    """One part of a bundle: its line in the contents and its laid-out report page."""

    label: str
    page: ReportPage


class _PartStart(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """An invisible mark at the top of a part's first page: records that page's number."""

    def __init__(self, index: int, starts: list[int]) -> None:
        super().__init__()
        self.index, self.starts = index, starts
        self.width = self.height = 0

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return 0, 0

    def drawOn(self, canv: Any, x: float, y: float, _sW: float = 0) -> None:  # noqa: N802
        self.starts[self.index] = canv.page_number

    def draw(self) -> None:
        """Nothing to draw: the mark only records its page."""


class _ContentsLine(Flowable):  # type: ignore[misc]
    """One line of the contents: the part's label now, its first page once all are laid out."""

    def __init__(self, index: int, label: str, starts: list[int]) -> None:
        super().__init__()
        self.index, self.starts = index, starts
        self.label = printable(label)
        self.width, self.height = 0.0, float(TOC_LEADING)

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        room = avail_width - NUMBER_ROOM
        while self.label and stringWidth(self.label, FONT, TOC_SIZE) > room:
            self.label = self.label[:-2] + "…"
        return self.width, self.height

    def drawOn(self, canv: Any, x: float, y: float, _sW: float = 0) -> None:  # noqa: N802
        right, base = x + self.width, y + (TOC_LEADING - TOC_SIZE) / 2

        def number(late: Any) -> None:
            late.setFont(FONT, TOC_SIZE)
            late.setFillColor(INK)
            late.drawRightString(right, base, str(self.starts[self.index]))

        canv.late.setdefault(canv.page_number, []).append(number)
        super().drawOn(canv, x, y, _sW)

    def draw(self) -> None:
        """The label; the page number follows at save (``drawOn``)."""
        self.canv.setFont(FONT, TOC_SIZE)
        self.canv.setFillColor(INK)
        self.canv.drawString(0, (TOC_LEADING - TOC_SIZE) / 2, self.label)


class _Cover(ReportPage):
    """The cover: the bundle's title, data date and parameters in the header, the contents."""

    def __init__(self, info: PageInfo, parts: list[Part], starts: list[int]) -> None:
        super().__init__(info, wide=False)
        self.parts, self.starts = parts, starts

    def get_story(self) -> list[Flowable]:
        story: list[Flowable] = [
            para(f"Datenstand: {self.info.as_of}", style("cover-as-of", 10, space_after=2)),
            para(f"Erstellt: {self.info.created}", style("cover-made", 10, space_after=2)),
            Spacer(1, 14),
            para("Inhalt", style("contents", 12, bold=True, space_after=6)),
        ]
        story += [_ContentsLine(i, part.label, self.starts) for i, part in enumerate(self.parts)]
        return story


def build_bundle(info: PageInfo, parts: list[Part]) -> bytes:
    """Lay out the cover and every part (each from a new page, on its own template) as one
    PDF with "Seite n von m" over the whole document; return its bytes."""
    starts = [0] * len(parts)
    cover = _Cover(info, parts, starts)
    buf = io.BytesIO()
    doc = BaseDocTemplate(
        buf, pagesize=cover.pagesize, title=info.title, author="OPAL", creator="OPAL",
        subject=f"OPAL {info.code}", keywords="", lang="de-DE", initialFontName=FONT,
        initialFontSize=8)
    doc.addPageTemplates([cover.page_template("cover")]
                         + [part.page.page_template(f"part{i}") for i, part in enumerate(parts)])
    story = cover.get_story()
    for i, part in enumerate(parts):
        story += [NextPageTemplate(f"part{i}"), PageBreak(), _PartStart(i, starts)]
        story += part.page.get_story()
    doc.build(story, canvasmaker=NumberedCanvas)
    return buf.getvalue()
