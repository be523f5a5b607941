"""Who may run what, and the row scope the server injects: deny by default, read from the role
table (``opal.roles``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from opal.catalogue import BundleDefinition, Catalogue, ReportDefinition
from opal.errors import AccessDenied
from opal.roles import Role, Scope, link_of, may_set, role_of


@dataclass(frozen=True)
class Actor:
    """The user a report runs for, as the app database knows them."""

    username: str
    role: str | None
    staff_id: str | None = None
    team_id: str | None = None
    office_id: str | None = None

    def link_id(self, role: Role) -> str | None:
        """The id the actor's role is linked by ("" for a role linked to nothing)."""
        link = link_of(role)
        if link is None:
            return ""
        found = getattr(self, link.attr, None)
        return found if isinstance(found, str) and found else None


@dataclass(frozen=True)
class Linkage:
    """What the live generation says about the actor's staff, team or office."""

    live: bool  # the linked unit exists (always for a role linked to nothing)
    unit: str = ""  # the unit line: case load, team or county


def can_run(actor: Actor, report: ReportDefinition) -> bool:
    """True only when the role is listed for the report, may run its kind and is linked."""
    role = role_of(actor.role)
    if role is None or role.scope is None or role.name not in report.roles:
        return False
    return report.kind in role.kinds and actor.link_id(role) is not None


def can_run_bundle(actor: Actor, bundle: BundleDefinition, catalogue: Catalogue) -> bool:
    """True only when the actor may run every part as the bundle sets it (deny by default: a
    role missing one part sees no bundle and is refused it)."""
    parts = catalogue.parts(bundle)
    return len(parts) == len(bundle.runs) and bool(parts) and all(
        can_run(actor, defn) and may_set(actor.role, defn, params) for defn, params in parts)


def may_run(actor: Actor, catalogue: Catalogue, code: str) -> bool:
    """Whether ``code`` (a report code or a bundle name) may be run by the actor now."""
    defn = catalogue.get(code)
    if defn is not None:
        return can_run(actor, defn)
    bundle = catalogue.bundles.get(code)
    return bundle is not None and can_run_bundle(actor, bundle, catalogue)


def scope_for(actor: Actor, live: bool) -> Scope:
    """The reserved parameters (except ``_as_of``) for ``actor``; AccessDenied when unlinked."""
    role = role_of(actor.role)
    link_id = actor.link_id(role) if role is not None else None
    # a linked role needs its staff/team/office in the live data; one linked to nothing not
    if role is None or role.scope is None or link_id is None or (link_id and not live):
        raise AccessDenied(
            "Ihr Benutzerkonto ist keiner Fallmanagerin, keinem Fallmanager, keinem Team oder "
            "keinem Standort der aktuellen Daten zugeordnet. Bitte wenden Sie sich an die "
            "Administration."
        )
    return role.scope(link_id)


def linkage(conn: Connection, actor: Actor) -> Linkage:
    """Look the actor's staff, team or office up in the live generation on ``conn``."""
    role = role_of(actor.role)
    if role is None or role.scope is None:
        return Linkage(False)
    link, link_id = link_of(role), actor.link_id(role)
    if link is None:
        return Linkage(True, role.unit)
    unit = link.unit(conn, link_id) if link_id else None
    return Linkage(False) if unit is None else Linkage(True, unit)


#: who a team lead / a case manager may narrow a list to, built once (every such page asks)
_TEAM_CHOICES = text("SELECT staff_id, display_name FROM staff WHERE team_id = :t "
                     "AND \"function\" IN ('FALLMANAGEMENT', 'ARBEITSVERMITTLUNG')")
_OWN_CHOICES = text("SELECT staff_id, display_name FROM staff WHERE staff_id = :s "
                    "UNION SELECT c.staff_id, c.display_name FROM stand_in si "
                    "JOIN staff c ON c.staff_id = si.covers_staff_id "
                    "WHERE si.staff_id = :s AND si.from_day <= :d "
                    "AND (si.to_day IS NULL OR si.to_day >= :d)")


def case_manager_choices(conn: Connection, actor: Actor, as_of_day: int) -> dict[str, str]:
    """The case managers a person list may be narrowed to (``case_manager``), id -> name.

    A team lead: every FALLMANAGEMENT/ARBEITSVERMITTLUNG member of the team, active or not. A
    case manager: themself and each colleague they cover on ``as_of``. Nobody else: none.
    Sorted by display name the German way (DIN 5007-1), then by staff id.
    """
    from opal.collation import din5007

    rows: list[Any] = []
    if actor.role == "team_lead" and actor.team_id:
        rows = list(conn.execute(
            _TEAM_CHOICES, {"t": actor.team_id}))
    elif actor.role == "case_manager" and actor.staff_id:
        rows = list(conn.execute(
            _OWN_CHOICES, {"s": actor.staff_id, "d": as_of_day}))
    ordered = sorted(((str(r[0]), str(r[1])) for r in rows),
                     key=lambda r: (din5007(r[1]), r[1], r[0]))
    return dict(ordered)
