"""Read the base tables once, grouped per person, for the derived layer.

One pass: every table is one query ordered by customer number, read chunk by chunk alongside
the persons (``BaseReader``), so the cost is that of reading each table once at any scale.
Plain portable SELECTs of the needed columns only; large tables (contacts, measures, plans,
employment) are reduced by ``GROUP BY`` aggregates so a county's history never sits in memory.
Facts dated after ``as_of`` are filtered out here, once. Dates are read as their ``*_day`` numbers
(never the DATE column), so the result does not depend on how a driver stored a DATE.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Connection, Select, and_, func, or_, select

from opal import dates
from opal.casedb.schema import BASE_TABLES

_T = BASE_TABLES


class Bg(NamedTuple):
    """The columns of a benefit unit the person facts need."""

    office_id: str
    bg_type: str
    start_day: int
    end_day: int | None


class PersonRow(NamedTuple):
    """The columns of a person the derived layer reads (dates as day numbers)."""

    customer_no: str
    bg_id: str
    bg_role: str
    last_name: str | None
    first_name: str | None
    sex: str
    birth_day: int
    residence_status: str
    severely_disabled: int
    case_manager_id: str | None
    protected: int


class Job(NamedTuple):
    """An employment spell (any kind) that started on or before as_of."""

    employment_id: str
    start_day: int
    kind: str
    wz_section: str | None
    subsidised: int
    end_day: int | None


@dataclass
class BaseData:
    """Everything the derived layer reads, keyed by id (per-person dicts, no row scans later)."""

    staff: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (team_id, name)
    bgs: dict[str, Bg] = field(default_factory=dict)
    persons: list[PersonRow] = field(default_factory=list)
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
    jobs: dict[str, list[Job]] = field(default_factory=dict)  # every kind (entries, K2E3)
    # per BG: (number of KIND members under 18 on as_of, one of them): the R07 child rule
    kids: dict[str, tuple[int, str]] = field(default_factory=dict)
    #: per person, ``(entry_day, active_to_day)`` of participations entered on or before as_of
    #: in a measure type with ``counts_for_activation`` (R13's activated LZB)
    activation: dict[str, list[tuple[int, int]]] = field(default_factory=dict)


#: persons per chunk: memory stays that of a few Kreise however large the county is
CHUNK_PERSONS = 250_000
#: rows fetched per round trip of a streamed query
STREAM_BATCH = 20_000
_CURSOR_IDS = itertools.count(1)  # names the PostgreSQL cursors (unique on a connection)
_first = itemgetter(0)


class Ordered:
    """The rows of one query in customer-number order (its first column), taken chunk by chunk.

    Every base table is read once per refresh, whatever its physical order: a range query per
    chunk re-read the whole table whenever a chunk's rows were spread over it (nrw: 24 scans).
    Rows arrive in sorted batches, so a chunk's end is found by bisection, not row by row.
    """

    def __init__(self, batches: Iterable[Sequence[Any]],
                 close: Callable[[], None] | None = None) -> None:
        self._batches = iter(batches)
        self._close = close
        self._batch: Sequence[Any] = ()
        self._pos = 0
        self._refill()

    def _refill(self) -> None:
        """Move to the next non-empty batch once the current one is used up."""
        while self._pos >= len(self._batch):
            batch = next(self._batches, None)
            if batch is None:
                self._batch, self._pos = (), 0
                self.close()
                return
            self._batch, self._pos = batch, 0

    def close(self) -> None:
        """Release the cursor (at the end of the rows, or when the reader stops early)."""
        if self._close is not None:
            close, self._close = self._close, None
            close()

    @property
    def head(self) -> Any:
        """The next row not taken yet (None at the end)."""
        return self._batch[self._pos] if self._pos < len(self._batch) else None

    def take(self, hi: str | None) -> list[Any]:
        """Every remaining row whose customer number sorts before ``hi`` (None: all)."""
        out: list[Any] = []
        while self._pos < len(self._batch):
            batch, pos = self._batch, self._pos
            end = len(batch) if hi is None else bisect_left(batch, hi, pos, key=_first)
            out.extend(batch[pos:end])
            self._pos = end
            if end < len(batch):
                break
            self._refill()
        return out

    def take_n(self, n: int) -> list[Any]:
        """The next ``n`` rows (fewer at the end)."""
        out: list[Any] = []
        while len(out) < n and self._pos < len(self._batch):
            batch, pos = self._batch, self._pos
            end = min(len(batch), pos + n - len(out))
            out.extend(batch[pos:end])
            self._pos = end
            self._refill()
        return out


def _stream(conn: Connection, query: Select[Any]) -> Ordered:
    """Run ``query`` (ordered by its first column) on a server-side cursor, read in batches.

    The driver's cursor is used directly: its rows are plain tuples of str/int (no type needs a
    result processor), and SQLAlchemy's row objects cost a third of the derive step at nrw.
    The SQL is the compiled ``query``; its values are bound parameters, never spliced.
    """
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        cur = driver.cursor(name=f"opal_derive_{next(_CURSOR_IDS)}")
        cur.execute(str(compiled), compiled.params)
    else:
        cur = driver.cursor()
        cur.execute(str(compiled), [compiled.params[k] for k in compiled.positiontup or ()])
    return Ordered(iter(lambda: cur.fetchmany(STREAM_BATCH), []), cur.close)


def load_children(conn: Connection, d: int) -> dict[str, tuple[int, str]]:
    """Per BG, how many KIND members are under 18 on day ``d`` (born by then), and one of them."""
    p = _T["person"]
    on = dates.from_day(d)
    kids: dict[str, tuple[int, str]] = {}
    rows = conn.execute(select(p.c.bg_id, p.c.customer_no, p.c.birth_day).where(
        p.c.bg_role == "KIND", p.c.birth_day <= d, p.c.birth_day > d - 19 * 366)
        .execution_options(yield_per=STREAM_BATCH))
    for bg_id, cno, birth in rows:
        if dates.age_on(dates.from_day(birth), on) < 18:
            count, first = kids.get(bg_id, (0, cno))
            kids[bg_id] = (count + 1, first)
    return kids


def _max_per_person(table: str, day_col: str, d: int, where: Any = None) -> Select[Any]:
    """Latest day per person on or before ``d`` (one aggregate instead of every row)."""
    t = _T[table]
    cond = t.c[day_col] <= d
    if where is not None:
        cond = and_(cond, where)
    return (select(t.c.customer_no, func.max(t.c[day_col])).where(cond)
            .group_by(t.c.customer_no).order_by(t.c.customer_no))


class BaseReader:
    """Reads the base tables for the data day ``d`` in one ordered pass, a chunk at a time.

    Staff, stand-ins and ``kids`` (``load_children``) are county-wide and read once; everything
    per person comes from one query per table ordered by customer number (``Ordered``), of
    which ``chunk`` takes the next persons and all their rows. On PostgreSQL the plans are
    costed for reading every row (``cursor_tuple_fraction``), not for the first few.
    """

    def __init__(self, conn: Connection, d: int,
                 kids: dict[str, tuple[int, str]] | None = None,
                 lo: str | None = None, hi: str | None = None) -> None:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1.0")
        self.kids = load_children(conn, d) if kids is None else kids
        st, si = _T["staff"], _T["stand_in"]
        self.staff = {sid: (team, name) for sid, team, name in conn.execute(
            select(st.c.staff_id, st.c.team_id, st.c.display_name))}
        self.stand_ins = [(s, c) for s, c in conn.execute(
            select(si.c.staff_id, si.c.covers_staff_id).where(
                si.c.from_day <= d, or_(si.c.to_day.is_(None), si.c.to_day >= d)))]
        self.lo, self.hi = lo, hi
        p, bu, bs, us = _T["person"], _T["benefit_unit"], _T["benefit_spell"], \
            _T["unemployment_spell"]
        pr, c, ip, es = _T["profile"], _T["contact"], _T["integration_plan"], \
            _T["employment_spell"]
        mp, mt = _T["measure_participation"], _T["measure_type"]
        self._persons = self._stream(conn, select(
            p.c.customer_no, p.c.bg_id, p.c.bg_role, p.c.last_name, p.c.first_name, p.c.sex,
            p.c.birth_day, p.c.residence_status, p.c.severely_disabled, p.c.case_manager_id,
            p.c.protected).order_by(p.c.customer_no))
        self._bgs = self._stream(conn, select(
            p.c.customer_no, bu.c.bg_id, bu.c.office_id, bu.c.bg_type, bu.c.start_day,
            bu.c.end_day).join(bu, bu.c.bg_id == p.c.bg_id).order_by(p.c.customer_no))
        self._spells = self._stream(conn, select(
            bs.c.customer_no, bs.c.status, bs.c.from_day, bs.c.to_day).where(
            bs.c.from_day <= d).order_by(bs.c.customer_no))
        self._al_from = self._stream(conn, select(us.c.customer_no, func.min(us.c.from_day)).where(
            us.c.status == "ARBEITSLOS", us.c.from_day <= d,
            or_(us.c.to_day.is_(None), us.c.to_day >= d))
            .group_by(us.c.customer_no).order_by(us.c.customer_no))
        self._profiles = self._stream(conn, select(
            pr.c.customer_no, pr.c.valid_from_day, pr.c.profile_group).where(
            pr.c.valid_from_day <= d).order_by(pr.c.customer_no))
        self._last_contact = self._stream(conn, _max_per_person(
            "contact", "contact_day", d, c.c.outcome == "WAHRGENOMMEN"))
        self._plans = self._stream(conn, select(
            ip.c.customer_no, ip.c.plan_id, ip.c.plan_type, ip.c.signed_day, ip.c.end_day,
            ip.c.next_review_day).where(
            ip.c.status == "AKTIV", ip.c.signed_day <= d,
            or_(ip.c.end_day.is_(None), ip.c.end_day >= d)).order_by(ip.c.customer_no))
        self._last_signed = self._stream(conn, _max_per_person("integration_plan", "signed_day", d))
        self._last_entry = self._stream(conn, _max_per_person("measure_participation", "entry_day",
                                                         d))
        self._last_start = self._stream(conn, _max_per_person("employment_spell", "start_day", d))
        self._jobs = self._stream(conn, select(
            es.c.customer_no, es.c.employment_id, es.c.start_day, es.c.kind, es.c.wz_section,
            es.c.subsidised, es.c.end_day).where(es.c.start_day <= d)
            .order_by(es.c.customer_no))
        self._activation = self._stream(conn, select(
            mp.c.customer_no, mp.c.entry_day, mp.c.active_to_day)
            .join(mt, mt.c.measure_code == mp.c.measure_code)
            .where(mt.c.counts_for_activation == 1, mp.c.entry_day <= d)
            .order_by(mp.c.customer_no))

    def _stream(self, conn: Connection, query: Select[Any]) -> Ordered:
        """``_stream`` of ``query`` narrowed to customer numbers in ``[lo, hi)`` (its first
        column): a second process derives the other part of the persons."""
        key = next(iter(query.selected_columns))
        if self.lo is not None:
            query = query.where(key >= self.lo)
        if self.hi is not None:
            query = query.where(key < self.hi)
        return _stream(conn, query)

    def __enter__(self) -> BaseReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every stream's cursor (those read to the end are closed already)."""
        for stream in vars(self).values():
            if isinstance(stream, Ordered):
                stream.close()

    def chunks(self, size: int = CHUNK_PERSONS) -> Iterator[BaseData]:
        """Yield the persons ``size`` at a time with every fact of theirs, in customer order."""
        while self._persons.head is not None:
            yield self.chunk(size)

    def chunk(self, size: int) -> BaseData:
        """The next ``size`` persons (ordered by customer number) and their rows."""
        base = BaseData(staff=self.staff, stand_ins=self.stand_ins, kids=self.kids)
        base.persons = list(map(PersonRow._make, self._persons.take_n(size)))
        head = self._persons.head
        hi = None if head is None else head[0]  # the next chunk starts here
        base.bgs = {row[1]: Bg._make(row[2:]) for row in self._bgs.take(hi)}
        elb: defaultdict[str, list[tuple[int, int | None]]] = defaultdict(list)
        nef: defaultdict[str, list[tuple[int, int | None]]] = defaultdict(list)
        for cno, status, f, t in self._spells.take(hi):
            (elb if status == "ELB" else nef)[cno].append((f, t))
        base.elb, base.nef = dict(elb), dict(nef)
        base.al_from = {cno: int(f) for cno, f in self._al_from.take(hi)}
        latest: dict[str, tuple[int, str]] = {}
        for cno, vf, group in self._profiles.take(hi):
            cur = latest.get(cno)
            if cur is None or vf > cur[0]:
                latest[cno] = (vf, group)
        base.profile = {cno: group for cno, (_vf, group) in latest.items()}
        base.last_contact = {cno: int(day) for cno, day in self._last_contact.take(hi)}
        plans: defaultdict[str, list[tuple[str, str, int, int | None]]] = defaultdict(list)
        for cno, pid, ptype, signed, end, review_day in self._plans.take(hi):
            plans[cno].append((pid, "AKTIV", signed, end))
            base.plan_info[pid] = (ptype, review_day)
        base.plans = dict(plans)
        base.last_signed = {cno: int(day) for cno, day in self._last_signed.take(hi)}
        base.last_entry = {cno: int(day) for cno, day in self._last_entry.take(hi)}
        base.last_start = {cno: int(day) for cno, day in self._last_start.take(hi)}
        jobs: defaultdict[str, list[Job]] = defaultdict(list)
        for cno, eid, start, kind, wz, sub, end in self._jobs.take(hi):
            jobs[cno].append(Job(eid, start, kind, wz, sub, end))
        base.jobs = dict(jobs)
        spans: defaultdict[str, list[tuple[int, int]]] = defaultdict(list)
        for cno, entry, active_to in self._activation.take(hi):
            spans[cno].append((int(entry), int(active_to)))
        base.activation = dict(spans)
        return base

