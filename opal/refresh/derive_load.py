"""Read the base tables once, grouped per person, for the derived layer.

Plain portable SELECTs of the needed columns only; large tables (contacts, measures, plans,
employment) are reduced by ``GROUP BY`` aggregates so a county's history never sits in memory.
Facts dated after ``as_of`` are filtered out here, once. Dates are read as their ``*_day`` numbers
(never the DATE column), so the result does not depend on how a driver stored a DATE.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from opal.casedb.schema import BASE_TABLES, INTEGRATION_KINDS

_T = BASE_TABLES


@dataclass(frozen=True)
class Bg:
    """The columns of a benefit unit the person facts need."""

    office_id: str
    bg_type: str
    start_day: int
    end_day: int | None


@dataclass(frozen=True)
class Job:
    """An employment spell of an integration kind that started on or before as_of."""

    employment_id: str
    start_day: int
    kind: str
    wz_section: str | None
    subsidised: int


@dataclass
class BaseData:
    """Everything the derived layer reads, keyed by id (per-person dicts, no row scans later)."""

    staff: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (team_id, name)
    bgs: dict[str, Bg] = field(default_factory=dict)
    persons: list[Any] = field(default_factory=list)  # person rows (dates as day numbers)
    stand_ins: list[tuple[str, str]] = field(default_factory=list)  # active: (staff, covers)
    elb: dict[str, list[tuple[int, int | None]]] = field(default_factory=dict)
    nef: dict[str, list[tuple[int, int | None]]] = field(default_factory=dict)
    al_from: dict[str, int] = field(default_factory=dict)  # earliest ARBEITSLOS covering D
    profile: dict[str, str] = field(default_factory=dict)
    last_contact: dict[str, int] = field(default_factory=dict)
    plans: dict[str, list[tuple[str, str, int, int | None]]] = field(default_factory=dict)
    plan_info: dict[str, tuple[str, int | None]] = field(default_factory=dict)  # type, review
    last_signed: dict[str, int] = field(default_factory=dict)  # any plan, any status
    last_entry: dict[str, int] = field(default_factory=dict)  # measure entries
    last_start: dict[str, int] = field(default_factory=dict)  # employment, any kind
    jobs: dict[str, list[Job]] = field(default_factory=dict)


def _max_per_person(conn: Connection, table: str, day_col: str, d: int,
                    where: Any = None) -> dict[str, int]:
    """Latest day per person on or before ``d`` (one aggregate instead of every row)."""
    t = _T[table]
    cond = t.c[day_col] <= d
    if where is not None:
        cond = and_(cond, where)
    rows = conn.execute(
        select(t.c.customer_no, func.max(t.c[day_col])).where(cond).group_by(t.c.customer_no))
    return {cno: int(day) for cno, day in rows}


def load_base(conn: Connection, d: int) -> BaseData:
    """Read the base tables on ``conn`` for the data day ``d`` (a day number)."""
    base = BaseData()
    st = _T["staff"]
    base.staff = {sid: (team, name) for sid, team, name in conn.execute(
        select(st.c.staff_id, st.c.team_id, st.c.display_name))}
    bu = _T["benefit_unit"]
    base.bgs = {bg_id: Bg(office, bg_type, start, end) for bg_id, office, bg_type, start, end
                in conn.execute(select(bu.c.bg_id, bu.c.office_id, bu.c.bg_type,
                                       bu.c.start_day, bu.c.end_day))}
    p = _T["person"]
    base.persons = list(conn.execute(select(
        p.c.customer_no, p.c.bg_id, p.c.bg_role, p.c.last_name, p.c.first_name, p.c.sex,
        p.c.birth_day, p.c.residence_status, p.c.severely_disabled, p.c.case_manager_id,
        p.c.protected).order_by(p.c.customer_no)))
    si = _T["stand_in"]
    base.stand_ins = [(s, c) for s, c in conn.execute(
        select(si.c.staff_id, si.c.covers_staff_id).where(
            si.c.from_day <= d, or_(si.c.to_day.is_(None), si.c.to_day >= d)))]

    bs = _T["benefit_spell"]
    elb: defaultdict[str, list[tuple[int, int | None]]] = defaultdict(list)
    nef: defaultdict[str, list[tuple[int, int | None]]] = defaultdict(list)
    for cno, status, f, t in conn.execute(select(
            bs.c.customer_no, bs.c.status, bs.c.from_day, bs.c.to_day).where(bs.c.from_day <= d)):
        (elb if status == "ELB" else nef)[cno].append((f, t))
    base.elb, base.nef = dict(elb), dict(nef)

    us = _T["unemployment_spell"]
    base.al_from = {cno: int(f) for cno, f in conn.execute(
        select(us.c.customer_no, func.min(us.c.from_day)).where(
            us.c.status == "ARBEITSLOS", us.c.from_day <= d,
            or_(us.c.to_day.is_(None), us.c.to_day >= d)).group_by(us.c.customer_no))}

    pr = _T["profile"]
    latest: dict[str, tuple[int, str]] = {}
    for cno, vf, group in conn.execute(select(
            pr.c.customer_no, pr.c.valid_from_day, pr.c.profile_group).where(
            pr.c.valid_from_day <= d)):
        cur = latest.get(cno)
        if cur is None or vf > cur[0]:
            latest[cno] = (vf, group)
    base.profile = {cno: group for cno, (_vf, group) in latest.items()}

    c = _T["contact"]
    base.last_contact = _max_per_person(conn, "contact", "contact_day", d,
                                        c.c.outcome == "WAHRGENOMMEN")

    ip = _T["integration_plan"]
    plans: defaultdict[str, list[tuple[str, str, int, int | None]]] = defaultdict(list)
    for cno, pid, ptype, signed, end, review_day in conn.execute(select(
            ip.c.customer_no, ip.c.plan_id, ip.c.plan_type, ip.c.signed_day, ip.c.end_day,
            ip.c.next_review_day).where(
            ip.c.status == "AKTIV", ip.c.signed_day <= d,
            or_(ip.c.end_day.is_(None), ip.c.end_day >= d))):
        plans[cno].append((pid, "AKTIV", signed, end))
        base.plan_info[pid] = (ptype, review_day)
    base.plans = dict(plans)
    base.last_signed = _max_per_person(conn, "integration_plan", "signed_day", d)
    base.last_entry = _max_per_person(conn, "measure_participation", "entry_day", d)
    base.last_start = _max_per_person(conn, "employment_spell", "start_day", d)

    es = _T["employment_spell"]
    jobs: defaultdict[str, list[Job]] = defaultdict(list)
    for cno, eid, start, kind, wz, sub in conn.execute(select(
            es.c.customer_no, es.c.employment_id, es.c.start_day, es.c.kind, es.c.wz_section,
            es.c.subsidised).where(es.c.kind.in_(INTEGRATION_KINDS), es.c.start_day <= d)):
        jobs[cno].append(Job(eid, start, kind, wz, sub))
    base.jobs = dict(jobs)
    return base
