"""The CSV renderer: UTF-8 with BOM, ``;``, CRLF, RFC 4180 quoting, German cells, safe text."""

from __future__ import annotations

import csv
import io

from opal.renderers import Rendered, register
from opal.renderers.cells import format_cell, format_date, format_datetime, format_param, safe_text
from opal.result import Result


def render_csv(result: Result) -> str:
    """The CSV text: a short block (title, unit, parameters, dates), an empty line, the table."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    head: list[tuple[str, str]] = [("Bericht", f"{result.code} {result.title}")]
    if result.unit:
        head.append(("Einheit", result.unit))
    head += [(p.label, format_param(p)) for p in result.params]
    head += [("Datenstand", format_date(result.as_of)),
             ("Erstellt", format_datetime(result.generated_at))]
    for label, value in head:
        writer.writerow([safe_text(label), safe_text(value)])
    writer.writerow([])
    writer.writerow([safe_text(c.label) for c in result.columns])
    for row in result.rows:
        writer.writerow([format_cell(c, row.get(c.key), spreadsheet=True)
                         for c in result.columns])
    return out.getvalue()


class CsvRenderer:
    fmt = "csv"
    mimetype = "text/csv; charset=utf-8"

    def render(self, result: Result) -> Rendered:
        """Render ``result`` as CSV for German Excel (BOM, semicolon)."""
        body = ("\ufeff" + render_csv(result)).encode("utf-8")
        return Rendered(result.file_stem() + ".csv", self.mimetype, body)


register(CsvRenderer())
