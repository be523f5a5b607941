"""A chart as inline SVG for the report page: drawn on the server from ``opal.charts.layout``,
no script, presentation attributes only (the CSP allows no inline style), ``<title>`` and
``<desc>`` as its accessible name and description; the table beside it has the numbers."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

from opal import charts

#: line/bar colour and marker per series position (blue value, orange target)
COLOURS = ("#1f5f99", "#b3541e", "#3b7d3b")
INK = "#1b2733"
GRID = "#d5dbe1"
FONT = "DejaVu Sans, Verdana, sans-serif"
MARK = 4.0  # the side of a point's square marker


def _n(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, text: str, *, anchor: str = "middle", size: float = 11,
          extra: str = "") -> str:
    return (f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" font-size="{_n(size)}" '
            f'fill="{INK}"{extra}>{escape(text)}</text>')


def svg(chart: charts.Chart, ident: str = "chart") -> Markup:
    """The chart as one ``<svg>`` element (``ident`` makes the ids of title and desc unique)."""
    lay = charts.layout(chart)
    left, top, right, bottom = lay.plot
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
           f'viewBox="0 0 {_n(lay.width)} {_n(lay.height)}" width="{_n(lay.width)}" '
           f'height="{_n(lay.height)}" font-family="{FONT}" '
           f'aria-labelledby="{ident}-title" aria-describedby="{ident}-desc" '
           f'data-kind="{chart.kind}">',
           f'<title id="{ident}-title">{escape(chart.title)}</title>',
           f'<desc id="{ident}-desc">{escape(chart.desc)}</desc>']
    out.append('<g class="axis">')
    for tick in lay.ticks:
        out.append(f'<line x1="{_n(left)}" x2="{_n(right)}" y1="{_n(tick.y)}" y2="{_n(tick.y)}" '
                   f'stroke="{GRID}" stroke-width="1"/>')
        out.append(_text(left - 6, tick.y + 4, tick.text, anchor="end",
                         extra=f' class="tick" data-value="{tick.value:f}"'))
    if lay.zero_y is not None:
        out.append(f'<line x1="{_n(left)}" x2="{_n(right)}" y1="{_n(lay.zero_y)}" '
                   f'y2="{_n(lay.zero_y)}" stroke="{INK}" stroke-width="1"/>')
    out.append(f'<line x1="{_n(left)}" x2="{_n(left)}" y1="{_n(top)}" y2="{_n(bottom)}" '
               f'stroke="{INK}" stroke-width="1"/>')
    out.append(f'<line x1="{_n(left)}" x2="{_n(right)}" y1="{_n(bottom)}" y2="{_n(bottom)}" '
               f'stroke="{INK}" stroke-width="1"/>')
    for label in lay.x_labels:
        out.append(_text(label.x, bottom + 16, label.text, size=10))
    out.append(_text(14, (top + bottom) / 2, chart.y_label, size=10,
                     extra=f' transform="rotate(-90 14 {_n((top + bottom) / 2)})"'))
    out.append("</g>")
    for drawn in lay.drawn:
        out.extend(_series(drawn, gap_y(lay)))
    out.extend(_legend(lay))
    out.append("</svg>")
    return Markup("".join(out))


def _series(drawn: charts.DrawnSeries, gap_at: float) -> list[str]:
    colour = COLOURS[drawn.index % len(COLOURS)]
    dash = ' stroke-dasharray="6 4"' if drawn.series.dashed else ""
    out = [f'<g class="series" data-series="{escape(drawn.series.key)}">']
    for segment in drawn.segments:
        coords = " ".join(f"{_n(x)},{_n(y)}" for x, y in segment)
        out.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" '
                   f'stroke-width="2"{dash}/>')
    for bar in drawn.bars:
        out.append(f'<rect x="{_n(bar.x)}" y="{_n(bar.y)}" width="{_n(bar.width)}" '
                   f'height="{_n(bar.height)}" fill="{colour}"/>')
        label_y = bar.y - 4 if bar.point.value >= 0 else bar.y + bar.height + 12
        out.append(_text(bar.point.x, label_y, bar.point.text, size=10))
    for label in drawn.gap_labels:
        out.append(_text(label.x, gap_at, label.text, size=10,
                         extra=' class="gap"'))
    for p in drawn.points:
        out.append(f'<rect class="point" x="{_n(p.x - MARK / 2)}" y="{_n(p.y - MARK / 2)}" '
                   f'width="{_n(MARK)}" height="{_n(MARK)}" fill="{colour}" '
                   f'data-category="{escape(p.category)}" data-value="{escape(p.text)}">'
                   f'<title>{escape(p.category)}: {escape(drawn.series.label)} '
                   f'{escape(p.text)}</title></rect>')
    out.append("</g>")
    return out


def gap_y(lay: charts.Layout) -> float:
    """Where a gap's mark sits: above the zero line of a bar chart, on the x axis of a line."""
    return lay.base_y - 4 if lay.chart.kind == "bar" else lay.plot[3] - 4


def _legend(lay: charts.Layout) -> list[str]:
    out = ['<g class="legend">']
    x = lay.plot[0]
    for drawn in lay.drawn:
        colour = COLOURS[drawn.index % len(COLOURS)]
        dash = ' stroke-dasharray="6 4"' if drawn.series.dashed else ""
        out.append(f'<line x1="{_n(x)}" x2="{_n(x + 24)}" y1="14" y2="14" stroke="{colour}" '
                   f'stroke-width="{3 if lay.chart.kind == "bar" else 2}"{dash}/>')
        out.append(_text(x + 30, 18, drawn.series.label, anchor="start"))
        x += 40 + 7 * len(drawn.series.label)
    out.append("</g>")
    return out
