"""Access: a role x report-kind x linkage truth table for ``can_run`` and ``scope_for``."""

from __future__ import annotations

from typing import Any

import pytest

from opal.access import Actor, can_run, scope_for
from opal.catalogue import ReportDefinition
from opal.errors import AccessDenied


def report(kind: str, *roles: str) -> ReportDefinition:
    return ReportDefinition(code="R99", title="t", group="g", roles=roles, formats=("json",),
                            kind=kind, orientation="portrait", sql="SELECT 1", sql_source="",
                            sql_file="R99.sql", sort=(), help="", params=(), columns=())


LIST = report("list", "case_manager", "team_lead")
TEAM_AGG = report("aggregate", "case_manager", "team_lead")
STEERING = report("aggregate", "team_lead", "controlling")
COUNTY = report("aggregate", "controlling")
BROKEN_LIST = report("list", "case_manager", "team_lead", "controlling", "admin")
ADMIN_AGG = report("aggregate", "admin", "controlling")
REPORTS = {"list": LIST, "team_agg": TEAM_AGG, "steering": STEERING, "county": COUNTY,
           "broken_list": BROKEN_LIST, "admin_agg": ADMIN_AGG}

CM = Actor("cm", "case_manager", "S1")
CM_UNLINKED = Actor("cm0", "case_manager", None)
CM_EMPTY = Actor("cm0", "case_manager", "")
TL = Actor("tl", "team_lead", None, "T1")
TL_UNLINKED = Actor("tl0", "team_lead")
CTRL = Actor("ctrl", "controlling")
ADMIN = Actor("admin", "admin")
NOROLE = Actor("x", None, "S1", "T1")
ODD = Actor("x", "superuser")
# a case manager carrying a team id (or vice versa) gains nothing from it
CM_WITH_TEAM = Actor("cm", "case_manager", None, "T1")
TL_WITH_STAFF = Actor("tl", "team_lead", "S1", None)

#        actor          list   team_agg steering county broken_list admin_agg
TABLE = [
    (CM,             (True,  True,  False, False, True,  False)),
    (CM_UNLINKED,    (False, False, False, False, False, False)),
    (CM_EMPTY,       (False, False, False, False, False, False)),
    (CM_WITH_TEAM,   (False, False, False, False, False, False)),
    (TL,             (True,  True,  True,  False, True,  False)),
    (TL_UNLINKED,    (False, False, False, False, False, False)),
    (TL_WITH_STAFF,  (False, False, False, False, False, False)),
    (CTRL,           (False, False, True,  True,  False, True)),
    (ADMIN,          (False, False, False, False, False, False)),
    (NOROLE,         (False, False, False, False, False, False)),
    (ODD,            (False, False, False, False, False, False)),
]


@pytest.mark.parametrize("actor,expected", TABLE)
def test_can_run_truth_table(actor: Actor, expected: tuple[bool, ...]) -> None:
    got = tuple(can_run(actor, r) for r in REPORTS.values())
    assert got == expected


SCOPES: list[tuple[Actor, bool, dict[str, Any] | None]] = [
    (CM, True, {"_viewer": "S:S1", "_staff_id": "S1", "_team_id": "", "_office_id": "",
      "_county": 0}),
    (CM, False, None),  # staff missing from the live generation (or not a case manager)
    (CM_UNLINKED, True, None),
    (TL, True, {"_viewer": "T:T1", "_staff_id": "", "_team_id": "T1", "_office_id": "",
      "_county": 0}),
    (TL, False, None),
    (TL_UNLINKED, True, None),
    (CTRL, True, {"_viewer": "", "_staff_id": "", "_team_id": "", "_office_id": "",
      "_county": 1}),
    (CTRL, False, {"_viewer": "", "_staff_id": "", "_team_id": "", "_office_id": "",
      "_county": 1}),
    (ADMIN, True, None),
    (NOROLE, True, None),
    (ODD, True, None),
]


@pytest.mark.parametrize("actor,live,expected", SCOPES)
def test_scope_for(actor: Actor, live: bool, expected: dict[str, Any] | None) -> None:
    if expected is None:
        with pytest.raises(AccessDenied) as info:
            scope_for(actor, live)
        assert info.value.status == 403
    else:
        assert scope_for(actor, live) == expected
