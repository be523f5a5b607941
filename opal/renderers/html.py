"""The HTML list: one table model for the portal page and for ``opal run --format html``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape as escape_text
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from opal import charts
from opal.labels import labeller, shown_row
from opal.renderers import cells
from opal.renderers.base import Format, Rendered
from opal.renderers.svgchart import svg
from opal.resources import resource_dir
from opal.result import ColumnDef, Result

TEMPLATES = resource_dir("templates")
#: the report page itself; ``opal run --format html`` writes a standalone document
FORMAT = Format("html", "HTML", "text/html; charset=utf-8", download=False, streams=False)
PER_PAGE = 50
#: the first-column label of a report's total row
TOTAL_LABEL = "Gesamt"


@dataclass(frozen=True)
class HeaderCell:
    """A column heading; ``href`` is set when the column is in the sort whitelist."""

    label: str
    numeric: bool
    href: str | None = None
    sorted: str = ""  # "", "asc" or "desc"


@dataclass(frozen=True)
class Table:
    """Everything the table fragment needs: already formatted, nothing left to compute."""

    headers: list[HeaderCell]
    rows: list[list[tuple[str, bool]]]  # (text, numeric) per cell
    totals: list[str] | None
    page: int
    pages: int
    first: int  # 1-based number of the first row shown
    last: int
    row_count: int
    total_rows: frozenset[int] = frozenset()  # indexes in ``rows`` of the report's Gesamt rows
    legend: str = ""  # the ``*`` legend when a suppressed cell is shown
    links: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, column) -> href

    def body_html(self) -> Markup:
        """The ``<tbody>`` rows, every text and link escaped: built here, not in the template,
        because a Jinja loop cost a list page more than its query (bench/peer.py). Escaped as
        plain text (``html.escape``: & < > " ' all replaced), not cell by cell into Markup
        objects."""
        out = []
        for r, row in enumerate(self.rows):
            cells_html = []
            for c, (text, numeric) in enumerate(row):
                td = '<td class="num">' if numeric else "<td>"
                href = self.links.get((r, c))
                shown = escape_text(text)
                cells_html.append(f'{td}<a href="{escape_text(href)}">{shown}</a></td>' if href
                                  else f"{td}{shown}</td>")
            tr = '<tr class="total">' if r in self.total_rows else "<tr>"
            out.append(f"{tr}{''.join(cells_html)}</tr>")
        return Markup("\n  ".join(out))


def format_cell(value: Any, column: ColumnDef) -> str:
    """Format one value as every format does: 1.234,5 / TT.MM.JJJJ / ja, nein / * suppressed
    (a text is itself: most cells of a person list)."""
    if type(value) is str:
        return value
    return cells.format_cell(column, value, thousands=True)


def build_table(result: Result, *, page: int = 1, per_page: int | None = None,
                sortable: Sequence[str] = (),
                sort_href: Callable[[str, bool], str] | None = None,
                links: Callable[[dict[str, Any]], dict[str, str]] | None = None) -> Table:
    """Build the table model; ``per_page`` None shows every row (downloads, CLI)."""
    cols = [c for c in result.columns if not c.hidden]
    headers = []
    for c in cols:
        href = state = None
        if sort_href is not None and c.key in sortable:
            state = ("desc" if result.desc else "asc") if result.sort == c.key else ""
            href = sort_href(c.key, state == "asc")
        headers.append(HeaderCell(c.label, c.numeric, href, state or ""))
    total = result.row_count
    size = per_page or max(total, 1)
    pages = max(1, -(-total // size))
    page = min(max(page, 1), pages)
    shown = result.rows[(page - 1) * size: page * size]
    shows = labeller(result)
    keys = [c.key for c in cols]
    rows = [[(format_cell(v, c), c.numeric) for v, c in zip(shown_row(r, keys, shows), cols,
                                                             strict=True)] for r in shown]
    sums = cells.totals(result) if total else None
    totals = None if sums is None else [format_cell(v, c) for v, c in zip(sums, cols, strict=True)]
    first = (page - 1) * size + 1 if total else 0
    first_key = cols[0].key if cols else ""
    hrefs: dict[tuple[int, int], str] = {}
    for i, row in enumerate(shown if links is not None else ()):
        assert links is not None
        for key, href in links(row).items():
            at = next((j for j, c in enumerate(cols) if c.key == key), None)
            if at is not None:
                hrefs[(i, at)] = href
    total_rows = frozenset(i for i, r in enumerate(shown) if r.get(first_key) == TOTAL_LABEL)
    shows_mark = any(text == cells.SUPPRESSED_MARK for row in rows for text, _ in row) or (
        totals is not None and cells.SUPPRESSED_MARK in totals)
    return Table(headers, rows, totals, page, pages, first, first + len(shown) - 1 if total
                 else 0, total, total_rows, cells.SUPPRESSED_LEGEND if shows_mark else "", hrefs)


def chart_svg(result: Result) -> Markup | None:
    """The report's chart as inline SVG (above the table), or None: ``opal.charts``."""
    chart = charts.chart_for(result)
    return None if chart is None else svg(chart, f"chart-{result.code}")


def environment() -> Environment:
    """A Jinja environment over ``templates/`` with autoescape always on."""
    return Environment(loader=FileSystemLoader(TEMPLATES),
                       autoescape=select_autoescape(default=True, default_for_string=True))


class HtmlRenderer:
    """A standalone HTML document of the whole list (all rows, no paging)."""

    format = FORMAT

    def render(self, result: Result) -> Rendered:
        table = build_table(result)
        head = cells.header(result)
        body = environment().get_template("report_standalone.html").render(
            result=result, table=table, generated=head.made, as_of=head.as_of,
            params=head.params, chart=chart_svg(result))
        return FORMAT.rendered(result, body.encode("utf-8"))
