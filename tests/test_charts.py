"""Charts (``opal.charts``): the points drawn are the table's values, read back from the SVG in
the HTML and from the PDF's drawing operations; a suppressed or empty value is a gap, never a
zero; German labels; R18 a line with its target, R12/R13 bars.
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from config import Config
from opal import charts
from opal.context import Context
from opal.pipeline import RunRequest, run_file
from opal.renderers import get_renderer
from opal.renderers.svgchart import svg
from opal.result import SUPPRESSED, ColumnDef, ParamValue, Result
from opal.targets import save
from tests.conftest import FIXED_NOW
from tests.test_reports_kennzahlen import CTRL, _ctx, _dispose, _export

__all__ = ["_dispose"]
NS = {"s": "http://www.w3.org/2000/svg"}


# --------------------------------------------------------------------------- read-back helpers


def svg_of(html: str) -> ET.Element:
    """The one inline ``<svg>`` of a page, parsed as XML (it must be well-formed)."""
    found = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    assert len(found) == 1
    return ET.fromstring(found[0])


class _Cells(HTMLParser):
    """The body cells of the page's result table, as text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_body = self._in_cell = False

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append([])
        elif tag == "td" and self._in_body:
            self._in_cell = True
            self.rows[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag == "td":
            self._in_cell = False

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.rows[-1][-1] += data.strip()


def table_of(html: str) -> list[list[str]]:
    parser = _Cells()
    parser.feed(html)
    return parser.rows


def svg_points(root: ET.Element, series: str) -> list[tuple[str, str, float, float]]:
    """(category, value text, x centre, y centre) of each drawn point of ``series``."""
    group = root.find(f".//s:g[@data-series='{series}']", NS)
    assert group is not None
    return [(r.get("data-category", ""), r.get("data-value", ""),
             float(r.get("x", "0")) + charts_mark() / 2, float(r.get("y", "0")) + charts_mark() / 2)
            for r in group.findall("s:rect[@class='point']", NS)]


def charts_mark() -> float:
    from opal.renderers.svgchart import MARK

    return MARK


def svg_scale(root: ET.Element) -> tuple[float, float, float, float]:
    """Two ticks of the y axis, (y, value) each, as the SVG states them: the axis to invert."""
    ticks = root.findall(".//s:text[@class='tick']", NS)
    first, last = ticks[0], ticks[-1]
    return (float(first.get("y", "0")) - 4, float(first.get("data-value", "0")),
            float(last.get("y", "0")) - 4, float(last.get("data-value", "0")))


def value_at(y: float, scale: tuple[float, float, float, float]) -> float:
    y0, v0, y1, v1 = scale
    return v0 + (y - y0) * (v1 - v0) / (y1 - y0)


def german(text: str) -> float:
    return float(text.replace(".", "").replace(",", "."))


_FILL = re.compile(r"([.\d]+ [.\d]+ [.\d]+) rg\n1 w\n0 J\n0 j\n\[\] 0 d\nn ([^\n]*)\nf\*")
_NUM = re.compile(r"-?[.\d]+")
_TICK = re.compile(r"BT 1 0 0 1 (-?[.\d]+) (-?[.\d]+) Tm /F2\+0 9 Tf [.\d]+ TL \((-?[.\d,]+)\) Tj")


def pdf_points(pdf: bytes, tmp: Path) -> tuple[list[tuple[str, float, float]], list[
        tuple[float, float]]]:
    """The point markers (colour, x, y of their centres) and y-axis ticks (y, value) of the
    chart on page 1, as the PDF's drawing operations state them (a series' markers are one
    filled path of 4 x 4 squares; a tick's label stands 4 below its line, left of the axis)."""
    path = tmp / "chart.pdf"
    path.write_bytes(pdf)
    ops = PdfReader(str(path)).pages[0].get_contents().get_data().decode("latin-1")
    markers = []
    for rgb, subpaths in _FILL.findall(ops):
        for sub in subpaths.split(" h")[:-1]:
            xs = [float(v) for v in _NUM.findall(sub)[0::2]]
            ys = [float(v) for v in _NUM.findall(sub)[1::2]]
            if round(max(xs) - min(xs), 3) == round(max(ys) - min(ys), 3) == 4:
                markers.append((rgb, min(xs) + 2, min(ys) + 2))
    ticks = [(float(y) + 4, german(t)) for x, y, t in _TICK.findall(ops) if float(x) < 60]
    return markers, ticks


def pdftext(pdf: bytes, tmp: Path) -> str:
    path = tmp / "text.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


VALUE_RGB = ".121569 .372549 .6"  # #1f5f99, the first series
TARGET_RGB = ".701961 .329412 .117647"  # #b3541e


# --------------------------------------------------------------------------- R18 end to end


@pytest.fixture
def chart_ctx(config: Config, tmp_path: Path) -> Iterator[Context]:
    ctx = _ctx(config, _export(tmp_path, "v2"))
    for year, value in ((2025, 300), (2026, 400)):
        save(ctx.app_db, {"year": year, "figure": "K2", "office": "", "value_e1": value},
             "admin", FIXED_NOW)
    yield ctx


def _file(ctx: Context, code: str, args: dict[str, str], fmt: str) -> bytes:
    return b"".join(run_file(ctx, RunRequest(code, CTRL, args, fmt)).chunks())


def test_r18_svg_points_are_the_table_values(chart_ctx: Context) -> None:
    html = _file(chart_ctx, "R18", {"months": "12"}, "html").decode("utf-8")
    root, table = svg_of(html), table_of(html)
    assert root.get("role") == "img"
    assert root.findtext("s:title", namespaces=NS) == "K2 – Integrationsquote im Zeitverlauf"
    desc = root.findtext("s:desc", namespaces=NS) or ""
    assert desc.startswith("Liniendiagramm: K2 – Integrationsquote im Zeitverlauf, Nov 2025 "
                           "bis Okt 2026") and "anonymisiert: 6" in desc
    # the table: month, value, numerator, denominator, target
    assert [r[0] for r in table] == [f"{y}-{m:02d}" for y, m in
                                     [(2025, 11), (2025, 12)] + [(2026, m) for m in range(1, 11)]]
    values = svg_points(root, "value")
    shown = [(charts.month_label(r[0]), r[1]) for r in table if r[1] not in ("*", "")]
    assert [(c, t) for c, t, _, _ in values] == shown
    assert shown[-1] == ("Okt 2026", "46,8") and len(shown) == 6  # 2026-05 .. 2026-10
    scale = svg_scale(root)
    for _, text, _, y in values:  # the drawn height is the value, within a pixel's rounding
        assert value_at(y, scale) == pytest.approx(german(text), abs=0.05)
    targets = svg_points(root, "target")
    assert [(c, t) for c, t, _, _ in targets] == [
        (charts.month_label(r[0]), r[4]) for r in table]  # every month has its year's target
    assert {t for _, t, _, _ in targets} == {"30,0", "40,0"}
    for _, text, _, y in targets:
        assert value_at(y, scale) == pytest.approx(german(text), abs=0.05)
    # the gap: the value line starts at the first shown month, the suppressed ones are "*"
    lines = root.findall(".//s:g[@data-series='value']/s:polyline", NS)
    assert len(lines) == 1 and len(lines[0].get("points", "").split()) == 6
    stars = root.findall(".//s:g[@data-series='value']/s:text[@class='gap']", NS)
    assert [s.text for s in stars] == ["*"] * 6
    assert root.find(".//s:g[@data-series='target']/s:polyline", NS).get(  # type: ignore
        "stroke-dasharray") == "6 4"


def test_r18_pdf_draws_the_same_points(chart_ctx: Context, tmp_path: Path) -> None:
    args = {"months": "12"}
    html = _file(chart_ctx, "R18", args, "html").decode("utf-8")
    root = svg_of(html)
    pdf = _file(chart_ctx, "R18", args, "pdf")
    markers, ticks = pdf_points(pdf, tmp_path)
    value = [(x, y) for rgb, x, y in markers if rgb == VALUE_RGB]
    target = [(x, y) for rgb, x, y in markers if rgb == TARGET_RGB]
    drawn = [x for _, _, x, _ in svg_points(root, "value")]
    assert [x for x, _ in value] == [pytest.approx(x, abs=0.01) for x in drawn]  # SVG: 2 places
    assert len(target) == 12
    # read back on their own: the PDF's tick labels give the axis, the markers the values
    (y0, v0), (y1, v1) = ticks[0], ticks[-1]
    table = [r for r in table_of(html) if r[1] not in ("*", "")]
    assert [round(v0 + (y - y0) * (v1 - v0) / (y1 - y0), 1) for _, y in value] == [
        german(r[1]) for r in table]
    text = pdftext(pdf, tmp_path)
    assert "K2 – Integrationsquote im Zeitverlauf" in text
    assert "Wert in %" in text or "Wert in" in text
    for label in ("Nov 2025", "Okt 2026", "Zielwert", "46,8"):
        assert label in text
    # the chart stands above the table on page 1
    page1 = text.split("\f")[0]
    assert page1.index("im Zeitverlauf\n") < page1.index("Okt 2026") < page1.index("Zielwert %")


def test_a_chart_is_html_and_pdf_only(chart_ctx: Context) -> None:
    for fmt in ("csv", "json"):
        assert b"<svg" not in _file(chart_ctx, "R18", {}, fmt)


# --------------------------------------------------------------------------- hand-made results


def _result(code: str, columns: list[ColumnDef], rows: list[dict[str, Any]],
            params: tuple[ParamValue, ...] = ()) -> Result:
    return Result(code=code, title="T", kind="aggregate", orientation="landscape",
                  params=params, columns=tuple(columns), rows=rows, as_of=date(2026, 11, 23),
                  generated_at=FIXED_NOW)


TREND_COLS = [ColumnDef("month", "Monat"), ColumnDef("value", "Wert %", "decimal", 1),
              ColumnDef("target", "Zielwert %", "decimal", 1)]


def _trend(values: list[Any]) -> Result:
    rows = [{"month": f"2026-{i + 1:02d}", "value": v, "target": None}
            for i, v in enumerate(values)]
    return _result("R18", TREND_COLS, rows[::-1],  # sorted by value desc, say: still by month
                   (ParamValue("figure", "Kennzahl", "K3"),))


def test_a_suppressed_or_empty_month_is_a_gap_never_a_zero(tmp_path: Path) -> None:
    d = Decimal
    result = _trend([d("1.0"), SUPPRESSED, d("3.0"), d("4.0"), None, d("-6.0"), d("7.5")])
    chart = charts.chart_for(result)
    assert chart is not None and chart.title == "K3 – Veränderung des Bestands an " \
        "Langzeitleistungsbeziehenden im Zeitverlauf"
    assert chart.categories == ("Jan 2026", "Feb 2026", "Mär 2026", "Apr 2026", "Mai 2026",
                                "Jun 2026", "Jul 2026")
    lay = charts.layout(chart)
    value = lay.drawn[0]
    assert [p.category for p in value.points] == ["Jan 2026", "Mär 2026", "Apr 2026",
                                                  "Jun 2026", "Jul 2026"]
    # lines only between neighbours: Mär-Apr and Jun-Jul; Jan stands alone as a marker
    assert [len(s) for s in value.segments] == [2, 2]
    assert [lab.text for lab in value.gap_labels] == ["*"]  # Feb; May is empty, no star
    assert lay.zero_y is not None  # -6,0: the axis crosses 0 and draws its line
    assert [t.text for t in lay.ticks] == ["-10", "-5", "0", "5", "10"]  # 13,5 / 5: step 5
    root = ET.fromstring(str(svg(chart)))
    assert len(root.findall(".//s:g[@data-series='value']/s:polyline", NS)) == 2
    assert [r.get("data-value") for r in root.findall(
        ".//s:g[@data-series='value']/s:rect", NS)] == ["1,0", "3,0", "4,0", "-6,0", "7,5"]
    assert "Zielwert (nicht gesetzt)" in ET.tostring(root, encoding="unicode")
    pdf = get_renderer("pdf").render(result).body
    assert isinstance(pdf, bytes)
    markers, _ = pdf_points(pdf, tmp_path)
    assert len([m for m in markers if m[0] == VALUE_RGB]) == 5


def test_bars_r12_and_r13(tmp_path: Path) -> None:
    cols = [ColumnDef("group", "Gruppe"), ColumnDef("k2", "K2 %", "decimal", 1)]
    rows = [{"group": "Ahaus", "k2": Decimal("12.5")}, {"group": "Borken", "k2": SUPPRESSED},
            {"group": "Vreden", "k2": None}, {"group": "Gesamt", "k2": Decimal("20.0")}]
    result = _result("R12", cols, rows, (ParamValue("group_by", "Gliederung", "office"),))
    chart = charts.chart_for(result)
    assert chart is not None and chart.kind == "bar"
    assert chart.title == "Integrationsquote K2 je Dienststelle"
    assert chart.categories == ("Ahaus", "Borken", "Vreden")  # no Gesamt bar
    lay = charts.layout(chart)
    bars = lay.drawn[0]
    assert [(b.point.category, b.point.text) for b in bars.bars] == [("Ahaus", "12,5")]
    assert bars.bars[0].y + bars.bars[0].height == lay.base_y  # from 0 up
    assert [g.text for g in bars.gap_labels] == ["*", "–"]
    html = get_renderer("html").render(result).body
    assert isinstance(html, bytes)
    root = svg_of(html.decode("utf-8"))
    texts = [t.text for t in root.iter(f"{{{NS['s']}}}text")]
    assert "12,5" in texts and "*" in texts and "Ahaus" in texts
    pdf = get_renderer("pdf").render(result).body
    assert isinstance(pdf, bytes)
    text = pdftext(pdf, tmp_path)
    assert "Integrationsquote K2 je Dienststelle" in text and "12,5" in text
    by_sex = _result("R12", cols, rows[:1], (ParamValue("group_by", "Gliederung", "sex"),))
    assert charts.chart_for(by_sex).title == "Integrationsquote K2 je Geschlecht"  # type: ignore
    r13 = _result("R13", [ColumnDef("office", "Dienststelle"), ColumnDef("k3", "K3 %",
                                                                        "decimal", 1)],
                  [{"office": "Ahaus", "k3": Decimal("-4.2")}])
    chart13 = charts.chart_for(r13)
    assert chart13 is not None and chart13.y_label == "K3 in %"
    bar = charts.layout(chart13).drawn[0].bars[0]
    assert bar.y == charts.layout(chart13).base_y  # a negative bar hangs below 0


def test_reports_without_a_chart_draw_none() -> None:
    result = _result("R16", [ColumnDef("office", "Dienststelle")], [{"office": "A"}])
    assert charts.chart_for(result) is None
    assert charts.chart_for(_trend([])) is None  # no rows: nothing to draw


def test_nice_steps_and_tick_texts() -> None:
    assert [charts.nice_step(Decimal(x)) for x in ("50", "7", "0.3", "1234")] == [
        Decimal(10), Decimal(2), Decimal("0.1"), Decimal(250)]
    assert charts.tick_text(Decimal("1250"), Decimal("250")) == "1.250"
    assert charts.tick_text(Decimal("-2.5"), Decimal("2.5")) == "-2,5"
