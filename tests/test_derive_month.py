"""d_month_stock (opal.refresh.derive_month) and the chunked derive, on both databases.

The month-end counts are checked against a day-by-day recount with the plain rules
(``covered``, ``is_lzb``) on random histories, and deriving in chunks of one or a few persons must
give exactly the tables of one pass.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, select

from opal import dates
from opal.casedb.schema import BASE_TABLES, DERIVED_TABLES, FLUCHT, d_month_stock
from opal.refresh.derive import build_derived
from opal.refresh.derive_calc import covered, is_lzb, merge_intervals
from opal.refresh.derive_load import Ordered
from opal.refresh.derive_month import intersect_runs, merge_runs, month_end_run
from tests.test_derive import AS_OF, BUILT_AT, MANIFEST, Case, case  # noqa: F401 (fixture)

D = dates.day(AS_OF)
LAST_MONTH = dates.month_of(AS_OF)


def test_month_end_run_and_runs() -> None:
    jan31 = dates.day(date(2026, 1, 31))
    assert month_end_run(jan31, jan31, LAST_MONTH) == (dates.month_idx(2026, 1),) * 2
    assert month_end_run(jan31 + 1, jan31 + 27, LAST_MONTH) is None  # 1..28 Feb: no month end
    assert month_end_run(jan31 - 5, jan31 + 28, LAST_MONTH) == (
        dates.month_idx(2026, 1), dates.month_idx(2026, 2))
    assert month_end_run(jan31, dates.OPEN_END, LAST_MONTH) == (
        dates.month_idx(2026, 1), LAST_MONTH)
    assert merge_runs([(5, 6), (1, 2), (3, 4), (9, 9)]) == [(1, 6), (9, 9)]
    assert intersect_runs([(1, 4), (6, 9)], [(3, 7)]) == [(3, 4), (6, 7)]


def _random_case(db: Case, rng: random.Random, persons: int) -> None:
    start = D - 4000
    db.add("office", office_id="O3", name="Coesfeld")
    for n in range(persons):
        cno, bg = f"K{n:03d}", f"BG{n:03d}"
        bg_start = start + rng.randrange(4000)
        bg_end = None if rng.random() < 0.5 else bg_start + rng.randrange(900)
        db.add("benefit_unit", bg_id=bg, office_id=rng.choice(["O1", "O2", "O3"]),
                 bg_type=rng.choice(["ALLEINERZIEHEND", "SINGLE"]),
                 start_date=dates.from_day(bg_start),
                 end_date=dates.from_day(bg_end) if bg_end is not None else None)
        db.add("person", customer_no=cno, bg_id=bg,
                 bg_role=rng.choice(["HAUPTPERSON", "HAUPTPERSON", "KIND"]),
                 sex=rng.choice("MWD"), residence_status=rng.choice(["DEUTSCH", "DULDUNG"]),
                 birth_date=date(1990, 1, 1) + timedelta(days=rng.randrange(8000)))
        day = start + rng.randrange(800)
        for _ in range(rng.randrange(4)):
            length = rng.choice([0, 5, 40, 300, 700, 900])
            end = day + length
            db.spell(cno, dates.from_day(day),
                       None if end > D and rng.random() < 0.5 else dates.from_day(end))
            day = end + rng.choice([1, 2, 20, 100])
        for k in range(rng.randrange(3)):
            entry = start + rng.randrange(4200)
            db.add("measure_participation", participation_id=f"MP{n:03d}{k}",
                     customer_no=cno, entry_date=dates.from_day(entry),
                     planned_end_date=dates.from_day(entry + rng.randrange(400)))


def _recount(db: Case) -> Counter[tuple[Any, ...]]:
    """Each metric per (month, office, sex, flucht, ae) straight from the rules."""
    conn = db.conn
    p = BASE_TABLES["person"]
    people = conn.execute(select(p.c.customer_no, p.c.bg_id, p.c.bg_role, p.c.sex,
                                 p.c.residence_status)).all()
    bu = BASE_TABLES["benefit_unit"]
    bgs = {r.bg_id: r for r in conn.execute(select(bu))}
    bs = BASE_TABLES["benefit_spell"]
    spells: dict[str, list[tuple[int, int | None]]] = {}
    for cno, f, t in conn.execute(select(bs.c.customer_no, bs.c.from_day, bs.c.to_day)):
        spells.setdefault(cno, []).append((f, t))
    mp = BASE_TABLES["measure_participation"]
    parts: dict[str, list[tuple[int, int]]] = {}
    for cno, f, t in conn.execute(select(mp.c.customer_no, mp.c.entry_day, mp.c.active_to_day)):
        parts.setdefault(cno, []).append((f, t))
    counts: Counter[tuple[Any, ...]] = Counter()
    for cno, bg_id, role, sex, residence in people:
        iv = merge_intervals(spells.get(cno, []), D)
        bg = bgs[bg_id]
        for m in range(dates.month_of(AS_OF) - 150, LAST_MONTH + 1):
            last = dates.day(dates.month_last(m))
            prev = dates.day(dates.month_first(m)) - 1
            bg_end = dates.OPEN_END if bg.end_day is None else bg.end_day
            ae = int(role == "HAUPTPERSON" and bg.bg_type == "ALLEINERZIEHEND"
                     and bg.start_day <= last <= bg_end)
            key = (m, bg.office_id, sex, int(residence in FLUCHT), ae)
            now, before = covered(iv, last), covered(iv, prev)
            lzb, lzb_before = is_lzb(iv, last), is_lzb(iv, prev)
            active = any(f <= last <= t for f, t in parts.get(cno, []))
            for metric, hit in (("elb", now), ("lzb", lzb), ("lzb_activated", lzb and active),
                                ("inflow", now and not before),
                                ("outflow", before and not now),
                                ("lzb_inflow", lzb and not lzb_before),
                                ("lzb_outflow", lzb_before and not lzb)):
                if hit:
                    counts[(*key, metric)] += 1
    return counts


def _stored(db: Case) -> Counter[tuple[Any, ...]]:
    counts: Counter[tuple[Any, ...]] = Counter()
    for r in db.conn.execute(select(d_month_stock)).mappings():
        key = (r["month_idx"], r["office_id"], r["sex"], r["fluchtkontext"],
               r["alleinerziehend"])
        for metric in ("elb", "lzb", "lzb_activated", "inflow", "outflow", "lzb_inflow",
                       "lzb_outflow"):
            if r[metric]:
                counts[(*key, metric)] += r[metric]
    return counts


def _tables(db: Case) -> dict[str, list[tuple[Any, ...]]]:
    return {t.name: sorted(tuple(r) for r in db.conn.execute(select(t)))
            for t in DERIVED_TABLES}


def test_month_stock_matches_day_rules_and_chunks_change_nothing(case: Case) -> None:  # noqa: F811
    _random_case(case, random.Random(7), 40)
    case.derive()
    assert _stored(case) == _recount(case)
    assert min(r[0] for r in _stored(case)) >= dates.month_of(AS_OF) - 150
    whole = _tables(case)
    for size in (1, 3):
        for table in DERIVED_TABLES:
            case.conn.execute(delete(table))
        build_derived(case.conn, AS_OF, MANIFEST, BUILT_AT, chunk_persons=size)
        assert _tables(case) == whole


def _every_table_case(db: Case, rng: random.Random, persons: int) -> None:
    """Persons with rows in every table the derive step reads, inserted in shuffled order, with
    customer numbers whose code-point order differs from their insertion and locale order."""
    prefixes = ["K", "k", "Ä", "0", "Z", "ß", "a-", "A"]
    numbers = [f"{rng.choice(prefixes)}{n:03d}" for n in range(persons)]
    rng.shuffle(numbers)
    start = D - 3000
    for n, cno in enumerate(numbers):
        db.add("benefit_unit", bg_id=f"BG{n:03d}", office_id=rng.choice(["O1", "O2"]),
               bg_type=rng.choice(["ALLEINERZIEHEND", "SINGLE"]),
               start_date=dates.from_day(start + rng.randrange(2000)))
        db.add("person", customer_no=cno, bg_id=f"BG{n:03d}" if rng.random() < 0.7 else "B1",
               bg_role=rng.choice(["HAUPTPERSON", "KIND", "PARTNER"]),
               birth_date=date(1990, 1, 1) + timedelta(days=rng.randrange(12000)),
               case_manager_id=rng.choice(["S1", "S2", "S4", None]))
    for k in range(persons * 4):  # rows of each table in an order unrelated to the persons'
        cno, day = rng.choice(numbers), start + rng.randrange(3100)
        kind = k % 6
        if kind == 0:
            db.spell(cno, dates.from_day(day), None if rng.random() < 0.3
                     else dates.from_day(day + rng.randrange(900)))
        elif kind == 1:
            db.add("unemployment_spell", spell_id=f"U{k}", customer_no=cno,
                   from_date=dates.from_day(day), to_date=None)
        elif kind == 2:
            db.add("contact", contact_id=f"C{k}", customer_no=cno,
                   contact_date=dates.from_day(day))
        elif kind == 3:
            db.add("integration_plan", plan_id=f"P{k}", customer_no=cno,
                   signed_date=dates.from_day(day), next_review_date=dates.from_day(day + 180))
        elif kind == 4:
            db.add("employment_spell", employment_id=f"E{k}", customer_no=cno,
                   start_date=dates.from_day(day))
            db.add("profile", customer_no=cno, valid_from=dates.from_day(day),
                   profile_group=rng.choice(["A", "B", "C"]))
        else:
            db.add("measure_participation", participation_id=f"MP{k}", customer_no=cno,
                   entry_date=dates.from_day(day),
                   planned_end_date=dates.from_day(day + rng.randrange(400)))


def test_every_table_is_read_in_one_ordered_pass_whatever_the_chunk(case: Case) -> None:  # noqa: F811
    """Chunks take each table's rows by customer number (code-point order on both databases):
    a row handed to the wrong chunk would lose a person's fact, so every size must agree."""
    _every_table_case(case, random.Random(11), 60)
    case.derive()
    whole = _tables(case)
    assert len(whole["d_person"]) == 60
    assert sum(1 for r in whole["d_person"] if r[0] and r[0][0] in "ÄZß") > 0
    for size in (1, 2, 7, 59):
        for table in DERIVED_TABLES:
            case.conn.execute(delete(table))
        build_derived(case.conn, AS_OF, MANIFEST, BUILT_AT, chunk_persons=size)
        assert _tables(case) == whole, size


def test_ordered_takes_across_batch_boundaries() -> None:
    """``Ordered`` hands out rows by customer number across batches, including empty ones."""
    rows = [(k, i) for i, k in enumerate(["A", "A", "B", "C", "C", "C", "E", "Z", "a", "ß"])]
    batches = [rows[0:1], [], rows[1:4], rows[4:5], [], [], rows[5:9], rows[9:]]
    closed: list[int] = []
    stream = Ordered(iter(batches), lambda: closed.append(1))
    assert stream.head == ("A", 0)
    assert stream.take("A") == []
    assert stream.take_n(1) == [("A", 0)]
    assert stream.take("C") == [("A", 1), ("B", 2)]
    assert stream.head == ("C", 3)
    assert stream.take("D") == [("C", 3), ("C", 4), ("C", 5)]
    assert stream.take_n(2) == [("E", 6), ("Z", 7)]
    assert stream.take("b") == [("a", 8)]
    assert closed == []
    assert stream.take(None) == [("ß", 9)]
    assert closed == [1]  # the cursor is released as soon as its rows are read
    stream.close()
    assert closed == [1]
    assert stream.head is None and stream.take(None) == [] and stream.take_n(3) == []
    assert Ordered(iter([[], []])).head is None
