"""The derived layer (opal.refresh.derive): exact facts from hand-made base rows, on both databases.

Every rule is reports.md "Derived facts" / "Scope"; each test builds the smallest case DB that
shows one rule and its edge, then reads the d_* tables back.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Date, delete, insert, select, text

from config import Config
from opal import dates
from opal.casedb.schema import (
    BASE_TABLES,
    DERIVED_TABLES,
    d_elb_interval,
    d_integration,
    d_list_scope,
    d_meta,
    d_month,
    d_person,
    day_column_name,
    metadata,
)
from opal.db import make_engine
from opal.refresh.derive import build_derived
from opal.refresh.derive_calc import (
    bedarfsdeckend,
    covered,
    earliest_covering_from,
    elb_days,
    first_per_month,
    is_lzb,
    merge_intervals,
    pick_active_plan,
)

AS_OF = date(2026, 11, 23)
D = AS_OF.toordinal()
MANIFEST = {"exported_at": "2026-11-24T01:30:00Z", "source": "Test", "format_version": 1}
BUILT_AT = datetime(2026, 11, 24, 6, 12, 3, tzinfo=UTC)


def ago(n: int) -> date:
    """The date ``n`` days before AS_OF (negative: after)."""
    return AS_OF - timedelta(days=n)


DEFAULTS: dict[str, dict[str, Any]] = {
    "person": {"bg_id": "B1", "bg_role": "HAUPTPERSON", "last_name": "Muster",
               "first_name": "Max", "sex": "M", "birth_date": date(1980, 5, 5),
               "citizenship": "DE", "residence_status": "DEUTSCH", "severely_disabled": 0,
               "case_manager_id": "S1", "protected": 0},
    "benefit_unit": {"office_id": "O1", "bg_type": "SINGLE", "start_date": date(2010, 1, 1)},
    "benefit_spell": {"status": "ELB"},
    "unemployment_spell": {"status": "ARBEITSLOS"},
    "integration_plan": {"plan_type": "EGV", "status": "AKTIV"},
    "contact": {"staff_id": "S1", "channel": "PERSOENLICH", "outcome": "WAHRGENOMMEN"},
    "employment_spell": {"kind": "SVB", "subsidised": 0, "wz_section": "N", "full_time": 1},
    "measure_participation": {"measure_code": "M1"},
}


class Case:
    """A case DB on one connection: insert base rows, derive, read derived rows back."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._ids = 0
        self.add("office", office_id="O1", name="Borken")
        self.add("office", office_id="O2", name="Ahaus")
        self.add("team", team_id="T1", office_id="O1", name="Team 1", focus="UE25")
        self.add("team", team_id="T2", office_id="O2", name="Team 2", focus="U25")
        for sid, team, name, function, active in (
                ("S1", "T1", "Alt, Anna", "FALLMANAGEMENT", 1),
                ("S2", "T1", "Bau, Bert", "ARBEITSVERMITTLUNG", 1),
                ("S3", "T2", "Cee, Carl", "LEISTUNG", 0),
                ("S4", "T2", "Dorn, Dora", "FALLMANAGEMENT", 1)):
            self.add("staff", staff_id=sid, team_id=team, display_name=name, function=function,
                     fte_e4=10000, active=active)
        self.add("measure_type", measure_code="M1", name="AGH", legal_basis="P16D_AGH",
                 category="OEFFENTLICH_GEFOERDERT", counts_for_activation=1)
        self.add("benefit_unit", bg_id="B1")

    def _next_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{self._ids:04d}"

    def add(self, table: str, **values: Any) -> None:
        """Insert one base row, filling defaults and every ``*_day`` column."""
        t = BASE_TABLES[table]
        row: dict[str, Any] = {c.name: None for c in t.columns}
        row.update(DEFAULTS.get(table, {}))
        row.update(values)
        for c in t.columns:
            if isinstance(c.type, Date):
                value = row[c.name]
                row[day_column_name(c.name)] = value.toordinal() if value else None
        if table == "measure_participation":
            end = row["exit_date"] or row["planned_end_date"]
            row["active_to_day"] = end.toordinal() if end else dates.OPEN_END
        self.conn.execute(insert(t), [row])

    def spell(self, cno: str, start: date, end: date | None = None, status: str = "ELB") -> None:
        self.add("benefit_spell", spell_id=self._next_id("BS"), customer_no=cno,
                 status=status, from_date=start, to_date=end)

    def derive(self, as_of: date = AS_OF) -> None:
        for table in DERIVED_TABLES:
            self.conn.execute(delete(table))
        build_derived(self.conn, as_of, MANIFEST, BUILT_AT)

    def person(self, cno: str) -> dict[str, Any]:
        return dict(self.conn.execute(
            select(d_person).where(d_person.c.customer_no == cno)).mappings().one())

    def intervals(self, cno: str) -> list[tuple[int, int]]:
        return [(int(f), int(t)) for f, t in self.conn.execute(
            select(d_elb_interval.c.from_day, d_elb_interval.c.to_day)
            .where(d_elb_interval.c.customer_no == cno).order_by(d_elb_interval.c.from_day))]

    def scope(self) -> set[tuple[str, str]]:
        return {(v, c) for v, c in self.conn.execute(select(d_list_scope))}

    def integrations(self) -> dict[str, dict[str, Any]]:
        return {r["employment_id"]: dict(r) for r in self.conn.execute(
            select(d_integration)).mappings()}


@pytest.fixture
def case(config: Config) -> Iterator[Case]:
    engine = make_engine(config.case_db_url, config.case_db_schema)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{config.case_db_schema}"'))
    metadata.create_all(engine)
    with engine.begin() as conn:
        yield Case(conn)
    engine.dispose()


# ----- pure functions --------------------------------------------------------------------------


def test_merge_intervals_merges_overlap_and_adjacency_drops_future_and_clips() -> None:
    spells = [(10, 20), (15, 30), (31, 35), (40, None), (100, None), (37, 38)]
    assert merge_intervals(spells, 50) == [(10, 35), (37, 38), (40, 50)]
    assert merge_intervals([(51, None)], 50) == []
    assert merge_intervals([(50, 50)], 50) == [(50, 50)]


def test_elb_days_counts_window_ends_overlaps_once_gaps_not() -> None:
    merged = merge_intervals([(1, 10), (5, 12), (20, 29)], 1000)
    assert merged == [(1, 12), (20, 29)]
    assert elb_days(merged, 29, 10) == 10  # [20, 29]
    assert elb_days(merged, 29, 11) == 10  # day 19 is a gap
    assert elb_days(merged, 29, 18) == 11  # [12, 29]: day 12 plus 20..29
    assert elb_days(merged, 29, 1000) == 22
    assert elb_days(merged, 15, 5) == 2  # [11, 15]: 11, 12
    assert elb_days([], 15, 730) == 0
    assert elb_days([(100, 200)], 50, 730) == 0


def test_elb_days_matches_day_by_day_count() -> None:
    rnd = random.Random(3)
    for _ in range(300):
        spells = [(f, None if rnd.random() < 0.2 else f + rnd.randint(0, 60))
                  for f in (rnd.randint(0, 300) for _ in range(rnd.randint(0, 6)))]
        as_of = rnd.randint(100, 320)
        days = {x for f, t in spells if f <= as_of
                for x in range(f, (as_of if t is None else min(t, as_of)) + 1)}
        merged = merge_intervals(spells, as_of)
        assert all(b[0] > a[1] + 1 for a, b in zip(merged, merged[1:], strict=False))
        for d in (as_of, as_of - 1, rnd.randint(0, as_of)):
            assert covered(merged, d) == (d in days)
            for window in (1, 30, 730):
                assert elb_days(merged, d, window) == len(
                    {x for x in days if d - window < x <= d})


def test_elb_days_lzb_edge() -> None:
    assert elb_days([(1000 - 637, 1000)], 1000, 730) == 638
    assert is_lzb([(1000 - 637, 1000)], 1000)
    assert not is_lzb([(1000 - 636, 1000)], 1000)
    assert not is_lzb([(0, 999)], 1000)  # 730 days but not eLb on D


def test_covered_and_raw_spells() -> None:
    merged = [(1, 12), (20, 29)]
    assert [d for d in range(0, 32) if covered(merged, d)] == [*range(1, 13), *range(20, 30)]
    assert earliest_covering_from([(5, 9), (10, None), (3, 20), (1, 4)], 10) == 3
    assert earliest_covering_from([(5, 9)], 10) is None


def test_pick_active_plan_tie_rules() -> None:
    plans = [("P-10", "AKTIV", 50, None), ("P-9", "AKTIV", 50, None),
             ("P-8", "AKTIV", 40, None), ("P-99", "ERSETZT", 60, None),
             ("P-7", "AKTIV", 55, 99), ("P-6", "AKTIV", 101, None)]
    assert pick_active_plan(plans, 100) == ("P-9", "AKTIV", 50, None)  # "P-9" > "P-10"
    assert pick_active_plan(plans, 99) == ("P-7", "AKTIV", 55, 99)  # end day counts
    assert pick_active_plan([], 100) is None


def test_first_per_month_and_bedarfsdeckend() -> None:
    assert first_per_month([(7, "E-9", 5), (7, "E-10", 5), (7, "E-1", 6), (8, "E-2", 40)]) == {
        7: (5, "E-10"), 8: (40, "E-2")}
    assert bedarfsdeckend([(0, 10)], 0, 91) == 1
    assert bedarfsdeckend([(0, 91)], 0, 91) == 0
    assert bedarfsdeckend([(0, 10)], 0, 90) is None


# ----- d_meta, d_month, d_elb_interval -----------------------------------------------------------


def test_meta_and_months(case: Case) -> None:
    case.derive()
    meta = case.conn.execute(select(d_meta)).mappings().one()
    assert dict(meta) == {"as_of": AS_OF, "as_of_day": D, "exported_at": "2026-11-24T01:30:00Z",
                          "source": "Test", "format_version": 1,
                          "built_at": "2026-11-24T06:12:03Z"}
    months = case.conn.execute(select(d_month).order_by(d_month.c.month_idx)).all()
    assert months[0] == (1900 * 12, "1900-01", date(1900, 1, 1).toordinal(),
                         date(1900, 1, 31).toordinal(), date(1900, 1, 31))
    assert months[-1] == (2026 * 12 + 10, "2026-11", date(2026, 11, 1).toordinal(),
                          date(2026, 11, 30).toordinal(), date(2026, 11, 30))
    assert len(months) == (2026 - 1900) * 12 + 11


def test_intervals_overlap_gap_as_of_end_and_future_spell(case: Case) -> None:
    case.add("person", customer_no="K1")
    case.spell("K1", ago(100), ago(50))
    case.spell("K1", ago(60), ago(40))  # overlaps
    case.spell("K1", ago(39), ago(30))  # adjacent
    case.spell("K1", ago(20), AS_OF)  # gap, then ends exactly on as_of
    case.spell("K1", ago(-1))  # starts after as_of: ignored
    case.spell("K1", ago(25), ago(5), status="NEF")
    case.spell("K1", ago(3), None, status="NEF")
    case.derive()
    assert case.intervals("K1") == [(D - 100, D - 30), (D - 20, D)]
    p = case.person("K1")
    assert (p["is_elb"], p["is_nef"], p["elb_days_730"], p["elb_days_2555"]) == (1, 0, 92, 92)
    assert (p["elb_since"], p["elb_since_day"]) == (ago(20), D - 20)
    assert p["lzb"] == 0


def test_open_spell_clipped_to_as_of_and_nef(case: Case) -> None:
    case.add("person", customer_no="K1")
    case.add("person", customer_no="K2")
    case.add("person", customer_no="K3")
    case.spell("K1", ago(10), ago(-30))
    case.spell("K2", ago(10), ago(1))
    case.spell("K2", ago(5), None, status="NEF")
    case.spell("K3", ago(-1), None)
    case.derive()
    assert case.intervals("K1") == [(D - 10, D)]
    assert case.intervals("K3") == []
    k2 = case.person("K2")
    assert (k2["is_elb"], k2["is_nef"], k2["elb_days_730"], k2["elb_since"]) == (0, 1, 10, None)
    k3 = case.person("K3")
    assert (k3["is_elb"], k3["is_nef"], k3["elb_days_730"], k3["u25"]) == (0, 0, 0, 0)


def test_lzb_edge_637_vs_638(case: Case) -> None:
    case.add("person", customer_no="K638")
    case.add("person", customer_no="K637")
    case.add("person", customer_no="KSPLIT")
    case.spell("K638", ago(637))
    case.spell("K637", ago(636))
    case.spell("KSPLIT", ago(900), ago(500))  # [D-729, D-500] in the window: 230 days
    case.spell("KSPLIT", ago(450), ago(300))
    case.spell("KSPLIT", ago(400), AS_OF)  # overlaps the one before: [D-450, D] = 451 days
    case.derive()
    assert (case.person("K638")["elb_days_730"], case.person("K638")["lzb"]) == (638, 1)
    assert (case.person("K637")["elb_days_730"], case.person("K637")["lzb"]) == (637, 0)
    split = case.person("KSPLIT")
    assert (split["elb_days_730"], split["lzb"], split["elb_days_2555"]) == (681, 1, 852)
    assert split["elb_since"] == ago(400)


def test_elb_since_raw_spells_adjacent_not_merged(case: Case) -> None:
    case.add("person", customer_no="K1")
    case.add("person", customer_no="K2")
    case.spell("K1", ago(50), ago(11))
    case.spell("K1", ago(10))
    case.spell("K2", ago(30))
    case.spell("K2", ago(40), ago(-5))
    case.derive()
    assert case.intervals("K1") == [(D - 50, D)]
    assert case.person("K1")["elb_since_day"] == D - 10
    assert case.person("K2")["elb_since_day"] == D - 40


# ----- person facts ------------------------------------------------------------------------------


def test_age_29_february(case: Case) -> None:
    case.add("person", customer_no="K1", birth_date=date(2008, 2, 29))
    case.spell("K1", date(2026, 1, 1))
    case.derive(date(2027, 2, 28))
    assert case.person("K1")["age"] == 18
    case.derive(date(2027, 3, 1))
    assert case.person("K1")["age"] == 19
    case.derive(date(2028, 2, 28))
    assert case.person("K1")["age"] == 19
    case.derive(date(2028, 2, 29))
    assert case.person("K1")["age"] == 20


def test_age_24_vs_25_on_birthday_and_u25(case: Case) -> None:
    case.add("person", customer_no="K25", birth_date=date(2001, 11, 23))
    case.add("person", customer_no="K24", birth_date=date(2001, 11, 24))
    case.add("person", customer_no="KNO", birth_date=date(2010, 1, 1))
    for cno in ("K25", "K24"):
        case.spell(cno, ago(100))
    case.derive()
    assert (case.person("K25")["age"], case.person("K25")["u25"]) == (25, 0)
    assert (case.person("K24")["age"], case.person("K24")["u25"]) == (24, 1)
    assert (case.person("KNO")["age"], case.person("KNO")["u25"]) == (16, 0)  # not eLb


def test_static_attributes_case_manager_and_team(case: Case) -> None:
    case.add("benefit_unit", bg_id="B2", office_id="O2", bg_type="PAAR_OHNE_KIND",
             start_date=ago(10), end_date=ago(1))
    case.add("person", customer_no="K1", bg_id="B2", last_name="Özdemir", first_name="Ayşe",
             sex="W", case_manager_id="S3", residence_status="DULDUNG", severely_disabled=1,
             protected=1, bg_role="PARTNER")
    case.add("person", customer_no="K2", case_manager_id=None, residence_status="EU")
    case.derive()
    k1 = case.person("K1")
    assert {k: k1[k] for k in ("name", "bg_id", "office_id", "case_manager_id", "case_manager",
                               "team_id", "protected", "sex", "birth_date", "residence_status",
                               "fluchtkontext", "severely_disabled", "bg_role", "bg_type",
                               "bg_start_day", "bg_end_day", "bg_active")} == {
        "name": "Özdemir, Ayşe", "bg_id": "B2", "office_id": "O2", "case_manager_id": "S3",
        "case_manager": "Cee, Carl", "team_id": "T2", "protected": 1, "sex": "W",
        "birth_date": date(1980, 5, 5), "residence_status": "DULDUNG", "fluchtkontext": 1,
        "severely_disabled": 1, "bg_role": "PARTNER", "bg_type": "PAAR_OHNE_KIND",
        "bg_start_day": D - 10, "bg_end_day": D - 1, "bg_active": 0}
    k2 = case.person("K2")
    assert (k2["case_manager_id"], k2["case_manager"], k2["team_id"]) == (None, None, None)
    assert (k2["fluchtkontext"], k2["bg_end_day"], k2["bg_active"]) == (0, dates.OPEN_END, 1)
    assert (k2["last_contact"], k2["days_since_contact"], k2["profile_group"]) == (
        None, None, None)
    assert (k2["plan_id"], k2["offer_since_entry"], k2["al_days"]) == (None, 0, 0)


def test_al_days_two_covering_spells_and_365_edge(case: Case) -> None:
    for cno in ("K1", "K2", "K3", "K4", "K5"):
        case.add("person", customer_no=cno)
    us = "unemployment_spell"
    case.add(us, spell_id="U1", customer_no="K1", from_date=ago(100), to_date=ago(-10))
    case.add(us, spell_id="U2", customer_no="K1", from_date=ago(400))
    case.add(us, spell_id="U3", customer_no="K1", from_date=ago(800), to_date=ago(500))
    case.add(us, spell_id="U4", customer_no="K2", from_date=ago(364), to_date=AS_OF)
    case.add(us, spell_id="U5", customer_no="K3", from_date=ago(363))
    case.add(us, spell_id="U6", customer_no="K4", from_date=ago(10), to_date=ago(1))
    case.add(us, spell_id="U7", customer_no="K5", from_date=ago(900), status="ARBEITSUCHEND")
    case.add(us, spell_id="U8", customer_no="K5", from_date=ago(-1))
    case.derive()
    got = {c: (case.person(c)["al_days"], case.person(c)["arbeitslos"],
               case.person(c)["langzeitarbeitslos"]) for c in ("K1", "K2", "K3", "K4", "K5")}
    assert got == {"K1": (401, 1, 1), "K2": (365, 1, 1), "K3": (364, 1, 0), "K4": (0, 0, 0),
                   "K5": (0, 0, 0)}


def test_last_kept_contact(case: Case) -> None:
    case.add("person", customer_no="K1")
    case.add("person", customer_no="K2")
    for cid, cno, day, outcome in (
            ("C1", "K1", ago(10), "WAHRGENOMMEN"), ("C2", "K1", AS_OF, "WAHRGENOMMEN"),
            ("C3", "K1", ago(-5), "OFFEN"), ("C4", "K2", ago(3), "NICHT_ERSCHIENEN"),
            ("C5", "K2", ago(-2), "OFFEN"), ("C6", "K2", ago(20), "WAHRGENOMMEN"),
            ("C7", "K2", ago(2), "ABGESAGT"), ("C8", "K2", ago(-3), "WAHRGENOMMEN")):
        case.add("contact", contact_id=cid, customer_no=cno, contact_date=day, outcome=outcome)
    case.derive()
    k1, k2 = case.person("K1"), case.person("K2")
    assert (k1["last_contact"], k1["last_contact_day"], k1["days_since_contact"]) == (
        AS_OF, D, 0)
    assert (k2["last_contact"], k2["last_contact_day"], k2["days_since_contact"]) == (
        ago(20), D - 20, 20)


def test_profile_group_latest_valid_from(case: Case) -> None:
    case.add("person", customer_no="K1")
    case.add("person", customer_no="K2")
    case.add("profile", customer_no="K1", valid_from=ago(100), profile_group="A")
    case.add("profile", customer_no="K1", valid_from=AS_OF, profile_group="B")
    case.add("profile", customer_no="K1", valid_from=ago(-1), profile_group="C")
    case.add("profile", customer_no="K2", valid_from=ago(-1), profile_group="C")
    case.derive()
    assert case.person("K1")["profile_group"] == "B"
    assert case.person("K2")["profile_group"] is None


def test_active_plan_rules(case: Case) -> None:
    for cno in ("K1", "K2", "K3"):
        case.add("person", customer_no=cno)
    ip = "integration_plan"
    case.add(ip, plan_id="A1", customer_no="K1", signed_date=ago(100), next_review_date=ago(-30))
    case.add(ip, plan_id="A2", customer_no="K1", signed_date=ago(50), next_review_date=ago(5),
             plan_type="KOOPERATIONSPLAN", end_date=AS_OF)
    case.add(ip, plan_id="A3", customer_no="K1", signed_date=ago(10), status="ABGELAUFEN")
    case.add(ip, plan_id="A4", customer_no="K1", signed_date=ago(20), end_date=ago(1),
             next_review_date=ago(1))
    case.add(ip, plan_id="A5", customer_no="K1", signed_date=ago(-1), next_review_date=ago(-9))
    case.add(ip, plan_id="P-10", customer_no="K2", signed_date=ago(20), next_review_date=ago(2))
    case.add(ip, plan_id="P-9", customer_no="K2", signed_date=ago(20), next_review_date=ago(3))
    case.add(ip, plan_id="P-8", customer_no="K2", signed_date=ago(30), next_review_date=ago(4))
    case.add(ip, plan_id="X", customer_no="K3", signed_date=ago(5), status="ERSETZT")
    case.derive()
    k1 = case.person("K1")
    assert (k1["plan_id"], k1["plan_type"], k1["plan_next_review"],
            k1["plan_next_review_day"]) == ("A2", "KOOPERATIONSPLAN", ago(5), D - 5)
    k2 = case.person("K2")
    assert (k2["plan_id"], k2["plan_type"], k2["plan_next_review"]) == ("P-9", "EGV", ago(3))
    assert case.person("K3")["plan_id"] is None


def test_offer_since_entry(case: Case) -> None:
    for cno in ("K1", "K2", "K3", "K4", "K5", "K6"):
        case.add("person", customer_no=cno)
        case.spell(cno, ago(60))
    case.spell("K6", ago(90), ago(61))  # adjacent earlier spell: not part of elb_since
    ip, mp, es = "integration_plan", "measure_participation", "employment_spell"
    case.add(ip, plan_id="P1", customer_no="K1", signed_date=ago(61))  # before entry
    case.add(ip, plan_id="P2", customer_no="K2", signed_date=ago(10), status="ABGELAUFEN")
    case.add(mp, participation_id="M1", customer_no="K3", entry_date=ago(60))
    case.add(es, employment_id="E1", customer_no="K4", start_date=AS_OF, kind="GERINGFUEGIG")
    case.add(mp, participation_id="M2", customer_no="K5", entry_date=ago(-1))  # future
    case.add(es, employment_id="E2", customer_no="K6", start_date=ago(70))
    case.derive()
    got = {c: case.person(c)["offer_since_entry"] for c in ("K1", "K2", "K3", "K4", "K5", "K6")}
    assert got == {"K1": 0, "K2": 1, "K3": 1, "K4": 1, "K5": 0, "K6": 0}
    assert case.person("K6")["elb_since"] == ago(60)


def test_child_u18_alleinerziehend_and_bg(case: Case) -> None:
    case.add("benefit_unit", bg_id="B2", bg_type="ALLEINERZIEHEND", start_date=ago(100),
             end_date=AS_OF)
    case.add("benefit_unit", bg_id="B3", bg_type="ALLEINERZIEHEND", start_date=ago(100),
             end_date=ago(1))
    case.add("person", customer_no="H2", bg_id="B2")
    case.add("person", customer_no="C2", bg_id="B2", bg_role="KIND",
             birth_date=date(2008, 11, 24))  # 17, turns 18 tomorrow
    case.add("person", customer_no="H3", bg_id="B3")
    case.add("person", customer_no="C3", bg_id="B3", bg_role="KIND",
             birth_date=date(2008, 11, 23))  # 18 today
    case.add("person", customer_no="P3", bg_id="B3", bg_role="PARTNER",
             birth_date=date(2015, 1, 1))  # under 18 but no KIND
    case.derive()
    h2, c2, h3 = case.person("H2"), case.person("C2"), case.person("H3")
    assert (h2["child_u18_in_bg"], h2["alleinerziehend"], h2["bg_active"]) == (1, 1, 1)
    assert (c2["child_u18_in_bg"], c2["alleinerziehend"], c2["age"]) == (0, 0, 17)
    assert (h3["child_u18_in_bg"], h3["alleinerziehend"], h3["bg_active"]) == (0, 0, 0)


# ----- scope -------------------------------------------------------------------------------------


def test_list_scope_stand_ins_and_protection(case: Case) -> None:
    case.add("person", customer_no="X", case_manager_id="S1")
    case.add("person", customer_no="Y", case_manager_id="S1", protected=1)
    case.add("person", customer_no="Z", case_manager_id="S2")
    case.add("person", customer_no="W", case_manager_id="S3")  # LEISTUNG, inactive, team T2
    case.add("person", customer_no="N", case_manager_id=None)
    si = "stand_in"
    case.add(si, staff_id="S2", covers_staff_id="S1", from_date=ago(5))  # active, open
    case.add(si, staff_id="S2", covers_staff_id="S1", from_date=ago(30), to_date=ago(20))
    case.add(si, staff_id="S4", covers_staff_id="S1", from_date=ago(30), to_date=ago(1))
    case.add(si, staff_id="S3", covers_staff_id="S1", from_date=ago(-1), to_date=ago(-9))
    case.add(si, staff_id="S4", covers_staff_id="S2", from_date=AS_OF, to_date=AS_OF)
    case.derive()
    assert case.scope() == {
        ("S:S1", "X"), ("S:S1", "Y"), ("S:S2", "Z"), ("S:S3", "W"),
        ("S:S2", "X"),  # stand-in active: non-protected only
        ("S:S4", "Z"),  # stand-in exactly on its from = to = as_of
        ("T:T1", "X"), ("T:T1", "Z"), ("T:T2", "W"),
    }


# ----- integrations -----------------------------------------------------------------------------


def test_integration_rule_elb_on_s_or_s_minus_1(case: Case) -> None:
    s = date(2026, 5, 10)
    for cno in ("K1", "K2", "K3"):
        case.add("person", customer_no=cno)
    case.spell("K1", date(2026, 1, 1), s - timedelta(days=1))  # eLb on s - 1 only
    case.spell("K2", date(2026, 1, 1), s - timedelta(days=2))  # gap of one day: not counted
    case.spell("K3", date(2026, 1, 1), None)
    es = "employment_spell"
    case.add(es, employment_id="E1", customer_no="K1", start_date=s)
    case.add(es, employment_id="E2", customer_no="K2", start_date=s)
    case.add(es, employment_id="E3", customer_no="K3", start_date=s, kind="GERINGFUEGIG")
    case.add(es, employment_id="E4", customer_no="K3", start_date=s, kind="OEFF_GEFOERDERT")
    case.add(es, employment_id="E5", customer_no="K3", start_date=ago(-1))  # future
    case.derive()
    assert set(case.integrations()) == {"E1"}


def test_integration_one_per_month_earliest_then_lowest_id(case: Case) -> None:
    case.add("person", customer_no="K1")
    case.add("person", customer_no="K2")
    case.spell("K1", date(2025, 1, 1))
    case.spell("K2", date(2025, 1, 1))
    es = "employment_spell"
    case.add(es, employment_id="A", customer_no="K1", start_date=date(2026, 3, 20))
    case.add(es, employment_id="B", customer_no="K1", start_date=date(2026, 3, 5),
             kind="AUSBILDUNG")
    case.add(es, employment_id="C", customer_no="K1", start_date=date(2026, 4, 1),
             kind="SELBSTAENDIG", wz_section=None, subsidised=1)
    case.add(es, employment_id="E-9", customer_no="K2", start_date=date(2026, 3, 5))
    case.add(es, employment_id="E-10", customer_no="K2", start_date=date(2026, 3, 5))
    case.derive()
    got = case.integrations()
    assert sorted(got) == ["B", "C", "E-10"]
    b, c = got["B"], got["C"]
    assert (b["month_idx"], b["kind"], b["start_date"], b["start_day"]) == (
        2026 * 12 + 2, "AUSBILDUNG", date(2026, 3, 5), date(2026, 3, 5).toordinal())
    assert (c["month_idx"], c["kind"], c["wz_section"], c["subsidised"]) == (
        2026 * 12 + 3, "SELBSTAENDIG", None, 1)


def test_integration_attributes_on_s(case: Case) -> None:
    s = date(2026, 6, 15)
    case.add("benefit_unit", bg_id="B2", office_id="O2", bg_type="ALLEINERZIEHEND",
             start_date=date(2020, 1, 1), end_date=s)
    case.add("person", customer_no="K1", bg_id="B2", sex="W", residence_status="UKRAINE_24",
             case_manager_id="S4")
    case.add("person", customer_no="K2", bg_id="B2", bg_role="PARTNER", case_manager_id=None)
    case.spell("K1", date(2025, 1, 1))
    case.spell("K2", date(2025, 1, 1))
    es = "employment_spell"
    case.add(es, employment_id="E1", customer_no="K1", start_date=s, wz_section="Q")
    case.add(es, employment_id="E2", customer_no="K1", start_date=s + timedelta(days=17))
    case.add(es, employment_id="E3", customer_no="K2", start_date=s)
    case.derive()
    got = case.integrations()
    keys = ("customer_no", "office_id", "team_id", "sex", "fluchtkontext", "alleinerziehend",
            "wz_section", "subsidised", "kind")
    assert {k: got["E1"][k] for k in keys} == {
        "customer_no": "K1", "office_id": "O2", "team_id": "T2", "sex": "W",
        "fluchtkontext": 1, "alleinerziehend": 1, "wz_section": "Q", "subsidised": 0,
        "kind": "SVB"}
    assert got["E2"]["alleinerziehend"] == 0  # BG ended on s
    assert (got["E3"]["alleinerziehend"], got["E3"]["team_id"]) == (0, None)


def test_integration_lzb_prev_edge(case: Case) -> None:
    s = date(2026, 6, 15)
    sd = s.toordinal()
    case.add("person", customer_no="K638")
    case.add("person", customer_no="K637")
    case.add("person", customer_no="KGAP")
    case.spell("K638", s - timedelta(days=638), s - timedelta(days=1))
    case.spell("K637", s - timedelta(days=637), s - timedelta(days=1))
    case.spell("KGAP", s - timedelta(days=900), s - timedelta(days=2))  # eLb on s-2, not s-1
    case.spell("KGAP", s, s)
    es = "employment_spell"
    case.add(es, employment_id="E1", customer_no="K638", start_date=s)
    case.add(es, employment_id="E2", customer_no="K637", start_date=s)
    case.add(es, employment_id="E3", customer_no="KGAP", start_date=s)
    case.derive()
    got = case.integrations()
    assert {e: got[e]["lzb_prev"] for e in got} == {"E1": 1, "E2": 0, "E3": 0}
    assert got["E1"]["start_day"] == sd


def test_integration_bedarfsdeckend_at_s_plus_91(case: Case) -> None:
    s_known = ago(91)
    s_unknown = ago(90)
    for cno in ("K1", "K2", "K3"):
        case.add("person", customer_no=cno)
    case.spell("K1", date(2025, 1, 1), s_known)  # ends on s: not eLb on s + 91 = as_of
    case.spell("K2", date(2025, 1, 1), s_known)
    case.spell("K2", AS_OF, None)  # eLb again exactly on s + 91
    case.spell("K3", date(2025, 1, 1), s_unknown)
    es = "employment_spell"
    case.add(es, employment_id="E1", customer_no="K1", start_date=s_known)
    case.add(es, employment_id="E2", customer_no="K2", start_date=s_known)
    case.add(es, employment_id="E3", customer_no="K3", start_date=s_unknown)
    case.derive()
    got = case.integrations()
    assert {e: got[e]["bedarfsdeckend"] for e in got} == {"E1": 1, "E2": 0, "E3": None}
