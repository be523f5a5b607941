"""The CSV renderer: UTF-8 with BOM, ``;``, CRLF, RFC 4180 quoting, German cells, safe text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from functools import partial

from opal.renderers import BATCH, Rendered, register, utf8_stream
from opal.renderers.cells import format_cell, format_date, format_datetime, format_param, safe_text
from opal.result import Result


def csv_chunks(result: Result, batch: int = BATCH) -> Iterator[str]:
    """The CSV text in pieces of ``batch`` rows, after the BOM, a short block (title, unit,
    parameters, dates) and an empty line; joined, the pieces are the whole file."""
    out = io.StringIO()
    out.write("\ufeff")  # the BOM: German Excel then reads UTF-8
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
    for n, row in enumerate(result.rows, 1):
        writer.writerow([format_cell(c, row.get(c.key), spreadsheet=True)
                         for c in result.columns])
        if n % batch == 0:
            yield _drain(out)
    if out.tell():
        yield _drain(out)


def _drain(out: io.StringIO) -> str:
    """Take the text written so far and empty the buffer for the next batch."""
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text


class CsvRenderer:
    fmt = "csv"
    mimetype = "text/csv; charset=utf-8"
    batch = BATCH  # rows per chunk (tests make it small)

    def render(self, result: Result) -> Rendered:
        """Render ``result`` as CSV for German Excel (BOM, semicolon), streamed in chunks."""
        chunks = utf8_stream(partial(csv_chunks, result, self.batch))
        return Rendered(result.file_stem() + ".csv", self.mimetype, chunks)


register(CsvRenderer())
