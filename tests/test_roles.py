"""The role table: its facts against a hand-written table, and ``can_run``/``scope_for`` over
every case generated from it (role x report kind x listed x linked)."""

from __future__ import annotations

import itertools

import pytest

from opal import labels, roles
from opal.access import Actor, can_run, linkage, scope_for
from opal.catalogue import ReportDefinition
from opal.errors import AccessDenied
from opal.roles import LINKS, REPORT_KINDS, ROLES, Role
from opal.users import UserError, upsert_user
from tests.fixtures.engine import EngineWorld

#: written by hand from interface.md: label, link kind, disclosure control, admin pages
FACTS = {
    "case_manager": ("Fallmanagement", "staff", False, False),
    "team_lead": ("Teamleitung", "team", False, False),
    "controlling": ("Controlling", "none", True, False),
    "admin": ("Administration", "none", False, True),
}
#: written by hand: the report kinds each role may run when listed and linked
MAY_RUN = {
    "case_manager": {"list": True, "aggregate": True},
    "team_lead": {"list": True, "aggregate": True},
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
    assert set(scope) == {"_viewer", "_staff_id", "_team_id", "_county"}
    assert scope["_county"] == (1 if entry.link == "none" else 0)
    if entry.link != "none":
        with pytest.raises(AccessDenied):
            scope_for(actor, False)  # linked, but not in the live data
        with pytest.raises(AccessDenied):
            scope_for(actor_for(role, None), True)


def test_report_roles_are_those_that_see_case_data() -> None:
    assert roles.REPORT_ROLES == ("case_manager", "team_lead", "controlling")
    assert labels.label("role", "team_lead") == "Teamleitung"  # the UI reads the table
    assert labels.label("role", None) == "ohne Rolle"


def test_user_links_follow_the_table(sqlite_world: EngineWorld) -> None:
    app = sqlite_world.ctx.app_engine
    with pytest.raises(UserError, match="case_manager braucht --staff-id"):
        upsert_user(app, "a", "case_manager")
    with pytest.raises(UserError, match="--team-id gilt nur für team_lead"):
        upsert_user(app, "a", "case_manager", staff_id="S1", team_id="T1")
    with pytest.raises(UserError, match="--staff-id gilt nur für case_manager"):
        upsert_user(app, "a", "controlling", staff_id="S1")
    with pytest.raises(UserError, match="Rolle 'boss' gibt es nicht"):
        upsert_user(app, "a", "boss")
    assert upsert_user(app, "a", "controlling")


def test_a_new_role_is_one_entry(monkeypatch: pytest.MonkeyPatch,
                                 sqlite_world: EngineWorld) -> None:
    """A role linked to an office, added as one table entry: access, scope and the unit line
    follow without touching access.py."""
    case = sqlite_world.ctx.case_engine
    office_lead = Role("office_lead", "Standortleitung", "office", frozenset({"aggregate"}),
                       True, lambda office: {"_viewer": "", "_staff_id": "", "_team_id": "",
                                             "_county": 1})
    monkeypatch.setitem(ROLES, "office_lead", office_lead)  # type: ignore[attr-defined]
    lead = Actor("ol", "office_lead", office_id="O2")
    assert can_run(lead, report("aggregate", "office_lead"))
    assert not can_run(lead, report("list", "office_lead"))
    assert not can_run(Actor("ol", "office_lead"), report("aggregate", "office_lead"))
    with case.connect() as conn:
        assert linkage(conn, lead).unit == "Standort Süd (O2)"
        assert not linkage(conn, Actor("ol", "office_lead", office_id="O9")).live
    assert scope_for(lead, True)["_county"] == 1
