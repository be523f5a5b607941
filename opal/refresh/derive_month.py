"""Rows of ``d_month_stock``: month-end stocks and flows, counted once per generation.

For every month from the first one with an eLb person up to the month of ``as_of``, and every
combination of the attributes R12-R14 group by (office, sex, Fluchtkontext, alleinerziehend at
the month's last day), the number of persons who are

- ``elb``: eLb on the month's last day (a merged ELB interval covers it);
- ``lzb``: LZB on that day (``derive_calc.is_lzb``);
- ``lzb_activated``: LZB on that day and in a participation of a measure type with
  ``counts_for_activation`` active that day (``entry_day <= D <= active_to_day``);
- ``inflow``: eLb on that day, not on the last day of the previous month;
- ``outflow``: eLb on the last day of the previous month, not on this month's last day;
- ``lzb_inflow`` / ``lzb_outflow``: the same for LZB (K3E3, K3E4).

Each count carries the person's attributes at the month's last day (office, sex and Fluchtkontext
do not change; alleinerziehend is HAUPTPERSON of an ALLEINERZIEHEND BG covering that day), so any
sum over these columns is exact for any month; months before the data's history have no rows (0).

Everything is a run of consecutive months per person (a merged interval covers the last days of
a run of months; LZB within an interval only ever switches on; a BG covers a run of month ends),
so the counts are built from +1/-1 marks per run and one running sum: the cost follows the
number of intervals, not persons times months.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date
from functools import cache
from typing import Any

from opal import dates
from opal.casedb.schema import FLUCHT
from opal.refresh.derive_calc import Interval, is_lzb
from opal.refresh.derive_load import BaseData

Row = dict[str, Any]
#: (first month_idx, last month_idx), both included
Run = tuple[int, int]
METRICS = ("elb", "lzb", "lzb_activated", "inflow", "outflow", "lzb_inflow", "lzb_outflow")
ELB, LZB, LZB_ACTIVATED, INFLOW, OUTFLOW, LZB_INFLOW, LZB_OUTFLOW = range(len(METRICS))


@cache
def month_of_day(n: int) -> int:
    d = dates.from_day(n)
    return d.year * 12 + d.month - 1


@cache
def _last_day(idx: int) -> int:
    return dates.day(dates.month_last(idx))


def month_end_run(from_day: int, to_day: int, last_month: int) -> Run | None:
    """The months whose last day lies in ``[from_day, to_day]``, capped at ``last_month``."""
    first = month_of_day(from_day)
    if to_day >= _last_day(last_month):
        last = last_month
    else:
        last = month_of_day(to_day)
        if _last_day(last) != to_day:
            last -= 1
    return (first, last) if first <= last else None


def merge_runs(runs: Iterable[Run]) -> list[Run]:
    """Union of runs; adjacent runs join (in stock at both month ends: no flow between)."""
    merged: list[Run] = []
    for a, b in sorted(runs):
        if merged and a <= merged[-1][1] + 1:
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def intersect_runs(left: list[Run], right: list[Run]) -> list[Run]:
    out: list[Run] = []
    i = j = 0
    while i < len(left) and j < len(right):
        a = max(left[i][0], right[j][0])
        b = min(left[i][1], right[j][1])
        if a <= b:
            out.append((a, b))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out


def lzb_runs(intervals: list[Interval], last_month: int) -> list[Run]:
    """Month ends on which the person is LZB: within an interval LZB only ever switches on
    (each day adds a covered day and drops at most one), so a bisection finds where."""
    runs: list[Run] = []
    for f, t in intervals:
        run = month_end_run(f, t, last_month)
        if run is None:
            continue
        lo, hi = run
        if not is_lzb(intervals, _last_day(hi)):
            continue
        while lo < hi:
            mid = (lo + hi) // 2
            if is_lzb(intervals, _last_day(mid)):
                hi = mid
            else:
                lo = mid + 1
        runs.append((lo, run[1]))
    return runs


#: per cell (office, sex, fluchtkontext, alleinerziehend), per metric (METRICS order):
#: month -> +1/-1 at the start/after the end of each run
Marks = defaultdict[tuple[str, str, int, int], tuple[defaultdict[int, int], ...]]


def _mark(marks: Marks, static: tuple[str, str, int], ae_run: Run | None, metric: int,
          runs: Iterable[Run]) -> None:
    """+1 at the start and -1 after the end of each run, split where alleinerziehend changes."""
    for a, b in runs:
        pieces: list[tuple[int, int, int]] = []
        if ae_run is None or ae_run[1] < a or ae_run[0] > b:
            pieces.append((a, b, 0))
        else:
            if a < ae_run[0]:
                pieces.append((a, ae_run[0] - 1, 0))
            pieces.append((max(a, ae_run[0]), min(b, ae_run[1]), 1))
            if b > ae_run[1]:
                pieces.append((ae_run[1] + 1, b, 0))
        for lo, hi, ae in pieces:
            deltas = marks[(*static, ae)][metric]
            deltas[lo] += 1
            deltas[hi + 1] -= 1


def new_marks() -> Marks:
    """An empty ``Marks``."""
    return defaultdict(lambda: tuple(defaultdict(int) for _ in METRICS))


def plain_marks(marks: Marks) -> dict[tuple[str, str, int, int], tuple[dict[int, int], ...]]:
    """``marks`` without the default factories, so that a worker process can send them."""
    return {cell: tuple(dict(deltas) for deltas in per_metric)
            for cell, per_metric in marks.items()}


def add_marks(marks: Marks,
              other: dict[tuple[str, str, int, int], tuple[dict[int, int], ...]]) -> None:
    """Add the marks of another part of the persons to ``marks`` (the sums are what counts)."""
    for cell, per_metric in other.items():
        into = marks[cell]
        for metric, deltas in enumerate(per_metric):
            target = into[metric]
            for month, delta in deltas.items():
                target[month] += delta


def mark_persons(marks: Marks, base: BaseData, merged: dict[str, list[Interval]], as_of: date,
                 activation: dict[str, list[tuple[int, int]]]) -> None:
    """Add the runs of ``base.persons`` to ``marks`` (chunk by chunk, one ``marks`` in all).

    ``activation`` maps a person to the ``(entry_day, active_to_day)`` of their participations
    in measure types with ``counts_for_activation``.
    """
    last_month = dates.month_of(as_of)
    for p in base.persons:
        intervals = merged.get(p.customer_no)
        if not intervals:
            continue
        bg = base.bgs[p.bg_id]
        static: tuple[str, str, int] = (bg.office_id, p.sex, int(p.residence_status in FLUCHT))
        ae_run: Run | None = None
        if p.bg_role == "HAUPTPERSON" and bg.bg_type == "ALLEINERZIEHEND":
            ae_run = month_end_run(bg.start_day,
                                   dates.OPEN_END if bg.end_day is None else bg.end_day,
                                   last_month)
        stock = merge_runs(r for f, t in intervals
                           if (r := month_end_run(f, t, last_month)) is not None)
        _mark(marks, static, ae_run, ELB, stock)
        _mark(marks, static, ae_run, INFLOW, ((a, a) for a, _b in stock))
        _mark(marks, static, ae_run, OUTFLOW,
              ((b + 1, b + 1) for _a, b in stock if b < last_month))
        lzb = merge_runs(lzb_runs(intervals, last_month))
        _mark(marks, static, ae_run, LZB, lzb)
        _mark(marks, static, ae_run, LZB_INFLOW, ((a, a) for a, _b in lzb))
        _mark(marks, static, ae_run, LZB_OUTFLOW,
              ((b + 1, b + 1) for _a, b in lzb if b < last_month))
        spans = activation.get(p.customer_no)
        if spans and lzb:
            active = merge_runs(r for f, t in spans
                                if (r := month_end_run(f, t, last_month)) is not None)
            _mark(marks, static, ae_run, LZB_ACTIVATED, intersect_runs(lzb, active))


def month_stock_rows(marks: Marks, as_of: date) -> Iterator[Row]:
    """``d_month_stock`` rows from the marks of every person (only cells with a count).

    One cell at a time (its metrics' running sums side by side), so only one cell's months are
    ever held here, however many offices there are.
    """
    last_month = dates.month_of(as_of)
    for (office_id, sex, fluchtkontext, ae), per_metric in sorted(marks.items()):
        months = sorted(set().union(*per_metric))
        running = [0] * len(METRICS)
        for idx, month in enumerate(months):
            if month > last_month:
                break
            for i, deltas in enumerate(per_metric):
                running[i] += deltas.get(month, 0)
            if not any(running):
                continue
            end = months[idx + 1] if idx + 1 < len(months) else last_month + 1
            for m in range(month, min(end, last_month + 1)):
                yield {"month_idx": m, "office_id": office_id, "sex": sex,
                       "fluchtkontext": fluchtkontext, "alleinerziehend": ae,
                       **dict(zip(METRICS, running, strict=True))}
