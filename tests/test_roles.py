"""The role table: its facts against a hand-written table, and ``can_run``/``scope_for`` over
every case generated from it (role x report kind x listed x linked)."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from opal import labels, roles
from opal.access import Actor, can_run, linkage, scope_for
from opal.catalogue import ParamDef, ReportDefinition
from opal.errors import AccessDenied
from opal.result import ColumnDef
from opal.roles import LINKS, REPORT_KINDS, ROLES, as_seen_by, fixed_binds
from opal.users import UserError, get_user, upsert_user
from tests.fixtures.engine import EngineWorld

#: written by hand from interface.md: label, link kind, disclosure control, admin pages
FACTS = {
    "case_manager": ("Fallmanagement", "staff", False, False),
    "team_lead": ("Teamleitung", "team", False, False),
    "office_lead": ("Leitung Jobcenter vor Ort", "office", True, False),
    "controlling": ("Controlling", "none", True, False),
    "admin": ("Administration", "none", False, True),
}
#: written by hand: the report kinds each role may run when listed and linked
MAY_RUN = {
    "case_manager": {"list": True, "aggregate": True},
    "team_lead": {"list": True, "aggregate": True},
    "office_lead": {"list": False, "aggregate": True},
    "controlling": {"list": False, "aggregate": True},
    "admin": {"list": False, "aggregate": False},
}


def report(kind: str, *listed: str) -> ReportDefinition:
    return ReportDefinition(code="R99", title="t", group="g", roles=listed, formats=("json",),
                            kind=kind, orientation="portrait", sql="SELECT 1", sql_source="",
                            sql_file="R99.sql", sort=(), help="", params=(), columns=())


def actor_for(role: str | None, link: str | None) -> Actor:
    """An actor of ``role`` carrying an id for link kind ``link`` (None: no id at all)."""
    ids = {LINKS[link].attr: "X1"} if link in LINKS else {}  # type: ignore[index]
    return Actor("u", role, **ids)


def test_the_table_states_the_hand_written_facts() -> None:
    assert list(ROLES) == list(FACTS)
    for name, role in ROLES.items():
        assert (role.label, role.link, role.disclosure_control, role.admin) == FACTS[name]
        assert {k: k in role.kinds for k in REPORT_KINDS} == MAY_RUN[name]


#: every case: each role (and none, and an unknown one) x kind x listed x the link id it carries
CASES = list(itertools.product([*ROLES, None, "superuser"], REPORT_KINDS, [True, False],
                               [None, *LINKS]))


@pytest.mark.parametrize("role,kind,listed,carried", CASES)
def test_can_run_over_every_generated_case(role: str | None, kind: str, listed: bool,
                                           carried: str | None) -> None:
    actor = actor_for(role, carried)
    definition = report(kind, *([role] if listed and role else []))
    entry = ROLES.get(role) if role else None
    linked = entry is not None and (entry.link == "none" or entry.link == carried)
    want = entry is not None and MAY_RUN[entry.name][kind] and listed and linked
    assert can_run(actor, definition) is want


@pytest.mark.parametrize("role", list(ROLES))
def test_scope_binds_every_reserved_parameter_or_denies(role: str) -> None:
    entry = ROLES[role]
    actor = actor_for(role, entry.link)
    if entry.scope is None:
        with pytest.raises(AccessDenied):
            scope_for(actor, True)
        return
    scope = scope_for(actor, True)
    assert set(scope) == {"_viewer", "_staff_id", "_team_id", "_office_id", "_county"}
    assert scope["_county"] == (1 if entry.link == "none" else 0)
    # the id goes to exactly the reserved parameter of the role's link, never a viewer of lists
    assert scope["_staff_id"] == ("X1" if entry.link == "staff" else "")
    assert scope["_team_id"] == ("X1" if entry.link == "team" else "")
    assert scope["_office_id"] == ("X1" if entry.link == "office" else "")
    assert scope["_viewer"] == {"staff": "S:X1", "team": "T:X1"}.get(entry.link, "")
    if entry.link != "none":
        with pytest.raises(AccessDenied):
            scope_for(actor, False)  # linked, but not in the live data
        with pytest.raises(AccessDenied):
            scope_for(actor_for(role, None), True)


def test_report_roles_are_those_that_see_case_data() -> None:
    assert roles.REPORT_ROLES == ("case_manager", "team_lead", "office_lead", "controlling")
    assert labels.label("role", "office_lead") == "Leitung Jobcenter vor Ort"
    assert labels.label("role", "team_lead") == "Teamleitung"  # the UI reads the table
    assert labels.label("role", None) == "ohne Rolle"


def test_user_links_follow_the_table(sqlite_world: EngineWorld) -> None:
    app = sqlite_world.ctx.app_db
    with pytest.raises(UserError, match="case_manager braucht --staff-id"):
        upsert_user(app, "a", "case_manager")
    with pytest.raises(UserError, match="--team-id gilt nur für team_lead"):
        upsert_user(app, "a", "case_manager", staff_id="S1", team_id="T1")
    with pytest.raises(UserError, match="--staff-id gilt nur für case_manager"):
        upsert_user(app, "a", "controlling", staff_id="S1")
    with pytest.raises(UserError, match="office_lead braucht --office-id"):
        upsert_user(app, "a", "office_lead")
    with pytest.raises(UserError, match="--office-id gilt nur für office_lead"):
        upsert_user(app, "a", "team_lead", team_id="T1", office_id="O1")
    with pytest.raises(UserError, match="--team-id gilt nur für team_lead"):
        upsert_user(app, "a", "office_lead", office_id="O1", team_id="T1")
    with pytest.raises(UserError, match="ungültige Kennung"):
        upsert_user(app, "a", "office_lead", office_id="O 1")
    assert upsert_user(app, "ol", "office_lead", office_id="O1")
    stored = get_user(app, "ol")
    assert stored is not None and stored.actor() == Actor("ol", "office_lead", office_id="O1")
    with pytest.raises(UserError, match="Rolle 'boss' gibt es nicht"):
        upsert_user(app, "a", "boss")
    assert upsert_user(app, "a", "controlling")


def test_office_lead_is_one_entry_linked_to_an_office(sqlite_world: EngineWorld) -> None:
    """office_lead: aggregates only, linked to an office of the live data, scope by office."""
    case = sqlite_world.ctx.case_db
    lead = Actor("ol", "office_lead", office_id="O2")
    assert can_run(lead, report("aggregate", "office_lead"))
    assert not can_run(lead, report("list", "office_lead"))  # never a person list
    assert not can_run(Actor("ol", "office_lead"), report("aggregate", "office_lead"))
    assert not can_run(Actor("ol", "office_lead", team_id="T1"), report("aggregate",
                                                                       "office_lead"))
    with case.connect() as conn:
        assert linkage(conn, lead).unit == "Standort Süd (O2)"
        assert not linkage(conn, Actor("ol", "office_lead", office_id="O9")).live
    assert scope_for(lead, True) == {"_viewer": "", "_staff_id": "", "_team_id": "",
                                     "_office_id": "O2", "_county": 0}
    with pytest.raises(AccessDenied):
        scope_for(lead, False)


def test_as_seen_by_withholds_the_office_grouping_and_fixed_parameters() -> None:
    """An office lead neither groups by office nor chooses an office; nor gets a sum row."""
    group_by = ParamDef("group_by", "code", "Gliederung", default="office",
                        choices=("office", "sex"), labels=("Dienststelle", "Geschlecht"))
    office = ParamDef("office", "code", "Dienststelle", choices=("O1",), optional=True)
    col = ColumnDef("elb", "eLb", "int", total=True)
    defn = dataclasses.replace(report("aggregate", "office_lead", "controlling"),
                               params=(group_by, office), columns=(col,))
    seen = as_seen_by("office_lead", defn)
    assert [p.name for p in seen.params] == ["group_by"]
    assert seen.params[0].choices == ("sex",) and seen.params[0].labels == ("Geschlecht",)
    assert seen.params[0].default == "sex"  # the first grouping left
    assert not seen.columns[0].total
    assert as_seen_by("controlling", defn).params == defn.params  # county: unchanged
    assert as_seen_by("team_lead", defn) is defn
    assert fixed_binds("office_lead", {"_office_id": "O1"}) == {"office": "O1"}
    assert fixed_binds("controlling", {"_office_id": ""}) == {}
