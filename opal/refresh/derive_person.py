"""Rows of ``d_elb_interval``, ``d_person`` and ``d_list_scope`` from the loaded base data.

Each rule is reports.md "Derived facts" / "Scope" applied on ``as_of``; the day arithmetic is in
``derive_calc`` so it can be tested without a database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from typing import Any

from opal import dates
from opal.casedb.schema import FLUCHT, viewer_for_staff, viewer_for_team
from opal.refresh.derive_calc import (
    LZB_MIN_DAYS,
    LZB_WINDOW,
    P16I_WINDOW,
    Interval,
    covered,
    earliest_covering_from,
    elb_days,
    pick_active_plan,
    spell_covers,
)
from opal.refresh.derive_load import BaseData

Row = dict[str, Any]


def interval_rows(merged: dict[str, list[Interval]]) -> Iterator[Row]:
    """One ``d_elb_interval`` row per merged interval (month-end facts are read from these)."""
    for cno, intervals in merged.items():
        for f, t in intervals:
            yield {"customer_no": cno, "from_day": f, "to_day": t}


def _other_child_u18(kids: tuple[int, str] | None, cno: str) -> bool:
    """A KIND member of the BG other than ``cno`` is under 18 (``BaseData.kids``)."""
    return kids is not None and (kids[0] >= 2 or kids[1] != cno)


def person_rows(base: BaseData, merged: dict[str, list[Interval]], as_of: date
                ) -> Iterator[Row]:
    """One ``d_person`` row per person with every fact on ``as_of``."""
    d = dates.day(as_of)
    for p in base.persons:
        cno = p.customer_no
        bg = base.bgs[p.bg_id]
        staff = base.staff.get(p.case_manager_id) if p.case_manager_id else None
        team_id, cm_name = staff if staff is not None else (None, None)
        birth = dates.from_day(p.birth_day)
        age = dates.age_on(birth, as_of)
        intervals = merged.get(cno, [])
        is_elb = covered(intervals, d)
        is_nef = not is_elb and any(spell_covers(f, t, d) for f, t in base.nef.get(cno, ()))
        days_730 = elb_days(intervals, d, LZB_WINDOW)
        al_from = base.al_from.get(cno)
        al_days = d - al_from + 1 if al_from is not None else 0
        bg_active = bg.start_day <= d and (bg.end_day is None or d <= bg.end_day)
        last = base.last_contact.get(cno)
        since = earliest_covering_from(base.elb.get(cno, ()), d)
        offer = since is not None and max(
            base.last_signed.get(cno, -1), base.last_entry.get(cno, -1),
            base.last_start.get(cno, -1)) >= since
        plan = pick_active_plan(base.plans.get(cno, ()), d)
        plan_type, review_day = base.plan_info[plan[0]] if plan is not None else (None, None)
        yield {
            "customer_no": cno,
            "name": f"{p.last_name}, {p.first_name}",
            "bg_id": p.bg_id,
            "office_id": bg.office_id,
            "case_manager_id": p.case_manager_id,
            "case_manager": cm_name,
            "team_id": team_id,
            "protected": int(p.protected),
            "sex": p.sex,
            "birth_date": birth,
            "age": age,
            "residence_status": p.residence_status,
            "fluchtkontext": int(p.residence_status in FLUCHT),
            "severely_disabled": int(p.severely_disabled),
            "bg_role": p.bg_role,
            "bg_type": bg.bg_type,
            "bg_start_day": bg.start_day,
            "bg_end_day": dates.OPEN_END if bg.end_day is None else bg.end_day,
            "bg_active": int(bg_active),
            "alleinerziehend": int(bg_active and p.bg_role == "HAUPTPERSON"
                                   and bg.bg_type == "ALLEINERZIEHEND"),
            "is_elb": int(is_elb),
            "is_nef": int(is_nef),
            "u25": int(is_elb and age < 25),
            "elb_days_730": days_730,
            "elb_days_2555": elb_days(intervals, d, P16I_WINDOW),
            "lzb": int(is_elb and days_730 >= LZB_MIN_DAYS),
            "al_days": al_days,
            "arbeitslos": int(al_days > 0),
            "langzeitarbeitslos": int(al_days >= 365),
            "profile_group": base.profile.get(cno),
            "last_contact": dates.from_day(last) if last is not None else None,
            "last_contact_day": last,
            "days_since_contact": d - last if last is not None else None,
            "elb_since": dates.from_day(since) if since is not None else None,
            "elb_since_day": since,
            "offer_since_entry": int(offer),
            "child_u18_in_bg": int(_other_child_u18(base.kids.get(p.bg_id), cno)),
            "plan_id": plan[0] if plan is not None else None,
            "plan_type": plan_type,
            "plan_next_review": dates.from_day(review_day) if review_day is not None else None,
            "plan_next_review_day": review_day,
        }


def scope_rows(base: BaseData) -> list[Row]:
    """``d_list_scope``: own case load, non-protected cases covered by stand-in, team's cases."""
    own: defaultdict[str, list[str]] = defaultdict(list)  # case manager -> non-protected
    scope: set[tuple[str, str]] = set()
    for p in base.persons:
        cm = p.case_manager_id
        if cm is None:
            continue
        scope.add((viewer_for_staff(cm), p.customer_no))
        if not p.protected:
            own[cm].append(p.customer_no)
            team_id = base.staff[cm][0] if cm in base.staff else None
            if team_id is not None:
                scope.add((viewer_for_team(team_id), p.customer_no))
    for staff_id, covers in base.stand_ins:
        viewer = viewer_for_staff(staff_id)
        scope.update((viewer, cno) for cno in own.get(covers, ()))
    return [{"viewer": v, "customer_no": c} for v, c in sorted(scope)]
