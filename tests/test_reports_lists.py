"""The operational person lists R01-R08 on the hand-made export (tests/data/handmade).

Every expected row below is derived by hand from the rules of reports.md, not from the code under
test: the path under test is the real one (refresh of the export -> ``run_report`` as a user ->
JSON rows), on SQLite and PostgreSQL.

The data (as_of 2026-11-23 = d0; ``d-n`` is n days earlier):

- offices O1 Borken, O2 Bocholt; team T1 (O1): S01 Anna Albers (FALLMANAGEMENT), S02 Bernd Brandt
  (ARBEITSVERMITTLUNG), S03 Carla Çelik (FALLMANAGEMENT, inactive), S04 Dieter Dahl
  (TEAMLEITUNG), S06 Frida Fuchs (LEISTUNG), S07 Özlem Aydın (ARBEITSVERMITTLUNG, no persons);
  team T2 (O2): S05 Jürgen Weiß.
- stand-ins: S01 covers S03 from d-22, open (active); S02 covered S01 until d-1 (expired), covers
  S03 from d+1 (booked ahead) and S05 on d0 only (active, other team).
- protected: K007 (S03), K008 and K055 (S01), K031 (S05), K058 (S03). K032 has no case manager;
  K060 is assigned to S06 (LEISTUNG): a person of team T1, but no R01 row.
- every eLb person not designed otherwise has one ELB spell from d-100 (101 eLb days), a kept
  contact on d-10 and an active KOOPERATIONSPLAN signed d-30 with review on d+200, is 46 years old
  and lives alone (SINGLE BG): such a person is in none of R02-R08.
"""

from __future__ import annotations

from typing import Any

import pytest

from opal.errors import ParameterError
from tests.fixtures.handmade import HANDMADE_DIR, HandmadeLive, build_manifest

ALBERS = "Anna Albers"
BRANDT = "Bernd Brandt"
CELIK = "Carla Çelik"
WEISS = "Jürgen Weiß"


def rows(keys: str, *values: tuple[Any, ...]) -> list[dict[str, Any]]:
    """Expected JSON rows from the column keys (space separated) and one tuple per row."""
    names = keys.split()
    assert all(len(v) == len(names) for v in values)
    return [dict(zip(names, v, strict=True)) for v in values]


@pytest.fixture
def live(handmade_module: HandmadeLive) -> HandmadeLive:
    return handmade_module


def test_manifest_matches_the_files() -> None:
    import json

    stored = json.loads((HANDMADE_DIR / "manifest.json").read_text(encoding="utf-8"))
    assert stored == build_manifest(), "run: python -m tests.fixtures.handmade"


# --------------------------------------------------------------------------------------------
# R01 Mein Fallbestand
# --------------------------------------------------------------------------------------------

R01_KEYS = ("staff_id case_manager elb group_a group_b group_c group_none u25 lzb arbeitslos "
            "fluchtkontext alleinerziehend")
# S01: 36 eLb (K001-K005, K008*, K009-K011, K013, K015-K023, K025-K027, K035-K038, K040,
# K042-K045, K050, K052, K054, K055*, K056; * protected, still counted; K033 ended d-1 and K061
# NEF are not eLb). Profile A: K002, K005 (C, then A from d-30; B from d+5 not yet), K009,
# K055; B: K001, K013, K043; C: K003, K037; none: 27 (K004's only profile starts d+1).
# U25: K018, K019, K020, K021, K022 (24, 25 tomorrow), K025, K026, K050 (K023 turns 25 on d0).
# LZB (>= 638 of 730): K040 (638), K043, K044, K045, K050, K054, K055 (K042 631, K037 548 are
# not). arbeitslos: K001, K052, K055 (K009 only ARBEITSUCHEND). Fluchtkontext: K002
# GESTATTUNG, K043 DULDUNG (K005 SONSTIGE, K004 EU). alleinerziehend: K027 (K037's
# ALLEINERZIEHEND BG ended on d-1).
ROW_S01 = ("S01", ALBERS, 36, 4, 3, 2, 27, 8, 7, 3, 2, 1)
# S02: K012, K028, K039, K046, K048, K053, K057. A: K046, C: K012. U25: K053 (24).
# LZB: K046, K048 (K039 has 637). arbeitslos: K053. UKRAINE_24: K012. alleinerziehend: K046.
ROW_S02 = ("S02", BRANDT, 7, 1, 0, 1, 5, 1, 2, 1, 1, 1)
# S03 (inactive): K006, K007*, K014, K024, K029, K041, K051, K058*. B: K006. U25: K024.
# LZB: none (K041 581). arbeitslos and AE_FLUCHT: K051.
ROW_S03 = ("S03", CELIK, 8, 0, 1, 0, 7, 1, 0, 1, 1, 0)
# S07: active case manager without persons: a row of zeros.
ROW_S07 = ("S07", "Özlem Aydın", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
# S05: K030, K031* (protected, counted).
ROW_S05 = ("S05", WEISS, 2, 0, 0, 0, 2, 0, 0, 0, 0, 0)


@pytest.mark.parametrize(("user", "expected"), [
    ("albers", [ROW_S01]),  # own case load only: the covered S03 cases are not hers
    ("celik", [ROW_S03]),  # inactive, but a case manager sees their own case load
    ("aydin", [ROW_S07]),
    ("weiss", [ROW_S05]),
    # active FALLMANAGEMENT/ARBEITSVERMITTLUNG staff of T1, by display name in code-point order
    # ("Ö" after "B"); not S03 (inactive), S04 (TEAMLEITUNG), S06 (LEISTUNG)
    ("lead_t1", [ROW_S01, ROW_S02, ROW_S07]),
    ("lead_t2", [ROW_S05]),
])
def test_r01(live: HandmadeLive, user: str, expected: list[tuple[Any, ...]]) -> None:
    assert live.rows(user, "R01") == rows(R01_KEYS, *expected)


# --------------------------------------------------------------------------------------------
# R02 Kunden ohne Kontakt seit N Tagen
# --------------------------------------------------------------------------------------------

R02_KEYS = "customer_no name case_manager profile_group last_contact days_since_contact"
R02 = {
    # kept contact d-90 (and ABGESAGT d-5, not kept): 90 days is not more than 90
    "K001": ("K001", '=HYPERLINK("x"), Eva', ALBERS, "B", "2026-08-25", 90),
    # kept contact d-91 (an OFFEN appointment on d+3 is ignored): listed
    "K002": ("K002", "+49 Müller, Jörg", ALBERS, "A", "2026-08-24", 91),
    # no contact at all: never contacted
    "K003": ("K003", "-Strauß, Ödön", ALBERS, "C", None, None),
    # only NICHT_ERSCHIENEN contacts: never (kept) contacted; its only profile row is valid
    # from d+1: no profile group yet
    "K004": ("K004", "@Kowalski, Zoë", ALBERS, None, None, None),
    # kept contact d-200; profile C from d-300, A from d-30, B from d+5 (future): A
    "K005": ("K005", "\tTab, Ann", ALBERS, "A", "2026-05-07", 200),
    # S03's (covered by S01), never contacted
    "K006": ("K006", "＝Voll, Hans", CELIK, "B", None, None),
    # S03's, protected: only S03 herself
    "K007": ("K007", "<script>alert(1)</script>, Xö", CELIK, None, None, None),
    # S01's, protected: only S01 herself
    "K008": ("K008", "O'Brien & Söhne, Liam", ALBERS, None, None, None),
    # S05's (team T2): S05, T2 and S02 (stand-in on d0 only)
    "K030": ("K030", "Xylander, Cem", WEISS, None, None, None),
    # S05's, protected
    "K031": ("K031", "Yilmaz, Derya", WEISS, None, None, None),
    # S06's (LEISTUNG, team T1): only the team lead sees it
    "K060": ("K060", "Zürn, Änne", "Frida Fuchs", None, None, None),
    # neutral kept contact d-10, profile A: listed only from n_days <= 9
    "K009": ("K009", 'Der "Boss", Max', ALBERS, "A", "2026-11-13", 10),
    "K046": ("K046", "Jäger, Olga", BRANDT, "A", "2026-11-13", 10),
}
# never visible: K032 (no case manager), K061 (NEF, no contact), K033 (no longer eLb)


@pytest.mark.parametrize(("user", "params", "expected"), [
    # never contacted first (by customer_no), then days descending
    ("albers", {}, ["K003", "K004", "K006", "K008", "K005", "K002"]),
    # no protected K007/K008; K060 of S06 (LEISTUNG, a staff member of T1) is a team person
    ("lead_t1", {}, ["K003", "K004", "K006", "K060", "K005", "K002"]),
    ("brandt", {}, ["K030"]),  # S01 (expired) and S03 (ahead) not covered; S05 covered today
    ("celik", {}, ["K006", "K007"]),
    ("weiss", {}, ["K030", "K031"]),
    ("lead_t2", {}, ["K030"]),
    ("albers", {"n_days": 89}, ["K003", "K004", "K006", "K008", "K005", "K002", "K001"]),
    ("albers", {"n_days": 91}, ["K003", "K004", "K006", "K008", "K005"]),
    ("albers", {"n_days": 730}, ["K003", "K004", "K006", "K008"]),
    ("albers", {"profile_group": "A"}, ["K005", "K002"]),
    ("albers", {"profile_group": "B"}, ["K006"]),  # K001 (B) has 90 days only
    ("albers", {"profile_group": "C"}, ["K003"]),
    ("albers", {"profile_group": ""}, ["K003", "K004", "K006", "K008", "K005", "K002"]),
    ("lead_t1", {"n_days": 9, "profile_group": "A"}, ["K005", "K002", "K009", "K046"]),
    ("lead_t1", {"n_days": 10, "profile_group": "A"}, ["K005", "K002"]),
])
def test_r02(live: HandmadeLive, user: str, params: dict[str, object],
             expected: list[str]) -> None:
    assert live.rows(user, "R02", **params) == rows(R02_KEYS, *(R02[k] for k in expected))


def test_r02_one_day_without_contact(live: HandmadeLive) -> None:
    # n_days=1: every eLb with a kept contact before d-1 (the neutral d-10 contacts too)
    got = live.rows("brandt", "R02", n_days=1)
    assert [r["customer_no"] for r in got] == [
        "K030", "K012", "K028", "K039", "K046", "K048", "K053", "K057"]
    assert {r["days_since_contact"] for r in got[1:]} == {10}


@pytest.mark.parametrize("params", [{"n_days": 0}, {"n_days": 731}, {"n_days": "x"},
                                    {"profile_group": "D"}, {"_viewer": "S:S05"},
                                    {"min_count": 2}])
def test_r02_rejects_bad_parameters(live: HandmadeLive, params: dict[str, object]) -> None:
    with pytest.raises(ParameterError) as info:
        live.rows("albers", "R02", **params)
    assert set(info.value.errors) == set(params)


# --------------------------------------------------------------------------------------------
# R03 Kooperationsplan fällig oder fehlend
# --------------------------------------------------------------------------------------------

R03_KEYS = "customer_no name case_manager plan_status plan_type next_review_date"
R03 = {
    "K009": ("K009", 'Der "Boss", Max', ALBERS, "FEHLT", None, None),  # no plan at all
    "K010": ("K010", "Adler, Ülkü", ALBERS, "FEHLT", None, None),  # only an ABGELAUFEN plan
    # AKTIV plan whose end_date is d-1 (review d+20): not active on as_of
    "K011": ("K011", "Baum, Lena", ALBERS, "FEHLT", None, None),
    # ERSETZT plan only (signed on the ELB start: also its R04 offer)
    "K025": ("K025", "Pohl, Ute", ALBERS, "FEHLT", None, None),
    "K012": ("K012", "Çakır, Deniz", BRANDT, "UEBERFAELLIG", "EGV", "2026-11-22"),  # review d-1
    "K013": ("K013", "Dorn, Paul", ALBERS, "FAELLIG", "KOOPERATIONSPLAN", "2026-11-23"),  # d0
    # S03's (covered by S01), review d+30 = as_of + lead_days
    "K014": ("K014", "Ebert, Ida", CELIK, "FAELLIG", "KOOPERATIONSPLAN", "2026-12-23"),
    "K015": ("K015", "Falk, Tom", ALBERS, "FAELLIG", "EGV", "2026-12-24"),  # d+31
    # two AKTIV plans signed the same day: the higher plan_id PL017B (review d+60) is the
    # active one, not PL017A (EGV, review d+10)
    "K017": ("K017", "Hahn, Vera", ALBERS, "FAELLIG", "KOOPERATIONSPLAN", "2027-01-22"),
}
# never listed at lead_days <= 99: K016 (the later signed plan, review d+100, replaces the
# overdue one signed before it); K032 (no case manager, no plan); K033/K061 (not eLb)


@pytest.mark.parametrize(("user", "params", "expected"), [
    ("albers", {}, ["K009", "K010", "K011", "K025", "K013", "K014"]),
    ("lead_t1", {}, ["K009", "K010", "K011", "K025", "K012", "K013", "K014"]),
    ("brandt", {}, ["K012"]),
    ("weiss", {}, []),
    ("lead_t1", {"lead_days": 0}, ["K009", "K010", "K011", "K025", "K012", "K013"]),
    ("albers", {"lead_days": 31}, ["K009", "K010", "K011", "K025", "K013", "K014", "K015"]),
    ("albers", {"lead_days": 59}, ["K009", "K010", "K011", "K025", "K013", "K014", "K015"]),
    ("albers", {"lead_days": 60},
     ["K009", "K010", "K011", "K025", "K013", "K014", "K015", "K017"]),
])
def test_r03(live: HandmadeLive, user: str, params: dict[str, object],
             expected: list[str]) -> None:
    assert live.rows(user, "R03", **params) == rows(R03_KEYS, *(R03[k] for k in expected))


def test_r03_lead_days_bounds(live: HandmadeLive) -> None:
    with pytest.raises(ParameterError):
        live.rows("albers", "R03", lead_days=-1)
    with pytest.raises(ParameterError):
        live.rows("albers", "R03", lead_days=366)
    # 365: every plan reviewed by d+365 is due: K012 overdue, K053 (d+100), then the neutral
    # plans (d+200, S02's and K030 of the covered S05) tied on the date, by customer_no
    got = live.rows("brandt", "R03", lead_days=365)
    assert [(r["customer_no"], r["plan_status"], r["next_review_date"]) for r in got] == [
        ("K012", "UEBERFAELLIG", "2026-11-22"), ("K053", "FAELLIG", "2027-03-03"),
        ("K028", "FAELLIG", "2027-06-11"), ("K030", "FAELLIG", "2027-06-11"),
        ("K039", "FAELLIG", "2027-06-11"), ("K046", "FAELLIG", "2027-06-11"),
        ("K048", "FAELLIG", "2027-06-11"), ("K057", "FAELLIG", "2027-06-11")]


# --------------------------------------------------------------------------------------------
# R04 U25 ohne Angebot
# --------------------------------------------------------------------------------------------

R04_KEYS = "customer_no name case_manager age elb_since days_since_entry"
R04 = {
    # ELB from d-100; GERINGFUEGIG job from d-101, measure d-120..d-105 and plan signed d-150:
    # all before the entry, none counts
    "K021": ("K021", "Lang, Pia", ALBERS, 22, "2026-08-15", 100),
    # two ELB spells cover d0 (from d-60 and from d-30): the earliest; 25 tomorrow
    "K022": ("K022", "Mayer, Rolf", ALBERS, 24, "2026-09-24", 60),
    # S03's: ELB d-200..d-41 and d-40..open are adjacent, not merged: entry d-40; the plan
    # signed d-100 lies before it
    "K024": ("K024", "Ohm, Timo", CELIK, 21, "2026-10-14", 40),
    # earlier spell d-300..d-60, current from d-28 (exactly min_days); plan signed d-200
    "K018": ("K018", "Igel, Mia", ALBERS, 20, "2026-10-26", 28),
    # current spell from d-27: one day short of 28
    "K019": ("K019", "Jung, Nele", ALBERS, 20, "2026-10-27", 27),
}
# out: K020 (measure entered on the entry day), K025 (plan signed on the entry day, ERSETZT),
# K026 (GERINGFUEGIG job started on the entry day), K023 (25 on d0), K050 and K053 (plans signed
# after the entry), every other eLb (25 or older)


@pytest.mark.parametrize(("user", "params", "expected"), [
    ("albers", {}, ["K021", "K022", "K024", "K018"]),
    ("lead_t1", {}, ["K021", "K022", "K024", "K018"]),
    ("brandt", {}, []),
    ("celik", {}, ["K024"]),
    ("albers", {"min_days": 27}, ["K021", "K022", "K024", "K018", "K019"]),
    ("albers", {"min_days": 0}, ["K021", "K022", "K024", "K018", "K019"]),
    ("albers", {"min_days": 60}, ["K021", "K022"]),
    ("albers", {"min_days": 61}, ["K021"]),
    ("albers", {"min_days": 365}, []),
])
def test_r04(live: HandmadeLive, user: str, params: dict[str, object],
             expected: list[str]) -> None:
    assert live.rows(user, "R04", **params) == rows(R04_KEYS, *(R04[k] for k in expected))


# --------------------------------------------------------------------------------------------
# R05 Maßnahmen enden demnächst
# --------------------------------------------------------------------------------------------

R05_KEYS = ("customer_no name case_manager measure_code measure_name legal_basis provider "
            "entry_date planned_end_date has_follow_up")
M01 = ("M01", "Aktivierungshilfe <Plus> & Co", "P16_AVGS")
M02 = ("M02", "AGH Grünpflege", "P16D_AGH")
R05 = {
    # planned end d0; a later participation (M03, entry d-10) follows
    "K027": ("K027", "Roth, Wilma", ALBERS, *M01, 'Träger "Aufbruch" gGmbH', "2026-09-24",
             "2026-11-23", True),
    # no longer eLb, still listed (persons in scope); end d+5
    "K033": ("K033", "Ulm, Zeno", ALBERS, *M01, "Bildungswerk Süd", "2026-10-24", "2026-11-28",
             False),
    # protected (S01 only); end d+14
    "K008": ("K008", "O'Brien & Söhne, Liam", ALBERS, *M02, "=cmd|' /C calc'!A0", "2026-11-13",
             "2026-12-07", False),
    # end d+30 = as_of + n_days; no provider; the only other participation entered earlier
    "K028": ("K028", "Sommer, Xaver", BRANDT, *M02, None, "2026-08-15", "2026-12-23", False),
    # S03's, end d+31; its other participation (exited d-3, so not listed) entered earlier
    "K029": ("K029", "Tal, Yusuf", CELIK, *M02, "<b>Werkstatt</b>", "2026-11-03", "2026-12-24",
             False),
    # S05's (team T2), end d+7
    "K030": ("K030", "Xylander, Cem", WEISS, *M01, "Kolping & Partner", "2026-11-13",
             "2026-11-30", False),
}
# never listed: K035 (planned end d-1, no exit), K036 (no planned end), the exited ones


@pytest.mark.parametrize(("user", "params", "expected"), [
    ("albers", {}, ["K027", "K033", "K008"]),
    ("lead_t1", {}, ["K027", "K033", "K028"]),
    ("brandt", {}, ["K030", "K028"]),
    ("weiss", {}, ["K030"]),
    ("lead_t2", {}, ["K030"]),
    ("albers", {"n_days": 31}, ["K027", "K033", "K008", "K029"]),
    ("lead_t1", {"n_days": 31}, ["K027", "K033", "K028", "K029"]),
    ("lead_t1", {"n_days": 0}, ["K027"]),
    ("lead_t1", {"n_days": 4}, ["K027"]),
    ("lead_t1", {"n_days": 5}, ["K027", "K033"]),
    ("lead_t1", {"n_days": 31, "legal_basis": "P16D_AGH"}, ["K028", "K029"]),
    ("albers", {"legal_basis": "P16_AVGS"}, ["K027", "K033"]),
    ("albers", {"legal_basis": "P16I"}, []),
])
def test_r05(live: HandmadeLive, user: str, params: dict[str, object],
             expected: list[str]) -> None:
    assert live.rows(user, "R05", **params) == rows(R05_KEYS, *(R05[k] for k in expected))


def test_r05_rejects_bad_parameters(live: HandmadeLive) -> None:
    with pytest.raises(ParameterError) as info:
        live.rows("albers", "R05", n_days=181, legal_basis="P99")
    assert set(info.value.errors) == {"n_days", "legal_basis"}


# --------------------------------------------------------------------------------------------
# R06 Drohender Langzeitleistungsbezug
# --------------------------------------------------------------------------------------------

R06_KEYS = "customer_no name case_manager elb_days_730 days_to_lzb"
R06 = {
    "K039": ("K039", "Claßen, Hugo", BRANDT, 637, 1),  # ELB from d-636: 637 days, not yet LZB
    # ELB d-1000..d-200 (530 days inside the window d-729..d0) and from d-100 (101)
    "K042": ("K042", "Fink, Kai", ALBERS, 631, 7),
    # S03's: ELB d-1000..d-800 (outside), d-729..d-400 and d-450..d-300 overlapping (430 days
    # once), NEF d-299..d-151 (not counted), ELB from d-150 (151)
    "K041": ("K041", "Engel, Jan", CELIK, 581, 57),
    "K037": ("K037", "Arndt, Finn", ALBERS, 548, 90),  # ELB from d-547: exactly the threshold
    "K038": ("K038", "Brück, Gina", ALBERS, 547, 91),  # one day short of 548
}
# out: K040 (638 days: LZB), every LZB person, the short spells


@pytest.mark.parametrize(("user", "params", "expected"), [
    ("albers", {}, ["K042", "K041", "K037"]),
    ("lead_t1", {}, ["K039", "K042", "K041", "K037"]),
    ("brandt", {}, ["K039"]),
    ("celik", {}, ["K041"]),
    ("weiss", {}, []),
    ("albers", {"threshold_days": 547}, ["K042", "K041", "K037", "K038"]),
    ("lead_t1", {"threshold_days": 637}, ["K039"]),
    ("lead_t1", {"threshold_days": 632}, ["K039"]),
    ("lead_t1", {"threshold_days": 631}, ["K039", "K042"]),
])
def test_r06(live: HandmadeLive, user: str, params: dict[str, object],
             expected: list[str]) -> None:
    assert live.rows(user, "R06", **params) == rows(R06_KEYS, *(R06[k] for k in expected))


def test_r06_threshold_bounds(live: HandmadeLive) -> None:
    for bad in (364, 638):
        with pytest.raises(ParameterError):
            live.rows("albers", "R06", threshold_days=bad)
    # 365: the eLb with at least 365 days and below 638 (no one else lies in 365..547)
    assert [r["customer_no"] for r in live.rows("albers", "R06", threshold_days=365)] == [
        "K042", "K041", "K037", "K038"]


# --------------------------------------------------------------------------------------------
# R07 Potenzial §16i / §16e
# --------------------------------------------------------------------------------------------

R07_KEYS = "customer_no name case_manager age elb_days_2555 al_days p16i p16e"
R07 = {
    "K043": ("K043", "Gärtner, Lea", ALBERS, 30, 2190, 0, True, False),  # ELB from d-2189
    "K045": ("K045", "Imhof, Nina", ALBERS, 30, 1825, 0, True, False),  # severely disabled
    # HAUPTPERSON; a KIND of the BG is 17 (and has no spell at all)
    "K046": ("K046", "Jäger, Olga", BRANDT, 40, 1825, 0, True, False),
    # S03's: ARBEITSLOS from d-729 (730 days)
    "K051": ("K051", "Maas, Udo", CELIK, 35, 301, 730, False, True),
    # 24 years old: no §16i, but §16e has no age limit (ARBEITSLOS from d-799)
    "K053": ("K053", "Otto, Wim", BRANDT, 24, 201, 800, False, True),
    "K054": ("K054", "Petri, Xenia", ALBERS, 25, 2190, 0, True, False),  # 25 exactly on d0
    # protected (S01 only): both
    "K055": ("K055", "Quandt, Yara", ALBERS, 50, 2555, 1001, True, True),
}
# out: K044 (2189 days), K048 (1825 days; the KIND turns 18 on d0), K050 (2555 days, but 24),
# K052 (ARBEITSLOS from d-728 and from d-100 cover d0: 729 days; the adjacent spell
# d-2000..d-729 and an ARBEITSUCHEND spell do not count)


@pytest.mark.parametrize(("user", "expected"), [
    ("albers", ["K043", "K045", "K051", "K054", "K055"]),
    ("lead_t1", ["K043", "K045", "K046", "K051", "K053", "K054"]),
    ("brandt", ["K046", "K053"]),
    ("celik", ["K051"]),
    ("lead_t2", []),
])
def test_r07(live: HandmadeLive, user: str, expected: list[str]) -> None:
    assert live.rows(user, "R07") == rows(R07_KEYS, *(R07[k] for k in expected))


# --------------------------------------------------------------------------------------------
# R08 Meldeversäumnisse
# --------------------------------------------------------------------------------------------

R08_KEYS = "customer_no name case_manager missed last_missed"
# K056: misses on d0, d-30, d-89 (and ABGESAGT d-5, not a miss)
K056 = ("K056", "Reuter, Zora", ALBERS, 3, "2026-11-23")
# K033: misses d-10, d-20; no longer eLb, still a person in scope
K033 = ("K033", "Ulm, Zeno", ALBERS, 2, "2026-11-13")
# K057: misses d-40, d-50
K057 = ("K057", "Stein, Anton", BRANDT, 2, "2026-10-14")
# K058 (S03, protected): misses d-1, d-2, d-3
K058 = ("K058", "Thiel, Berta", CELIK, 3, "2026-11-22")
# K004: misses d-89 (inside [d-89, d0]) and d-90 (outside at period_days 90)
K004_ONE = ("K004", "@Kowalski, Zoë", ALBERS, 1, "2026-08-26")
K004_TWO = ("K004", "@Kowalski, Zoë", ALBERS, 2, "2026-08-26")


@pytest.mark.parametrize(("user", "params", "expected"), [
    ("albers", {}, [K056, K033]),  # K058 is protected, K004 has one miss in the window
    ("lead_t1", {}, [K056, K033, K057]),
    ("brandt", {}, [K057]),
    ("celik", {}, [K058]),
    ("weiss", {}, []),
    ("albers", {"min_count": 1}, [K056, K033, K004_ONE]),
    ("albers", {"period_days": 91}, [K056, K004_TWO, K033]),  # d-90 now inside
    ("albers", {"period_days": 90, "min_count": 3}, [K056]),
    # [d-88, d0]: K056's d-89 drops out, leaving 2 like K033 (ties by customer_no); K004: 0
    ("albers", {"period_days": 89, "min_count": 1}, [
        K033, ("K056", "Reuter, Zora", ALBERS, 2, "2026-11-23")]),
    ("albers", {"period_days": 1, "min_count": 1}, [
        ("K056", "Reuter, Zora", ALBERS, 1, "2026-11-23")]),  # the window is d0 alone
    ("celik", {"period_days": 2, "min_count": 2}, []),  # [d-1, d0]: one miss only
    ("celik", {"period_days": 3, "min_count": 2}, [
        ("K058", "Thiel, Berta", CELIK, 2, "2026-11-22")]),  # [d-2, d0]: d-1, d-2
    ("lead_t1", {"period_days": 365, "min_count": 1}, [
        K056, K004_TWO, K033, K057]),  # K058 protected
    ("albers", {"min_count": 10}, []),
])
def test_r08(live: HandmadeLive, user: str, params: dict[str, object],
             expected: list[tuple[Any, ...]]) -> None:
    assert live.rows(user, "R08", **params) == rows(R08_KEYS, *expected)


def test_r08_rejects_bad_parameters(live: HandmadeLive) -> None:
    with pytest.raises(ParameterError) as info:
        live.rows("albers", "R08", period_days=0, min_count=11)
    assert set(info.value.errors) == {"period_days", "min_count"}


# --------------------------------------------------------------------------------------------
# The definitions, as reports.md lists them
# --------------------------------------------------------------------------------------------

LEAD = ("customer_no", "name", "case_manager")
DEFINITIONS: dict[str, tuple[str, tuple[str, ...], dict[str, tuple[Any, ...]]]] = {
    # code: (title, column keys, {param: (type, min, max, default, optional)})
    "R01": ("Fallbestand", tuple(R01_KEYS.split()), {}),
    "R02": ("Kunden ohne Kontakt seit N Tagen",
            (*LEAD, "profile_group", "last_contact", "days_since_contact"),
            {"n_days": ("int", 1, 730, 90, False),
             "profile_group": ("code", None, None, None, True)}),
    "R03": ("Kooperationsplan fällig oder fehlend",
            (*LEAD, "plan_status", "plan_type", "next_review_date"),
            {"lead_days": ("int", 0, 365, 30, False)}),
    "R04": ("U25 ohne Angebot", (*LEAD, "age", "elb_since", "days_since_entry"),
            {"min_days": ("int", 0, 365, 28, False)}),
    "R05": ("Maßnahmen enden demnächst",
            (*LEAD, "measure_code", "measure_name", "legal_basis", "provider", "entry_date",
             "planned_end_date", "has_follow_up"),
            {"n_days": ("int", 0, 180, 30, False),
             "legal_basis": ("code", None, None, None, True)}),
    "R06": ("Drohender Langzeitleistungsbezug", (*LEAD, "elb_days_730", "days_to_lzb"),
            {"threshold_days": ("int", 365, 637, 548, False)}),
    "R07": ("Potenzial §16i / §16e",
            (*LEAD, "age", "elb_days_2555", "al_days", "p16i", "p16e"), {}),
    "R08": ("Meldeversäumnisse", (*LEAD, "missed", "last_missed"),
            {"period_days": ("int", 1, 365, 90, False),
             "min_count": ("int", 1, 10, 2, False)}),
}


@pytest.mark.parametrize("code", sorted(DEFINITIONS))
def test_definition(code: str) -> None:
    from opal.catalogue import load_catalogue

    catalogue = load_catalogue()
    assert not [p for p in catalogue.problems if p.startswith(code)]
    defn = catalogue.get(code)
    assert defn is not None
    title, keys, params = DEFINITIONS[code]
    assert defn.title == title
    # reports.md: R01 also for office_lead (aggregates of the office); R02-R08 never
    assert defn.roles == (("case_manager", "team_lead", "office_lead") if code == "R01"
                          else ("case_manager", "team_lead"))
    assert set(defn.formats) == {"html", "pdf", "csv", "xlsx", "json"}
    assert defn.kind == ("aggregate" if code == "R01" else "list")
    assert tuple(c.key for c in defn.visible_columns) == keys
    assert all(c.label for c in defn.columns)
    assert set(defn.sort) == set(keys)
    assert len(defn.help) > 200
    got = {p.name: (p.type, p.min, p.max, p.default, p.optional) for p in defn.params}
    if code != "R01":  # every person list may be narrowed to one case manager
        params = {**params, "case_manager": ("staff", None, None, None, True)}
    assert got == params
    if code == "R02":
        assert defn.param("profile_group").choices == ("A", "B", "C")
    if code == "R05":
        assert defn.param("legal_basis").choices == (
            "P16_AVGS", "P16_MAT", "P16_FBW", "P16_EGZ", "P16A", "P16B", "P16C", "P16D_AGH",
            "P16E", "P16F", "P16H", "P16I", "P16K")
