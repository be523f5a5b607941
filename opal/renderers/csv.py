"""The CSV renderer: for machines: the header row first, UTF-8 with BOM, ``;``, CRLF, RFC 4180
quoting, German cells (TT.MM.JJJJ, ja/nein, decimal comma), labels, safe text."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from functools import partial

from opal.labels import labeller, shown_row
from opal.localtime import abbreviation, to_local
from opal.renderers.base import BATCH, Format, Rendered, utf8_stream
from opal.renderers.cells import SUPPRESSED_LEGEND, format_cell, safe_text
from opal.result import SUPPRESSED, Result


def csv_chunks(result: Result, batch: int = BATCH) -> Iterator[str]:
    """The CSV text in pieces of ``batch`` rows, after the BOM: the header row first, then the
    data (title, data date and time made are in the file name); joined, the whole file."""
    out = io.StringIO()
    out.write("\ufeff")  # the BOM: German Excel then reads UTF-8
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([safe_text(c.label) for c in result.columns])
    shows = labeller(result)
    keys = [c.key for c in result.columns]
    for n, row in enumerate(result.rows, 1):
        writer.writerow([format_cell(c, v, spreadsheet=True)
                         for c, v in zip(result.columns, shown_row(row, keys, shows),
                                         strict=True)])
        if n % batch == 0:
            yield _drain(out)
    if result.suppressed_cells or any(v is SUPPRESSED for r in result.rows for v in r.values()):
        writer.writerow([SUPPRESSED_LEGEND])  # below the data: "wherever a * appears"
    for note in result.notes:  # below the data too (R17 on a format-1 export)
        writer.writerow([safe_text(note)])
    if out.tell():
        yield _drain(out)


_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
                       "ß": "ss"})


def _slug(text: str) -> str:
    """ASCII letters, digits and ``-`` only: safe in any file system and header."""
    folded = unicodedata.normalize("NFKD", text.translate(_FOLD))
    plain = "".join(ch for ch in folded if ch.isascii())
    return re.sub(r"[^A-Za-z0-9]+", "-", plain).strip("-")[:80]


def csv_filename(result: Result) -> str:
    """``OPAL_R02_<Titel>_Datenstand-2026-11-23_erstellt-2026-11-24_0712_MEZ.csv``: the CSV has
    no block above its header, so the file name carries title, data date and time made."""
    local = to_local(result.generated_at, result.timezone)
    made = f"{local.strftime('%Y-%m-%d_%H%M%S')}_{_slug(abbreviation(local))}"
    return (f"OPAL_{result.code}_{_slug(result.title)}_Datenstand-{result.as_of.isoformat()}"
            f"_erstellt-{made}.csv")


def _drain(out: io.StringIO) -> str:
    """Take the text written so far and empty the buffer for the next batch."""
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text


FORMAT = Format("csv", "CSV", "text/csv; charset=utf-8", download=True, streams=True)


class CsvRenderer:
    format = FORMAT
    batch = BATCH  # rows per chunk (tests make it small)

    def render(self, result: Result) -> Rendered:
        """Render ``result`` as CSV for German Excel (BOM, semicolon), streamed in chunks."""
        chunks = utf8_stream(partial(csv_chunks, result, self.batch))
        return FORMAT.rendered(result, chunks, filename=csv_filename(result))
