"""Charts: one description built from a Result, laid out once, drawn twice (inline SVG in the
page, reportlab graphics in the PDF), so both show the same points as the table beside them.

``chart_for(result)`` says which reports have a chart (``CHARTS``: R18 a line of the value and
one of the target per month, R12 K2 and R13 K3 per group as bars) and reads the points from the
rows the renderers get: suppressed and empty values are gaps, never zeros. ``layout(chart)``
turns it into geometry in chart units (``WIDTH`` x ``HEIGHT``, y downwards) with every label
already formatted the German way; the renderers only draw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Literal

from opal.labels import labeller, shown_row
from opal.renderers.cells import format_number
from opal.result import SUPPRESSED, Result

Kind = Literal["line", "bar"]
WIDTH, HEIGHT = 720.0, 260.0
LEFT, RIGHT, TOP, BOTTOM = 60.0, 16.0, 30.0, 40.0
#: at most this many labels on the x axis (every k-th month)
MAX_X_LABELS = 12
MONTHS = ("Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez")
GAP_WORDS = {"suppressed": "anonymisiert", "empty": "leer"}


@dataclass(frozen=True)
class Series:
    """One line or set of bars: its German label, style and one value per category."""

    key: str
    label: str
    values: tuple[Decimal | None, ...]  # None: a gap (suppressed or empty)
    texts: tuple[str, ...]  # each value as the table prints it ("*" suppressed, "" empty)
    dashed: bool = False


@dataclass(frozen=True)
class Chart:
    """What a chart shows, independent of how it is drawn."""

    kind: Kind
    title: str
    desc: str
    y_label: str
    categories: tuple[str, ...]  # the x positions' labels (months, offices)
    series: tuple[Series, ...]


@dataclass(frozen=True)
class ChartSpec:
    """Which columns of a report a chart draws."""

    kind: Kind
    category: str  # the column whose (labelled) values are the x positions
    series: tuple[tuple[str, str, bool], ...]  # (column, German label, dashed)
    y_label: str
    title: str  # with {figure}: the label of the ``figure`` parameter


CHARTS: dict[str, ChartSpec] = {
    "R18": ChartSpec("line", "month", (("value", "Wert", False), ("target", "Zielwert", True)),
                     "Wert in %", "{figure} im Zeitverlauf"),
    "R12": ChartSpec("bar", "group", (("k2", "K2 Integrationsquote", False),), "K2 in %",
                     "Integrationsquote K2 je {group_by}"),
    "R13": ChartSpec("bar", "office", (("k3", "K3 Veränderung LZB", False),), "K3 in %",
                     "K3 – Veränderung des Bestands an LZB je Dienststelle"),
}


def chart_for(result: Result) -> Chart | None:
    """The chart of ``result`` (None for a report without one, or without rows to draw)."""
    spec = CHARTS.get(result.code)
    keys = {c.key for c in result.columns}
    if spec is None or spec.category not in keys or not result.rows:
        return None
    shows = labeller(result)
    rows = [r for r in result.rows if r.get(spec.category) != "Gesamt"]
    if spec.kind == "line":  # a time line runs oldest first, however the table is sorted
        rows = sorted(rows, key=lambda r: str(r.get(spec.category)))
    categories = tuple(_category(spec, shown_row(r, [spec.category], shows)[0]) for r in rows)
    series = tuple(_series(rows, key, label, dashed)
                   for key, label, dashed in spec.series if key in keys)
    series = tuple(s if any(t for t in s.texts) else replace(s, label=s.label + " (nicht gesetzt)")
                   for s in series)
    if not categories or not series:
        return None
    words = {p.name: _param_text(p) for p in result.params}
    title = spec.title.format(figure=words.get("figure", ""),
                              group_by=words.get("group_by", "Dienststelle"))
    return Chart(spec.kind, title, _desc(spec.kind, title, categories, series), spec.y_label,
                 categories, series)


def _param_text(param: Any) -> str:
    from opal.renderers.cells import format_param

    return format_param(param)


def _category(spec: ChartSpec, value: Any) -> str:
    if spec.category == "month" and isinstance(value, str):
        return month_label(value)
    return "–" if value is None else str(value)


def month_label(month: str) -> str:
    """``2026-10`` -> ``Okt 2026``."""
    year, _, mm = month.partition("-")
    return f"{MONTHS[int(mm) - 1]} {year}" if mm.isdigit() and 1 <= int(mm) <= 12 else month


def _series(rows: list[dict[str, Any]], key: str, label: str, dashed: bool) -> Series:
    values: list[Decimal | None] = []
    texts: list[str] = []
    for row in rows:
        value = row.get(key)
        number = Decimal(value) if isinstance(value, Decimal | int) and not isinstance(
            value, bool) else None
        values.append(number)
        texts.append("*" if value is SUPPRESSED else "" if number is None
                     else format_number(number, thousands=True))
    return Series(key, label, tuple(values), tuple(texts), dashed)


def _desc(kind: Kind, title: str, categories: Sequence[str], series: Sequence[Series]) -> str:
    """The text alternative: what is drawn, the range, the gaps; the table has the numbers."""
    shape = "Liniendiagramm" if kind == "line" else "Balkendiagramm"
    parts = [f"{shape}: {title}, {categories[0]} bis {categories[-1]}"
             if kind == "line" else f"{shape}: {title}, {len(categories)} Werte"]
    for s in series:
        gaps = [c for c, v, t in zip(categories, s.values, s.texts, strict=True) if v is None
                and t == "*"]
        empty = sum(1 for v, t in zip(s.values, s.texts, strict=True) if v is None and t != "*")
        note = f"{s.label}"
        if s.dashed:
            note += " (gestrichelt)"
        if gaps:
            note += f"; anonymisiert: {len(gaps)}"
        if empty:
            note += f"; leer: {empty}"
        parts.append(note)
    parts.append("Die Zahlen stehen in der Tabelle unter dem Diagramm.")
    return ". ".join(parts)


# --------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class Tick:
    y: float
    text: str
    value: Decimal


@dataclass(frozen=True)
class Label:
    x: float
    text: str


@dataclass(frozen=True)
class Point:
    """A drawn value: where, which category, the value and how the table prints it."""

    x: float
    y: float
    category: str
    value: Decimal
    text: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    point: Point


@dataclass(frozen=True)
class DrawnSeries:
    """One series laid out: line segments between gaps, point markers, bars."""

    series: Series
    index: int  # colour and marker by position
    segments: tuple[tuple[tuple[float, float], ...], ...]
    points: tuple[Point, ...]
    bars: tuple[Bar, ...]
    gap_labels: tuple[Label, ...]  # "*" where a value is suppressed (bars also "–" if empty)


@dataclass(frozen=True)
class Layout:
    """The chart in chart units (``WIDTH`` x ``HEIGHT``, y downwards)."""

    chart: Chart
    width: float
    height: float
    plot: tuple[float, float, float, float]  # left, top, right, bottom
    ticks: tuple[Tick, ...]
    x_labels: tuple[Label, ...]
    zero_y: float | None  # the 0 line when the axis crosses it
    base_y: float  # where bars start (0)
    drawn: tuple[DrawnSeries, ...]


def nice_step(span: Decimal) -> Decimal:
    """A step of 1, 2, 2.5 or 5 times a power of ten giving about five intervals."""
    raw = span / 5 if span > 0 else Decimal(1)
    power = Decimal(10) ** math.floor(math.log10(raw))
    for factor in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        if raw <= factor * power:
            return (factor * power).normalize()
    return 10 * power  # pragma: no cover - the loop ends at 10


def _axis(values: Sequence[Decimal]) -> tuple[Decimal, Decimal, Decimal]:
    low = min([Decimal(0), *values])
    high = max([Decimal(0), *values])
    if low == high:
        high = low + 1
    step = nice_step(high - low)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def tick_text(value: Decimal, step: Decimal) -> str:
    """A tick label with as many places as the step needs (decimal comma)."""
    places = max(0, -step.normalize().as_tuple().exponent)  # type: ignore[operator]
    return format_number(value.quantize(Decimal(1).scaleb(-places)), thousands=True)


def layout(chart: Chart) -> Layout:
    """Place every tick, label, point, line segment and bar of ``chart``."""
    left, top, right, bottom = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM
    values = [v for s in chart.series for v in s.values if v is not None]
    low, high, step = _axis(values)

    def y_of(value: Decimal) -> float:
        return bottom - float((value - low) / (high - low)) * (bottom - top)

    ticks = []
    value = low
    while value <= high:
        ticks.append(Tick(y_of(value), tick_text(value, step), value))
        value += step
    n = len(chart.categories)
    band = (right - left) / n

    def x_of(i: int) -> float:
        return left + band * (i + 0.5)

    every = max(1, math.ceil(n / MAX_X_LABELS))
    last = n - 1
    shown = [i for i in range(n) if (last - i) % every == 0]  # the last category is labelled
    x_labels = tuple(Label(x_of(i), chart.categories[i]) for i in shown)
    drawn = []
    for index, s in enumerate(chart.series):
        points = tuple(Point(x_of(i), y_of(v), chart.categories[i], v, s.texts[i])
                       for i, v in enumerate(s.values) if v is not None)
        segments = _segments([(x_of(i), None if v is None else y_of(v))
                              for i, v in enumerate(s.values)]) if chart.kind == "line" else ()
        bars: tuple[Bar, ...] = ()
        # a line marks its suppressed months with "*" on the axis (a gap, not a zero)
        gap_labels = tuple(Label(x_of(i), "*") for i, v in enumerate(s.values)
                           if v is None and s.texts[i] == "*")
        if chart.kind == "bar":
            width = band * 0.6 / len(chart.series)
            offset = (index - (len(chart.series) - 1) / 2) * width
            base = y_of(Decimal(0))
            bars = tuple(Bar(p.x + offset - width / 2, min(p.y, base), width, abs(base - p.y),
                             p) for p in points)
            gap_labels = tuple(Label(x_of(i) + offset, s.texts[i] or "–")
                               for i, v in enumerate(s.values) if v is None)
        drawn.append(DrawnSeries(s, index, segments, points, bars, gap_labels))
    zero = y_of(Decimal(0)) if low < 0 < high else None
    return Layout(chart, WIDTH, HEIGHT, (left, top, right, bottom), tuple(ticks), x_labels,
                  zero, y_of(Decimal(0)), tuple(drawn))


def _segments(points: list[tuple[float, float | None]]
              ) -> tuple[tuple[tuple[float, float], ...], ...]:
    """Split a line at its gaps: runs of two or more consecutive points (a lone point is only
    a marker)."""
    runs: list[tuple[tuple[float, float], ...]] = []
    run: list[tuple[float, float]] = []
    for x, y in [*points, (0.0, None)]:
        if y is None:
            if len(run) > 1:
                runs.append(tuple(run))
            run = []
        else:
            run.append((x, y))
    return tuple(runs)
