"""The renderer registry: the one list of formats. A new format is its module (a ``Format`` and a
``render``) plus one entry in ``REGISTRY``; catalogue check, report page, download path and
``opal run`` all read it from here."""

from __future__ import annotations

from opal.renderers import csv, html, json, pdf, xlsx
from opal.renderers.base import BATCH, Format, Rendered, Renderer, utf8_stream

#: every format, in the order the report page offers the downloads
REGISTRY: tuple[Renderer, ...] = (
    html.HtmlRenderer(),
    pdf.PdfRenderer(),
    xlsx.XlsxRenderer(),
    csv.CsvRenderer(),
    json.JsonRenderer(),
)
_BY_NAME: dict[str, Renderer] = {r.format.name: r for r in REGISTRY}
#: the format names (``formats`` in a report definition, ``opal run --format``)
FORMAT_NAMES: tuple[str, ...] = tuple(_BY_NAME)
#: the formats sent as files from ``/reports/Rnn.<name>``
DOWNLOADS: tuple[Format, ...] = tuple(r.format for r in REGISTRY if r.format.download)


def get_renderer(fmt: str) -> Renderer:
    """Return the renderer of ``fmt``; KeyError for a format OPAL does not know."""
    return _BY_NAME[fmt]


def get_format(fmt: str) -> Format | None:
    """Return the declaration of ``fmt``, or None."""
    found = _BY_NAME.get(fmt)
    return None if found is None else found.format


__all__ = ["BATCH", "DOWNLOADS", "FORMAT_NAMES", "REGISTRY", "Format", "Rendered", "Renderer",
           "get_format", "get_renderer", "utf8_stream"]
