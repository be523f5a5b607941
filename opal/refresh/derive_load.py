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

from sqlalchemy import Column, ColumnElement, Connection, and_, func, or_, select, true

from opal import dates
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
    # per BG: (number of KIND members under 18 on as_of, one of them): the R07 child rule
    kids: dict[str, tuple[int, str]] = field(default_factory=dict)


#: a range of customer numbers [lo, hi) (None: open) that the derived layer reads at once
Chunk = tuple[str | None, str | None]
#: persons per chunk: memory stays that of a few Kreise however large the county is
CHUNK_PERSONS = 250_000


def in_chunk(col: Column[Any], chunk: Chunk) -> ColumnElement[bool]:
    """``lo <= col < hi`` (code point order on both databases: ``COLLATE "C"`` / BINARY)."""
    lo, hi = chunk
    conds = []
    if lo is not None:
        conds.append(col >= lo)
    if hi is not None:
        conds.append(col < hi)
    return and_(true(), *conds)


def person_chunks(conn: Connection, size: int = CHUNK_PERSONS) -> list[Chunk]:
    """Split the persons by customer number into ranges of ``size`` persons."""
    p = _T["person"]
    bounds: list[str | None] = [None]
    rows = conn.execute(select(p.c.customer_no).order_by(p.c.customer_no)
                        .execution_options(yield_per=50_000))
    for i, (cno,) in enumerate(rows):
        if i and i % size == 0:
            bounds.append(cno)
    bounds.append(None)
    return list(zip(bounds[:-1], bounds[1:], strict=False))


def load_children(conn: Connection, d: int) -> dict[str, tuple[int, str]]:
    """Per BG, how many KIND members are under 18 on day ``d`` (born by then), and one of them."""
    p = _T["person"]
    on = dates.from_day(d)
    kids: dict[str, tuple[int, str]] = {}
    rows = conn.execute(select(p.c.bg_id, p.c.customer_no, p.c.birth_day).where(
        p.c.bg_role == "KIND", p.c.birth_day <= d, p.c.birth_day > d - 19 * 366)
        .execution_options(yield_per=50_000))
    for bg_id, cno, birth in rows:
        if dates.age_on(dates.from_day(birth), on) < 18:
            count, first = kids.get(bg_id, (0, cno))
            kids[bg_id] = (count + 1, first)
    return kids


def _max_per_person(conn: Connection, table: str, day_col: str, d: int, chunk: Chunk,
                    where: Any = None) -> dict[str, int]:
    """Latest day per person on or before ``d`` (one aggregate instead of every row)."""
    t = _T[table]
    cond = and_(t.c[day_col] <= d, in_chunk(t.c.customer_no, chunk))
    if where is not None:
        cond = and_(cond, where)
    rows = conn.execute(
        select(t.c.customer_no, func.max(t.c[day_col])).where(cond).group_by(t.c.customer_no))
    return {cno: int(day) for cno, day in rows}


def load_base(conn: Connection, d: int, chunk: Chunk = (None, None),
              kids: dict[str, tuple[int, str]] | None = None) -> BaseData:
    """Read the base tables on ``conn`` for the data day ``d`` (a day number): the persons of
    ``chunk`` and their facts; staff, stand-ins and ``kids`` (``load_children``) are county-wide.
    """
    base = BaseData()
    base.kids = load_children(conn, d) if kids is None else kids
    st = _T["staff"]
    base.staff = {sid: (team, name) for sid, team, name in conn.execute(
        select(st.c.staff_id, st.c.team_id, st.c.display_name))}
    p = _T["person"]
    bu = _T["benefit_unit"]
    base.bgs = {bg_id: Bg(office, bg_type, start, end) for bg_id, office, bg_type, start, end
                in conn.execute(select(bu.c.bg_id, bu.c.office_id, bu.c.bg_type,
                                       bu.c.start_day, bu.c.end_day).where(
                    bu.c.bg_id.in_(select(p.c.bg_id).where(in_chunk(p.c.customer_no, chunk)))))}
    base.persons = list(conn.execute(select(
        p.c.customer_no, p.c.bg_id, p.c.bg_role, p.c.last_name, p.c.first_name, p.c.sex,
        p.c.birth_day, p.c.residence_status, p.c.severely_disabled, p.c.case_manager_id,
        p.c.protected).where(in_chunk(p.c.customer_no, chunk)).order_by(p.c.customer_no)))
    si = _T["stand_in"]
    base.stand_ins = [(s, c) for s, c in conn.execute(
        select(si.c.staff_id, si.c.covers_staff_id).where(
            si.c.from_day <= d, or_(si.c.to_day.is_(None), si.c.to_day >= d)))]

    bs = _T["benefit_spell"]
    elb: defaultdict[str, list[tuple[int, int | None]]] = defaultdict(list)
    nef: defaultdict[str, list[tuple[int, int | None]]] = defaultdict(list)
    for cno, status, f, t in conn.execute(select(
            bs.c.customer_no, bs.c.status, bs.c.from_day, bs.c.to_day).where(
            bs.c.from_day <= d, in_chunk(bs.c.customer_no, chunk))):
        (elb if status == "ELB" else nef)[cno].append((f, t))
    base.elb, base.nef = dict(elb), dict(nef)

    us = _T["unemployment_spell"]
    base.al_from = {cno: int(f) for cno, f in conn.execute(
        select(us.c.customer_no, func.min(us.c.from_day)).where(
            us.c.status == "ARBEITSLOS", us.c.from_day <= d, in_chunk(us.c.customer_no, chunk),
            or_(us.c.to_day.is_(None), us.c.to_day >= d)).group_by(us.c.customer_no))}

    pr = _T["profile"]
    latest: dict[str, tuple[int, str]] = {}
    for cno, vf, group in conn.execute(select(
            pr.c.customer_no, pr.c.valid_from_day, pr.c.profile_group).where(
            pr.c.valid_from_day <= d, in_chunk(pr.c.customer_no, chunk))):
        cur = latest.get(cno)
        if cur is None or vf > cur[0]:
            latest[cno] = (vf, group)
    base.profile = {cno: group for cno, (_vf, group) in latest.items()}

    c = _T["contact"]
    base.last_contact = _max_per_person(conn, "contact", "contact_day", d, chunk,
                                        c.c.outcome == "WAHRGENOMMEN")

    ip = _T["integration_plan"]
    plans: defaultdict[str, list[tuple[str, str, int, int | None]]] = defaultdict(list)
    for cno, pid, ptype, signed, end, review_day in conn.execute(select(
            ip.c.customer_no, ip.c.plan_id, ip.c.plan_type, ip.c.signed_day, ip.c.end_day,
            ip.c.next_review_day).where(
            ip.c.status == "AKTIV", ip.c.signed_day <= d, in_chunk(ip.c.customer_no, chunk),
            or_(ip.c.end_day.is_(None), ip.c.end_day >= d))):
        plans[cno].append((pid, "AKTIV", signed, end))
        base.plan_info[pid] = (ptype, review_day)
    base.plans = dict(plans)
    base.last_signed = _max_per_person(conn, "integration_plan", "signed_day", d, chunk)
    base.last_entry = _max_per_person(conn, "measure_participation", "entry_day", d, chunk)
    base.last_start = _max_per_person(conn, "employment_spell", "start_day", d, chunk)

    es = _T["employment_spell"]
    jobs: defaultdict[str, list[Job]] = defaultdict(list)
    for cno, eid, start, kind, wz, sub in conn.execute(select(
            es.c.customer_no, es.c.employment_id, es.c.start_day, es.c.kind, es.c.wz_section,
            es.c.subsidised).where(es.c.kind.in_(INTEGRATION_KINDS), es.c.start_day <= d,
                                   in_chunk(es.c.customer_no, chunk))):
        jobs[cno].append(Job(eid, start, kind, wz, sub))
    base.jobs = dict(jobs)
    return base


def load_activation(conn: Connection, d: int, chunk: Chunk = (None, None)
                    ) -> dict[str, list[tuple[int, int]]]:
    """Per person, ``(entry_day, active_to_day)`` of participations entered on or before ``d``
    in a measure type with ``counts_for_activation`` (R13's activated LZB)."""
    mp, mt = _T["measure_participation"], _T["measure_type"]
    spans: defaultdict[str, list[tuple[int, int]]] = defaultdict(list)
    for cno, entry, active_to in conn.execute(
            select(mp.c.customer_no, mp.c.entry_day, mp.c.active_to_day)
            .join(mt, mt.c.measure_code == mp.c.measure_code)
            .where(mt.c.counts_for_activation == 1, mp.c.entry_day <= d,
                   in_chunk(mp.c.customer_no, chunk))):
        spans[cno].append((int(entry), int(active_to)))
    return dict(spans)
