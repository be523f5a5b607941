"""Rows of ``d_integration``: the integration rule of reports.md applied once per generation.

An employment spell of kind SVB, AUSBILDUNG or SELBSTAENDIG starting on ``s <= as_of`` while the
person is eLb on ``s`` or ``s - 1``, at most one per person and calendar month, with the person's
attributes on ``s`` that R11-R13 group by.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from opal import dates
from opal.casedb.schema import FLUCHT
from opal.refresh.derive_calc import (
    Interval,
    bedarfsdeckend,
    covered,
    first_per_month,
    is_lzb,
)
from opal.refresh.derive_load import BaseData

Row = dict[str, Any]


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
        qualifying = {j.employment_id: j for j in jobs
                      if covered(intervals, j.start_day) or covered(intervals, j.start_day - 1)}
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
            }
