"""The office lead (Leitung eines Jobcenters vor Ort) on the hand-made steering export
(``tests/data/steering``, as_of 2026-11-23): every figure of their office and nothing of another
office, under disclosure control, and never a person list.

The fixture (see tests/test_reports_steering.py for the full derivation): offices O1 Ahaus (teams
T1 Ahaus U25: S01 Anna Albers, S02 Bernd Brandt, S03 team lead; T2 Ahaus Markt: S04 Dieter Dahl,
S05 Eva Ernst inactive), O2 Vreden (T3: S06 Frank Fuchs, S07 LEISTUNG), O3 Übach-Palenberg (T4:
S08 Hans Hoff). Every person of a T1/T2 case manager has an Ahaus BG, K25 (Ahaus BG) has no case
manager: R01, R09-R11 follow the teams, R12-R14 and R16 the office of the BG.

Case loads on as_of (eLb): S01 K05 (A, 23, LZB) K06 (none, LZB) K07 (C, 23, LZB) K16 (none, 25 on
as_of, not LZB); S02 K08 (none, 22, not LZB) K17 (C, LZB); S04 K01 (B, LZB, arbeitslos) K02 (A,
LZB, HAUPTPERSON of the ALLEINERZIEHEND BG B02) K10 (B, LZB) K11 (B, LZB); S06 K21 (C, LZB) K22
(B, LZB, AE_FLUCHT) K23 (B, LZB, AE_FLUCHT).

Disclosure (reports.md, as for controlling): a count 1 or 2 is ``S``; R01's ``elb`` is the sum of
its four profile columns in every row; R10-R12 keep their Gesamt row; R13, R14, R16 are one row
without one, so only the in-row sums (R16 ``persons`` = ``elb`` + ``nef``) relate cells there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from opal.access import Actor
from opal.appdb.schema import audit_log
from opal.catalogue import load_catalogue
from opal.context import Context
from opal.errors import AccessDenied, ParameterError
from opal.pipeline import run_report
from opal.renderers import get_renderer
from opal.result import SUPPRESSED
from tests.fixtures.attacker import attack, attack_table
from tests.fixtures.steering import STEERING_DIR

UEB, UEB_TEAM = "Übach-Palenberg", "Übach-Palenberg Markt"
S = None  # a suppressed cell (JSON null)
N = None  # an empty value (rate with denominator 0)

USERS = {  # username -> office
    "ol1": "O1",
    "ol2": "O2",
    "ol3": "O3",
    "ol9": "O9",  # an office missing from the live data
}
LISTS = ("R02", "R03", "R04", "R05", "R06", "R07", "R08")


def cols(*keys: str) -> Any:
    def make(*values: Any) -> dict[str, Any]:
        assert len(values) == len(keys)
        return dict(zip(keys, values, strict=True))
    return make


R01 = cols("staff_id", "case_manager", "elb", "group_a", "group_b", "group_c", "group_none",
           "u25", "lzb", "arbeitslos", "fluchtkontext", "alleinerziehend")
R09 = cols("team_id", "team", "office", "focus", "fte", "elb", "elb_per_fte", "target",
           "deviation_pct")
R10 = cols("profile_group", "elb", "with_contact", "contact_rate")
R11 = cols("wz_section", "integrations", "svb", "ausbildung", "selbstaendig", "bedarfsdeckend",
           "bedarfsdeckend_pct")
R12 = cols("group", "integrations_12m", "avg_elb_12m", "k2")
R13 = cols("office", "lzb", "lzb_prev_year", "k3", "lzb_integrations_12m", "avg_lzb_12m", "k3e1",
           "lzb_activated", "k3e2")
R14 = cols("office", "elb", "elb_prev_year", "k1e2", "k1e3", "k1e4")
R16 = cols("office", "bg", "alleinerziehend_bg", "fluchtkontext_bg", "elb", "nef", "u25", "ue50",
           "lzb", "persons")

CASES: list[tuple[str, str, str, dict[str, str], list[dict[str, Any]]]] = [
    # R01: the active case managers of T1 and T2 (not S03 TEAMLEITUNG, not inactive S05).
    # S01 4 eLb: A K05, C K07, none K06 K16 -> 1, 2 are suppressed; the three suppressed
    # parts sum to 4 with b = 0 shown: each lies in 0..4 for an attacker. U25 K05 K07 (2).
    # S02 2 eLb: everything but the zeros and nothing from which a zero follows.
    # S04 4 eLb: A K02 (1) would follow from 4 - 3 - 0 - 0: B's 3 is suppressed with it.
    ("R01-O1", "R01", "ol1", {}, [
        R01("S01", "Anna Albers", 4, S, 0, S, S, S, 3, 0, 0, 0),
        R01("S02", "Bernd Brandt", S, 0, 0, S, S, S, S, 0, 0, 0),
        R01("S04", "Dieter Dahl", 4, S, S, 0, 0, 0, 4, S, 0, S),
    ]),
    # S06: B K22 K23 (2), C K21 (1): b + c = 3, each in 0..3 (max 3): safe
    ("R01-O2", "R01", "ol2", {}, [
        R01("S06", "Frank Fuchs", 3, 0, S, S, 0, 0, 3, 0, S, 0),
    ]),
    # R09: the office's teams, nothing else; figures as controlling's rows (no relation)
    ("R09-O1", "R09", "ol1", {}, [
        R09("T1", "Ahaus U25", "Ahaus", "U25", 1.5, 6, 4.0, 75, -94.7),
        R09("T2", "Ahaus Markt", "Ahaus", "UE25", 0.75, 4, 5.3, 150, -96.4),
    ]),
    ("R09-O3", "R09", "ol3", {}, [  # 2 eLb: suppressed for the office lead (not for tl4)
        R09("T4", UEB_TEAM, UEB, "UE25", 0.25, S, S, 150, S),
    ]),
    # R10 (90 days): T1 (K05 A yes, K07 C yes, K17 C yes, K08 none yes, K06 none, K16 none)
    # + T2 (K02 A yes, K14 A, K01 B yes, K10 B, K11 B yes, K04 C): K25 (no case manager) and
    # Vreden's K21-K23 are not counted. with_contact 2 2 2 1 of 7: all four parts suppressed,
    # each in 0..7 for an attacker; 7/12 = 58.33 %.
    ("R10-O1", "R10", "ol1", {}, [
        R10("A", 3, S, S),
        R10("B", 3, S, S),
        R10("C", 3, S, S),
        R10(N, 3, S, S),
        R10("Gesamt", 12, 7, 58.3),
    ]),
    # Vreden: K22 B (ABGESAGT: no), K23 B (yes), K21 C (yes); elb 2 + 1 = 3 shown, both
    # suppressed parts in 0..3
    ("R10-O2", "R10", "ol2", {}, [
        R10("A", 0, 0, N),
        R10("B", S, S, S),
        R10("C", S, S, S),
        R10(N, 0, 0, N),
        R10("Gesamt", 3, S, S),
    ]),
    # R11 (2026-10): Vreden's persons: E013 (K23, N, SVB, unknown) only
    ("R11-O2", "R11", "ol2", {}, [
        R11("N", S, S, 0, 0, 0, N),
        R11("Gesamt", S, S, 0, 0, 0, N),
    ]),
    # R12 for Ahaus, grouped by sex (the default once the office grouping is withheld); the
    # stocks of M-12 .. M-1 = 2025-10 .. 2026-09: Ahaus 187 - 14 (2026-10) + 17 (2025-10) = 190.
    # M: K01 K05 K07 K14 K16 K20 (12 each) + K09 6 + K10 11 + K12 3 + K18 2 = 94 over
    # 2025-11 .. 2026-10, minus 7 men at the end of 2026-10 plus 9 at the end of 2025-10 (the
    # county's 9 and 11 less Vreden's K21 K23) = 96 -> 8.0; W = 190 - 96 = 94 -> 7.83.
    # Integrations M E004 E008 (2, suppressed), W E001 E002 E003 E006 (4: secondary, else
    # 6 - 4 gives the 2); 6 / (190/12) = 37.89 %.
    ("R12-O1", "R12", "ol1", {}, [
        R12("M", S, 8.0, S),
        R12("W", S, 7.8, S),
        R12("Gesamt", 6, 15.8, 37.9),
    ]),
    ("R12-O1-sex", "R12", "ol1", {"group_by": "sex"}, [
        R12("M", S, 8.0, S),
        R12("W", S, 7.8, S),
        R12("Gesamt", 6, 15.8, 37.9),
    ]),
    # Vreden: M K21 K23 24 -> 2.0 (a mean below 3), W K22 12 -> 1.0; E013 (M) 1
    ("R12-O2", "R12", "ol2", {}, [
        R12("M", S, S, S),
        R12("W", 0, S, S),
        R12("Gesamt", S, 3.0, S),
    ]),
    # R13 Ahaus (controlling's row without the secondary cells the Gesamt row forced there):
    # LZB stocks 2025-10 .. 2026-09: 135 - 11 + 13 = 137 -> 11.42; 5 LZB integrations /
    # (137/12) = 43.80 %; 4 of 11 activated = 36.36 %
    ("R13-O1", "R13", "ol1", {}, [
        R13("Ahaus", 11, 13, -15.4, 5, 11.4, 43.8, 4, 36.4),
    ]),
    ("R13-O2", "R13", "ol2", {}, [  # E013; K21 activated: 1 each
        R13("Vreden", 3, 3, 0.0, S, 3.0, S, S, S),
    ]),
    # R14: one row, no Gesamt: Vreden's 3 (secondary for controlling) is shown. Ahaus K1E3:
    # (1/17 (Feb, stock 17) + 1/17 (Mar) + 1/15 (Jul)) / 12 = 1.54 %; K1E4 (4/17 + 2/15) / 12
    ("R14-O1", "R14", "ol1", {}, [
        R14("Ahaus", 14, 17, -17.6, 1.5, 3.1),
    ]),
    ("R14-O2", "R14", "ol2", {}, [  # stock 3 all year, no move
        R14("Vreden", 3, 3, 0.0, 0.0, 0.0),
    ]),
    # R16 Ahaus: 13 BG, AE B02 (1), Flucht B03 (1), 13 eLb, NEF K03 (1), U25 3, Ü50 4,
    # LZB 11; persons 14 = 13 + 1: derived from the suppressed NEF
    ("R16-O1", "R16", "ol1", {}, [
        R16("Ahaus", 13, S, S, 13, S, 3, 4, 11, S),
    ]),
    # Vreden: BG B21 B22 (2), Flucht B22 (1), eLb 3, NEF K24 (1), Ü50 K21 (1), LZB 3
    ("R16-O2", "R16", "ol2", {}, [
        R16("Vreden", S, 0, S, 3, S, 0, S, 3, S),
    ]),
]


def jsonish(value: Any) -> Any:
    if value is SUPPRESSED:
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass
class OfficeWorld:
    ctx: Context
    config: Any

    def result(self, code: str, user: str, args: dict[str, str], fmt: str = "json") -> Any:
        return run_report(self.ctx, code, Actor(user, "office_lead", office_id=USERS[user]),
                          args, fmt)

    def run(self, code: str, user: str, args: dict[str, str]) -> list[dict[str, Any]]:
        result = self.result(code, user, args)
        rows = [{k: jsonish(v) for k, v in row.items()} for row in result.rows]
        doc = json.loads(get_renderer("json").render(result).body)
        assert doc["rows"] == rows
        return rows

    def audit(self) -> list[Any]:
        with self.ctx.app_db.connect() as conn:
            return list(conn.execute(select(audit_log).order_by(audit_log.c.id)).mappings())


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def office_world(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[OfficeWorld]:
    """``opal refresh`` of tests/data/steering, the office leads as users, an engine context."""
    from opal.clock import fixed_clock
    from opal.db import app_engine, case_engine, init_app_db
    from opal.refresh import refresh
    from opal.users import upsert_user
    from tests.conftest import FIXED_NOW, drop_pg_schemas, make_config, require_pg

    if request.param == "pg":
        require_pg()
    tmp: Path = tmp_path_factory.mktemp(f"office_{request.param}")
    config, prefix = make_config(tmp, request.param)
    (tmp / "var").mkdir(exist_ok=True)
    apps = app_engine(config)
    try:
        init_app_db(apps, config.app_db_schema)
        refresh(config, STEERING_DIR, clock=fixed_clock(FIXED_NOW))
        for name, office in USERS.items():
            upsert_user(apps, name, "office_lead", office_id=office,
                        clock=fixed_clock(FIXED_NOW))
        ctx = Context(config, case_engine(config), apps, load_catalogue(),
                            fixed_clock(FIXED_NOW))
        yield OfficeWorld(ctx, config)
        ctx.case_db.dispose()
    finally:
        apps.dispose()
        if prefix:
            drop_pg_schemas(prefix)


@pytest.mark.parametrize(("code", "user", "args", "expected"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_office_lead_rows(office_world: OfficeWorld, code: str, user: str,
                          args: dict[str, str], expected: list[dict[str, Any]]) -> None:
    assert office_world.run(code, user, args) == expected


def test_office_lead_r11_ahaus_is_safe_with_the_hand_counted_figures(
        office_world: OfficeWorld) -> None:
    """R11 for Ahaus (T1 + T2: E001 Q, E002 E003 E004 G, E006 M, E008 without section): every
    shown cell is the hand-counted one, every 1 or 2 is suppressed, the attacker bounds every
    suppressed cell to a range reaching 3 or more."""
    raw = {  # integrations, svb, ausbildung, selbstaendig, bedarfsdeckend (known)
        "G": (3, 2, 1, 0, 1),  # E002 AUSBILDUNG (0), E003 SVB (1), E004 SVB (0)
        "M": (1, 0, 0, 1, 1),  # E006 SELBSTAENDIG, bedarfsdeckend
        "Q": (1, 1, 0, 0, 0),  # E001 unknown
        None: (1, 1, 0, 0, 0),  # E008 unknown
        "Gesamt": (6, 4, 1, 1, 2),
    }
    keys = ("integrations", "svb", "ausbildung", "selbstaendig", "bedarfsdeckend")
    rows = office_world.run("R11", "ol1", {})
    assert [r["wz_section"] for r in rows] == ["G", "M", "Q", None, "Gesamt"]
    for row in rows:
        for key, value in zip(keys, raw[row["wz_section"]], strict=True):
            if value in (1, 2):
                assert row[key] is None, (row, key)
            elif row[key] is not None:
                assert row[key] == value, (row, key)
    assert attack("R11", rows, "wz_section") == []


def test_office_lead_r01_is_safe_for_the_attacker(office_world: OfficeWorld) -> None:
    """R01's one relation (elb = the four profile columns) gives the attacker nothing."""
    sums = [("elb", ("group_a", "group_b", "group_c", "group_none"))]
    for user in ("ol1", "ol2"):
        rows = office_world.run("R01", user, {})
        assert attack_table(rows, {}, sums, "staff_id") == []
    for code, first in (("R10", "profile_group"), ("R12", "group"), ("R13", "office"),
                        ("R16", "office")):
        for user in ("ol1", "ol2"):
            assert attack(code, office_world.run(code, user, {}), first) == [], (code, user)


def test_office_lead_never_groups_by_office(office_world: OfficeWorld) -> None:
    with pytest.raises(ParameterError) as info:
        office_world.run("R12", "ol1", {"group_by": "office"})
    assert set(info.value.errors) == {"group_by"}
    assert "office" not in info.value.errors["group_by"].split(": ")[-1].split(", ")


@pytest.mark.parametrize("code", ["R01", "R09", "R10", "R11", "R12", "R13", "R14", "R16"])
def test_office_lead_sees_nothing_of_another_office(office_world: OfficeWorld, code: str) -> None:
    """No name of another office, team or case manager, in any format."""
    foreign = {"O1": ("Vreden", "Übach", "Frank Fuchs", "Hans Hoff"),
               "O2": ("Ahaus", "Übach", "Anna Albers", "Dieter Dahl")}
    for user, office in (("ol1", "O1"), ("ol2", "O2")):
        for fmt in ("html", "csv", "json"):
            rendered = get_renderer(fmt).render(office_world.result(code, user, {}, fmt))
            body = rendered.body.decode("utf-8-sig")
            for name in foreign[office]:
                assert name not in body, (code, user, fmt, name)


@pytest.mark.parametrize("code", LISTS)
def test_office_lead_never_reaches_a_person_list(office_world: OfficeWorld, code: str) -> None:
    before = len(office_world.audit())
    with pytest.raises(AccessDenied):
        office_world.run(code, "ol1", {})
    entries = office_world.audit()[before:]
    assert [(e["username"], e["report"], e["outcome"]) for e in entries] == [
        ("ol1", code, "denied")]


def test_office_missing_from_the_live_data_sees_nothing(office_world: OfficeWorld) -> None:
    before = len(office_world.audit())
    with pytest.raises(AccessDenied):
        office_world.run("R16", "ol9", {})
    entry = office_world.audit()[before:]
    assert [(e["report"], e["outcome"], e["message"]) for e in entry] == [
        ("R16", "denied", "Zuordnung fehlt in den aktuellen Daten")]


def test_office_lead_r01_links_to_no_list(office_world: OfficeWorld) -> None:
    """No drill-through from an office lead's R01 row: the lists are not theirs."""
    body = get_renderer("html").render(office_world.result("R01", "ol1", {}, "html")).body
    assert b"Dieter Dahl" in body
    assert not re.search(rb"/reports/R0[2-8]", body)


@pytest.mark.parametrize("code", LISTS)
def test_office_lead_cli_run_of_a_list_exits_3(office_world: OfficeWorld, code: str) -> None:
    """``opal run`` takes the same access check: a list is denied (exit 3), audited; R16 runs."""
    from opal.cli import CliState, main
    from opal.clock import fixed_clock
    from tests.conftest import FIXED_NOW

    cfg = office_world.config
    env = {"OPAL_" + name.upper(): str(getattr(cfg, name))
           for name in ("case_db_url", "app_db_url", "case_db_schema", "app_db_schema",
                        "data_dir", "secret_key") if getattr(cfg, name) is not None}
    before = len(office_world.audit())
    result = CliRunner().invoke(main, ["run", code, "--user", "ol1", "--format", "json"],
                                env=env, obj=CliState(fixed_clock(FIXED_NOW)))
    assert result.exit_code == 3, result.output
    assert '"rows"' not in result.stdout
    assert [(e["report"], e["outcome"]) for e in office_world.audit()[before:]] == [
        (code, "denied")]
    ok = CliRunner().invoke(main, ["run", "R16", "--user", "ol1", "--format", "json"],
                            env=env, obj=CliState(fixed_clock(FIXED_NOW)))
    assert ok.exit_code == 0, ok.output
    assert [r["office"] for r in json.loads(ok.stdout)["rows"]] == ["Ahaus"]
