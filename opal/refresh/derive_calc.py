"""Pure day arithmetic behind the derived facts (reports.md "Derived facts"), tested directly.

Days are integer day numbers (``date.toordinal()``); an open end is ``None`` on input. Every
function here is free of I/O so the rules can be checked without a database.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence

#: a closed interval of day numbers [from_day, to_day]
Interval = tuple[int, int]

#: LZB: eLb on D and at least this many eLb days in the 730-day window ending on D
LZB_MIN_DAYS = 638
LZB_WINDOW = 730
P16I_WINDOW = 2555
#: bedarfsdeckend is judged this many days after the integration's start
BEDARFSDECKEND_AFTER = 91


def merge_intervals(spells: Iterable[tuple[int, int | None]], as_of_day: int) -> list[Interval]:
    """Union spells (future ones dropped, ends clipped to as_of) so coverage is one bisection."""
    clipped = sorted(
        (f, as_of_day if t is None or t > as_of_day else t)
        for f, t in spells if f <= as_of_day
    )
    merged: list[Interval] = []
    for f, t in clipped:
        if merged and f <= merged[-1][1] + 1:
            if t > merged[-1][1]:
                merged[-1] = (merged[-1][0], t)
        else:
            merged.append((f, t))
    return merged


def covered(intervals: Sequence[Interval], d: int) -> bool:
    """Whether merged ``intervals`` cover day ``d`` (bisection: persons have long histories)."""
    i = bisect_right(intervals, d, key=lambda iv: iv[0]) - 1
    return i >= 0 and intervals[i][1] >= d


def elb_days(intervals: Sequence[Interval], d: int, window: int) -> int:
    """Days in ``[d - window + 1, d]`` covered by merged (disjoint) intervals: overlaps once."""
    lo = d - window + 1
    total = 0
    for f, t in intervals:
        if f > d:
            break
        if t < lo:
            continue
        total += (t if t < d else d) - (f if f > lo else lo) + 1
    return total


def is_lzb(intervals: Sequence[Interval], d: int) -> bool:
    """LZB on ``d``: eLb on ``d`` and at least 638 eLb days in the 730 days ending on ``d``."""
    return covered(intervals, d) and elb_days(intervals, d, LZB_WINDOW) >= LZB_MIN_DAYS


def spell_covers(from_day: int, to_day: int | None, d: int) -> bool:
    """A spell covers ``d`` when ``from <= d <= to`` (an empty ``to`` is open)."""
    return from_day <= d and (to_day is None or d <= to_day)


def earliest_covering_from(spells: Iterable[tuple[int, int | None]], d: int) -> int | None:
    """The earliest ``from`` among raw spells covering ``d`` (not merged: R04, al_days)."""
    froms = [f for f, t in spells if spell_covers(f, t, d)]
    return min(froms) if froms else None


def pick_active_plan(plans: Iterable[tuple[str, str, int, int | None]], d: int
                     ) -> tuple[str, str, int, int | None] | None:
    """Active plan on ``d`` from (id, status, signed, end): latest signed, then highest id."""
    best: tuple[str, str, int, int | None] | None = None
    for plan in plans:
        plan_id, status, signed, end = plan
        if status != "AKTIV" or signed > d or (end is not None and end < d):
            continue
        if best is None or (signed, plan_id) > (best[2], best[0]):
            best = plan
    return best


def first_per_month(candidates: Iterable[tuple[int, str, int]]) -> dict[int, tuple[int, str]]:
    """One integration per month: the earliest start, on a tie the lowest id by code point."""
    best: dict[int, tuple[int, str]] = {}
    for month, emp_id, start in candidates:
        cur = best.get(month)
        if cur is None or (start, emp_id) < cur:
            best[month] = (start, emp_id)
    return best


def bedarfsdeckend(intervals: Sequence[Interval], s: int, as_of_day: int) -> int | None:
    """1 when not eLb on ``s + 91``, 0 when eLb then, None while ``s + 91`` is after as_of."""
    check = s + BEDARFSDECKEND_AFTER
    if check > as_of_day:
        return None
    return 0 if covered(intervals, check) else 1
