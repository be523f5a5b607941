"""The HTML list: one table model for the portal page and for ``opal run --format html``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from opal.renderers import Rendered, register
from opal.result import SUPPRESSED, ColumnDef, Result

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
PER_PAGE = 50


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


def format_cell(value: Any, column: ColumnDef) -> str:
    """Format one value the German way: 1.234,5 / TT.MM.JJJJ / ja, nein / * when suppressed."""
    if value is SUPPRESSED:
        return "*"
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or column.type == "bool":
        return "ja" if value else "nein"
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if column.type == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value).strftime("%d.%m.%Y")
        except ValueError:
            return value
    if isinstance(value, int | Decimal | Fraction | float) and column.numeric:
        return german_number(value, column.decimals if column.type == "decimal" else 0)
    return str(value)


def german_number(value: Any, decimals: int) -> str:
    """Return ``value`` with a thousands dot and a decimal comma, rounded half away from zero."""
    exact = Decimal(value.numerator) / Decimal(value.denominator) \
        if isinstance(value, Fraction) else Decimal(str(value))
    quant = Decimal(1).scaleb(-decimals)
    rounded = exact.quantize(quant, rounding=ROUND_HALF_UP)
    text = f"{rounded:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def _total(rows: Sequence[dict[str, Any]], column: ColumnDef) -> str:
    values = [r.get(column.key) for r in rows]
    numbers = [v for v in values if isinstance(v, int | Decimal | Fraction) and v is not True
               and v is not False]
    if any(v is SUPPRESSED for v in values):
        return "*"
    return format_cell(sum(numbers, Decimal(0)) if column.type == "decimal" else sum(numbers),
                       column)


def build_table(result: Result, *, page: int = 1, per_page: int | None = None,
                sortable: Sequence[str] = (),
                sort_href: Callable[[str, bool], str] | None = None) -> Table:
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
    rows = [[(format_cell(r.get(c.key), c), c.numeric) for c in cols] for r in shown]
    totals = None
    if result.kind == "list" and any(c.total for c in cols) and total:
        totals = [_total(result.rows, c) if c.total else "" for c in cols]
        if not cols[0].total:
            totals[0] = "Summe"
    first = (page - 1) * size + 1 if total else 0
    return Table(headers, rows, totals, page, pages, first, first + len(shown) - 1 if total
                 else 0, total)


def environment() -> Environment:
    """A Jinja environment over ``templates/`` with autoescape always on."""
    return Environment(loader=FileSystemLoader(TEMPLATES),
                       autoescape=select_autoescape(default=True, default_for_string=True))


class HtmlRenderer:
    """A standalone HTML document of the whole list (all rows, no paging)."""

    fmt = "html"
    mimetype = "text/html; charset=utf-8"

    def render(self, result: Result) -> Rendered:
        table = build_table(result)
        body = environment().get_template("report_standalone.html").render(
            result=result, table=table, generated=result.generated_at.strftime(
                "%d.%m.%Y %H:%M UTC"), as_of=result.as_of.strftime("%d.%m.%Y"),
            params=[(p.label, display_param(p.value)) for p in result.params])
        return Rendered(result.file_stem() + ".html", self.mimetype, body.encode("utf-8"))


def display_param(value: Any) -> str:
    """Show a parameter value as the German UI does: dates TT.MM.JJJJ, ja/nein, '(alle)'."""
    if value is None or value == "":
        return "(alle)"
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date.fromisoformat(value).strftime("%d.%m.%Y")
        except ValueError:
            return value
    if isinstance(value, str) and len(value) == 7 and value[4] == "-":
        return f"{value[5:]}/{value[:4]}"
    return str(value)


register(HtmlRenderer())
