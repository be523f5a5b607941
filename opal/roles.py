"""The roles as one declarative table: access, the catalogue check, user management and the UI
read it, so that a new role is one entry here plus its own code (a scope builder, a link kind).

A role names what it is linked to in the live data (``Link``: a staff member, a team, an office,
or nothing), which report kinds it may run, whether its results pass disclosure control, and
the reserved parameters (``:_viewer`` ...) its scope binds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Connection, text

from opal.casedb.schema import CASE_MANAGER_FUNCTIONS, viewer_for_staff, viewer_for_team
from opal.dbapi import Statement, first_row

if TYPE_CHECKING:
    from opal.catalogue import ReportDefinition

LinkKind = Literal["staff", "team", "office", "none"]
#: the reserved parameters a scope binds (``:_as_of`` comes from the generation)
Scope = dict[str, str | int]
#: the report kinds of a definition, and how a catalogue message names them
REPORT_KINDS: Mapping[str, str] = {"list": "a person list", "aggregate": "an aggregate"}


#: the linkage statements, built once (every run reads one; ``opal.dbapi``)
_STAFF = Statement(text("SELECT s.display_name, s.function FROM staff s WHERE s.staff_id = :s"))
_TEAM = Statement(text("SELECT name FROM team WHERE team_id = :t"))
_OFFICE = Statement(text("SELECT name FROM office WHERE office_id = :o"))


def _staff_unit(conn: Connection, staff_id: str) -> str | None:
    row = first_row(conn, _STAFF, {"s": staff_id})
    if row is None or row[1] not in CASE_MANAGER_FUNCTIONS:
        return None
    return f"Fallbestand {row[0]} ({staff_id})"


def _team_unit(conn: Connection, team_id: str) -> str | None:
    row = first_row(conn, _TEAM, {"t": team_id})
    return None if row is None else f"Team {row[0]} ({team_id})"


def _office_unit(conn: Connection, office_id: str) -> str | None:
    row = first_row(conn, _OFFICE, {"o": office_id})
    return None if row is None else f"Standort {row[0]} ({office_id})"


@dataclass(frozen=True)
class Link:
    """What a role is tied to: the Actor/users attribute holding the id, the ``opal users add``
    option that sets it, and the unit line when the id exists in the live generation."""

    kind: LinkKind
    attr: str  # Actor and users-table attribute ("staff_id"), directory link attribute key
    option: str  # "--staff-id"
    label: str  # what the id is called in German messages
    unit: Callable[[Connection, str], str | None]


LINKS: Mapping[LinkKind, Link] = {
    "staff": Link("staff", "staff_id", "--staff-id", "Personalnummer", _staff_unit),
    "team": Link("team", "team_id", "--team-id", "Teamnummer", _team_unit),
    "office": Link("office", "office_id", "--office-id", "Standortnummer", _office_unit),
}


@dataclass(frozen=True)
class Role:
    """One role: its German label, link, report kinds, disclosure control and scope."""

    name: str
    label: str
    link: LinkKind
    kinds: frozenset[str]  # report kinds it may run; empty: never any case data
    disclosure_control: bool  # its results are suppressed (small counts, what derives from them)
    scope: Callable[[str], Scope] | None  # link id ("" for link "none") -> reserved parameters
    unit: str = ""  # the unit line of a role without a link
    admin: bool = False  # may open the admin pages
    #: code-parameter choices the role may not ask for (office_lead: grouping by ``office``)
    withheld_choices: frozenset[str] = frozenset()
    #: parameters the server fixes from the scope (name -> reserved key), never offered
    fixed_params: Mapping[str, str] | None = None

    @property
    def sees_case_data(self) -> bool:
        return bool(self.kinds) and self.scope is not None


def _case_load(staff_id: str) -> Scope:
    return {"_viewer": viewer_for_staff(staff_id), "_staff_id": staff_id, "_team_id": "",
            "_office_id": "", "_county": 0}


def _team(team_id: str) -> Scope:
    return {"_viewer": viewer_for_team(team_id), "_staff_id": "", "_team_id": team_id,
            "_office_id": "", "_county": 0}


def _office(office_id: str) -> Scope:
    # no viewer: an office lead never reaches a person list (d_list_scope has no O: rows)
    return {"_viewer": "", "_staff_id": "", "_team_id": "", "_office_id": office_id,
            "_county": 0}


def _county(_none: str) -> Scope:
    return {"_viewer": "", "_staff_id": "", "_team_id": "", "_office_id": "", "_county": 1}


_BOTH = frozenset({"list", "aggregate"})

#: every role, in the order user management and the admin pages list them
ROLES: Mapping[str, Role] = {r.name: r for r in (
    Role("case_manager", "Fallmanagement", "staff", _BOTH, False, _case_load),
    Role("team_lead", "Teamleitung", "team", _BOTH, False, _team),
    Role("office_lead", "Leitung Jobcenter vor Ort", "office", frozenset({"aggregate"}), True,
         _office, withheld_choices=frozenset({"office"}), fixed_params={"office": "_office_id"}),
    Role("controlling", "Controlling", "none", frozenset({"aggregate"}), True, _county,
         unit="Gesamter Kreis"),
    Role("admin", "Administration", "none", frozenset(), False, None, admin=True),
)}
ROLE_NAMES: tuple[str, ...] = tuple(ROLES)
#: roles a report definition may list: those that see case data
REPORT_ROLES: tuple[str, ...] = tuple(r.name for r in ROLES.values() if r.sees_case_data)


def role_of(name: str | None) -> Role | None:
    """The role called ``name``; None for no role or a name not in the table (deny)."""
    return ROLES.get(name) if isinstance(name, str) else None


def link_of(role: Role) -> Link | None:
    """The role's link declaration; None for a role tied to nothing."""
    return None if role.link == "none" else LINKS[role.link]


def link_columns() -> tuple[str, ...]:
    """The users-table columns the roles in the table are linked by ("staff_id", ...)."""
    found = (link_of(r) for r in ROLES.values())
    return tuple(dict.fromkeys(link.attr for link in found if link is not None))


def check_links(role_name: str | None, ids: Mapping[str, str | None]) -> str | None:
    """The first fault of a user's link ids (``{"staff_id": ..., ...}``) for ``role_name``, in
    German for ``opal users add``; None when they fit."""
    role = role_of(role_name)
    if role_name is not None and role is None:
        return f"Rolle {role_name!r} gibt es nicht: {', '.join(ROLE_NAMES)}"
    own = link_of(role) if role is not None else None
    if role is not None and own is not None and not ids.get(own.attr):
        return f"{role.name} braucht {own.option}"
    for link in LINKS.values():
        if ids.get(link.attr) and link is not own:
            users = [r.name for r in ROLES.values() if r.link == link.kind]
            return f"{link.option} gilt nur für {' oder '.join(users) or 'keine Rolle'}"
    return None


def as_seen_by(role_name: str | None, defn: ReportDefinition) -> ReportDefinition:
    """The report as ``role_name`` may ask for it: withheld choices and fixed parameters gone
    (a 400 naming the field if asked anyway, not offered in the form), and no sum row over
    cells under disclosure control. The engine, the form and the OpenAPI page read this."""
    role = role_of(role_name)
    if role is None:
        return defn
    fixed = role.fixed_params or {}
    params = []
    for p in defn.params:
        if p.name in fixed:
            continue
        withheld = [c for c in p.choices if c in role.withheld_choices]
        if p.type == "code" and withheld:
            kept = [(c, lab) for c, lab in zip(p.choices, p.labels or p.choices, strict=False)
                    if c not in role.withheld_choices]
            default = p.default if p.default not in role.withheld_choices else (
                None if p.optional or not kept else kept[0][0])
            p = replace(p, choices=tuple(c for c, _ in kept),
                        labels=tuple(lab for _, lab in kept) if p.labels else (),
                        default=default)
        params.append(p)
    columns = defn.columns
    if role.disclosure_control:
        columns = tuple(replace(c, total=False) if c.total else c for c in columns)
    if len(params) == len(defn.params) and params == list(defn.params) \
            and columns == defn.columns:
        return defn
    return replace(defn, params=tuple(params), columns=columns)


def fixed_binds(role_name: str | None, scope: Scope) -> Scope:
    """The parameters the role's scope fixes (office_lead: ``office`` = its office id); a
    report without such a parameter ignores them."""
    role = role_of(role_name)
    fixed = (role.fixed_params or {}) if role is not None else {}
    return {name: scope[key] for name, key in fixed.items()}


def may_set(role_name: str | None, defn: ReportDefinition,
            params: Mapping[str, str]) -> bool:
    """Whether the role's view of ``defn`` lets a bundle set ``params`` (name -> value, "" for
    one run per unit): not a parameter the scope fixes (an office lead's ``office``), not a
    withheld choice. With ``can_run`` per report, this is who may run a bundle."""
    role = role_of(role_name)
    if role is None:
        return False
    seen = {p.name: p for p in as_seen_by(role_name, defn).params}
    for name, value in params.items():
        if name not in seen:
            return False
        if value and seen[name].type == "code" and value not in seen[name].choices:
            return False
    return True


def bundle_roles(parts: Sequence[tuple[ReportDefinition, Mapping[str, str]]]) -> tuple[str, ...]:
    """The roles that may run every part of a bundle (report kinds, roles listed, parameters
    the bundle sets): the catalogue lists the bundle for these only."""
    return tuple(name for name in REPORT_ROLES if parts and all(
        name in defn.roles and defn.kind in ROLES[name].kinds and may_set(name, defn, params)
        for defn, params in parts))
