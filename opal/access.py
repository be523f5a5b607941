"""Who may run what, and the row scope the server injects: deny by default, pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from opal.casedb.schema import CASE_MANAGER_FUNCTIONS, viewer_for_staff, viewer_for_team
from opal.catalogue import ReportDefinition
from opal.errors import AccessDenied


@dataclass(frozen=True)
class Actor:
    """The user a report runs for, as the app database knows them."""

    username: str
    role: str | None
    staff_id: str | None = None
    team_id: str | None = None


@dataclass(frozen=True)
class Linkage:
    """What the live generation says about the actor's staff or team."""

    live: bool  # the linked staff (a case manager) or team exists
    unit: str = ""  # the unit line: case load, team or county


def can_run(actor: Actor, report: ReportDefinition) -> bool:
    """True only when the actor's role is listed for the report; admin and no role never."""
    role = actor.role
    if role is None or role == "admin" or role not in report.roles:
        return False
    if role == "case_manager":
        return bool(actor.staff_id)
    if role == "team_lead":
        return bool(actor.team_id)
    if role == "controlling":
        return report.kind == "aggregate"  # never a name or customer number
    return False


def scope_for(actor: Actor, live: bool) -> dict[str, Any]:
    """The reserved parameters (except ``_as_of``) for ``actor``; AccessDenied when unlinked."""
    if actor.role == "case_manager" and actor.staff_id and live:
        return {"_viewer": viewer_for_staff(actor.staff_id), "_staff_id": actor.staff_id,
                "_team_id": "", "_county": 0}
    if actor.role == "team_lead" and actor.team_id and live:
        return {"_viewer": viewer_for_team(actor.team_id), "_staff_id": "",
                "_team_id": actor.team_id, "_county": 0}
    if actor.role == "controlling":
        return {"_viewer": "", "_staff_id": "", "_team_id": "", "_county": 1}
    raise AccessDenied(
        "Ihr Benutzerkonto ist keiner Fallmanagerin, keinem Fallmanager oder keinem Team der "
        "aktuellen Daten zugeordnet. Bitte wenden Sie sich an die Administration."
    )


def linkage(conn: Connection, actor: Actor) -> Linkage:
    """Look the actor's staff or team up in the live generation on ``conn``."""
    if actor.role == "case_manager" and actor.staff_id:
        row = conn.execute(
            text("SELECT s.display_name, s.function, t.name FROM staff s "
                 "LEFT JOIN team t ON t.team_id = s.team_id WHERE s.staff_id = :s"),
            {"s": actor.staff_id}).first()
        if row is None or row[1] not in CASE_MANAGER_FUNCTIONS:
            return Linkage(False)
        return Linkage(True, f"Fallbestand {row[0]} ({actor.staff_id})")
    if actor.role == "team_lead" and actor.team_id:
        row = conn.execute(text("SELECT name FROM team WHERE team_id = :t"),
                           {"t": actor.team_id}).first()
        if row is None:
            return Linkage(False)
        return Linkage(True, f"Team {row[0]} ({actor.team_id})")
    if actor.role == "controlling":
        return Linkage(True, "Gesamter Kreis")
    return Linkage(False)
