"""A chart as vector graphics in the PDF (reportlab.graphics): the same layout as the page's
SVG (``opal.charts.layout``), scaled to the frame, y flipped (PDF y runs upwards).

Speed: reportlab sets the whole graphics state for every shape it draws, so shapes of one
colour are one ``Path`` (grid lines, axes, a series' markers, its bars) and texts are plain
``String``s in the flipped coordinates rather than each in its own transformed group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from reportlab.graphics.shapes import Drawing, Group, Path, PolyLine, String
from reportlab.lib import colors

from opal import charts
from opal.renderers.pdfpage import FONT, FONT_BOLD, printable
from opal.renderers.svgchart import COLOURS, GRID, INK, MARK, gap_y

#: the chart never gets wider than this (pt): its 9-10 pt type comes out at 7.5-8.3 pt, the
#: table's size, and a year of months still fits below it on the first landscape page
MAX_WIDTH = 600.0
TITLE = 18.0  # chart units above the plot's area for the title line
_INK = colors.HexColor(INK)
#: chart units (y downwards) -> drawing units (y upwards)
Flip = Callable[[float], float]


def drawing(chart: charts.Chart, width: float) -> Drawing:
    """The chart as a Drawing ``width`` points wide (at most ``MAX_WIDTH``), height in
    proportion."""
    lay = charts.layout(chart)
    scale = min(width, MAX_WIDTH) / lay.width
    height = lay.height + TITLE
    d = Drawing(lay.width * scale, height * scale)
    g = Group()
    g.transform = (scale, 0, 0, scale, 0, 0)

    def fy(y: float) -> float:  # chart units (y downwards, below the title) -> drawing units
        return height - TITLE - y

    left, top, right, bottom = lay.plot
    g.add(_lines(((left, fy(t.y), right, fy(t.y)) for t in lay.ticks), GRID, 0.6))
    for tick in lay.ticks:
        g.add(_text(left - 6, fy(tick.y + 4), tick.text, anchor="end"))
    axes = [(left, fy(top), left, fy(bottom)), (left, fy(bottom), right, fy(bottom))]
    if lay.zero_y is not None:
        axes.append((left, fy(lay.zero_y), right, fy(lay.zero_y)))
    g.add(_lines(axes, INK, 0.8))
    for label in lay.x_labels:
        g.add(_text(label.x, fy(bottom + 16), label.text, size=10))
    y_label = Group(_text(0, 0, chart.y_label, size=10))
    y_label.transform = (0, 1, -1, 0, 14 + 3, fy((top + bottom) / 2))
    g.add(y_label)
    for drawn in lay.drawn:
        _series(g, drawn, gap_y(lay), fy)
    _legend(g, lay, fy)
    g.add(_text(0, height - 12, chart.title, anchor="start", size=11, bold=True))
    d.add(g)
    return d


def _text(x: float, y: float, text: str, *, anchor: str = "middle", size: float = 9,
          bold: bool = False) -> String:
    return String(x, y, printable(text), fontName=FONT_BOLD if bold else FONT, fontSize=size,
                  fillColor=_INK, textAnchor=anchor)


def _lines(lines: Iterable[tuple[float, float, float, float]], colour: str,
           width: float) -> Path:
    """Straight lines of one colour as one path."""
    path = Path(strokeColor=colors.HexColor(colour), strokeWidth=width, fillColor=None)
    for x1, y1, x2, y2 in lines:
        path.moveTo(x1, y1)
        path.lineTo(x2, y2)
    return path


def _rects(rects: Iterable[tuple[float, float, float, float]], colour: colors.Color) -> Path:
    """Filled rectangles of one colour (x, lower y, width, height) as one path."""
    path = Path(fillColor=colour, strokeColor=None)
    for x, y, w, h in rects:
        path.moveTo(x, y)
        path.lineTo(x + w, y)
        path.lineTo(x + w, y + h)
        path.lineTo(x, y + h)
        path.closePath()
    return path


def _series(g: Group, drawn: charts.DrawnSeries, gap_at: float, fy: Flip) -> None:
    colour = colors.HexColor(COLOURS[drawn.index % len(COLOURS)])
    dash = [6, 4] if drawn.series.dashed else None
    for segment in drawn.segments:
        g.add(PolyLine([c for x, y in segment for c in (x, fy(y))], strokeColor=colour,
                       strokeWidth=2, strokeDashArray=dash, fillColor=None))
    if drawn.bars:
        g.add(_rects(((b.x, fy(b.y + b.height), b.width, b.height) for b in drawn.bars),
                     colour))
    for bar in drawn.bars:
        label_y = bar.y - 4 if bar.point.value >= 0 else bar.y + bar.height + 12
        g.add(_text(bar.point.x, fy(label_y), bar.point.text))
    for label in drawn.gap_labels:
        g.add(_text(label.x, fy(gap_at), label.text))
    if drawn.points:  # one filled square per drawn value, in order (tests read them back)
        g.add(_rects(((p.x - MARK / 2, fy(p.y + MARK / 2), MARK, MARK) for p in drawn.points),
                     colour))


def _legend(g: Group, lay: charts.Layout, fy: Flip) -> None:
    x = lay.plot[0]
    for drawn in lay.drawn:
        colour = colors.HexColor(COLOURS[drawn.index % len(COLOURS)])
        g.add(PolyLine([x, fy(14), x + 24, fy(14)], strokeColor=colour, strokeWidth=2,
                       strokeDashArray=[6, 4] if drawn.series.dashed else None))
        g.add(_text(x + 30, fy(18), drawn.series.label, anchor="start"))
        x += 40 + 7 * len(drawn.series.label)
