"""Rows of ``d_integration`` and ``d_entry``: the integration rule of reports.md applied once
per generation, and the same rule for the entries into GERINGFUEGIG and OEFF_GEFOERDERT
employment (K2E1, K2E2).

An employment spell of kind SVB, AUSBILDUNG or SELBSTAENDIG starting on ``s <= as_of`` while the
person is eLb on ``s`` or ``s - 1``, at most one per person and calendar month, with the person's
attributes on ``s`` that R11-R13 group by. ``continued`` (K2E3, OPAL's reading): on the last
day of each of the 12 months after the integration's month the person has some employment of an
integration kind (any spell, not necessarily the same one); null while the twelfth of those
days is after ``as_of``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from opal import dates
from opal.casedb.schema import FLUCHT, INTEGRATION_KINDS
from opal.refresh.derive_calc import (
    Interval,
    bedarfsdeckend,
    covered,
    first_per_month,
    is_lzb,
)
from opal.refresh.derive_load import BaseData, Job

Row = dict[str, Any]
#: the employment kinds whose entries K2E1 and K2E2 count
ENTRY_KINDS = ("GERINGFUEGIG", "OEFF_GEFOERDERT")
#: K2E3: months after the integration's month on whose last day employment must exist
CONTINUED_MONTHS = 12


def continued(jobs: list[Job], month: int, as_of_day: int) -> int | None:
    """1 when an integration-kind spell covers the last day of each of the 12 months after
    ``month``, 0 when one of those days is not covered, None while the last is after as_of."""
    ends = [dates.day(dates.month_last(month + k)) for k in range(1, CONTINUED_MONTHS + 1)]
    if ends[-1] > as_of_day:
        return None
    spells = [(j.start_day, j.end_day) for j in jobs if j.kind in INTEGRATION_KINDS]
    return int(all(any(f <= d and (t is None or d <= t) for f, t in spells) for d in ends))


def integration_rows(base: BaseData, merged: dict[str, list[Interval]], as_of: date
                     ) -> Iterator[Row]:
    """One ``d_integration`` row per counted integration."""
    d = dates.day(as_of)
    for p in base.persons:
        cno = p.customer_no
        jobs = base.jobs.get(cno)
        intervals = merged.get(cno)
        if not jobs or not intervals:
            continue
        qualifying = {j.employment_id: j for j in jobs if j.kind in INTEGRATION_KINDS and (
            covered(intervals, j.start_day) or covered(intervals, j.start_day - 1))}
        if not qualifying:
            continue
        kept = first_per_month(
            (dates.month_of(dates.from_day(j.start_day)), j.employment_id, j.start_day)
            for j in qualifying.values())
        bg = base.bgs[p.bg_id]
        cm = p.case_manager_id
        team_id = base.staff[cm][0] if cm is not None and cm in base.staff else None
        for month, (s, emp_id) in sorted(kept.items()):
            job = qualifying[emp_id]
            bg_covers = bg.start_day <= s and (bg.end_day is None or s <= bg.end_day)
            yield {
                "employment_id": emp_id,
                "customer_no": cno,
                "start_date": dates.from_day(s),
                "start_day": s,
                "month_idx": month,
                "kind": job.kind,
                "wz_section": job.wz_section,
                "subsidised": int(job.subsidised),
                "office_id": bg.office_id,
                "team_id": team_id,
                "sex": p.sex,
                "fluchtkontext": int(p.residence_status in FLUCHT),
                "alleinerziehend": int(bg_covers and p.bg_role == "HAUPTPERSON"
                                       and bg.bg_type == "ALLEINERZIEHEND"),
                "lzb_prev": int(is_lzb(intervals, s - 1)),
                "bedarfsdeckend": bedarfsdeckend(intervals, s, d),
                "continued": continued(jobs, month, d),
            }


def entry_rows(base: BaseData, merged: dict[str, list[Interval]]) -> Iterator[Row]:
    """One ``d_entry`` row per person, month and kind of ``ENTRY_KINDS``: a spell of that kind
    starting on ``s`` while the person is eLb on ``s`` or ``s - 1`` (the earliest in the month,
    on a tie the lowest ``employment_id``), with the person's office and sex."""
    for p in base.persons:
        cno = p.customer_no
        jobs = base.jobs.get(cno)
        intervals = merged.get(cno)
        if not jobs or not intervals:
            continue
        for kind in ENTRY_KINDS:
            kept = first_per_month(
                (dates.month_of(dates.from_day(j.start_day)), j.employment_id, j.start_day)
                for j in jobs if j.kind == kind and (
                    covered(intervals, j.start_day) or covered(intervals, j.start_day - 1)))
            office_id = base.bgs[p.bg_id].office_id
            for month, (s, emp_id) in sorted(kept.items()):
                yield {"employment_id": emp_id, "customer_no": cno, "kind": kind,
                       "start_day": s, "month_idx": month, "office_id": office_id,
                       "sex": p.sex}
