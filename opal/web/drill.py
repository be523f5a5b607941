"""Drill-through (reports.md): a figure's cell links to the report that reproduces it, with the
parameters that do, and only where ``access.can_run`` lets the viewer run that report: R01's
case managers open their lists, R17's figures open R18 for that figure (and office, sex,
month), R12-R14's office rows open R17 for that office (and month)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from opal.access import Actor, can_run
from opal.catalogue import Catalogue
from opal.result import Result
from opal.roles import role_of

#: (row) -> {column key: href}
Links = Callable[[dict[str, Any]], dict[str, str]]
#: the office reports and the column naming the office of a row (R12 only when grouped by it)
OFFICE_ROWS = {"R12": "group", "R13": "office", "R14": "office"}


def links_for(result: Result, actor: Actor, catalogue: Catalogue,
              offices: Callable[[], list[tuple[str, str]]],
              case_managers: Callable[[], Mapping[str, str]]) -> Links | None:
    """The links of ``result``'s rows for ``actor``; None where the report has none."""
    if result.code == "R01":
        return _case_manager_links(result, case_managers)
    if result.code == "R17":
        return _figure_links(result, actor, catalogue)
    if result.code in OFFICE_ROWS:
        return _office_links(result, actor, catalogue, offices)
    return None


def _may_run(actor: Actor, catalogue: Catalogue, code: str) -> bool:
    target = catalogue.get(code)
    return target is not None and can_run(actor, target)


def _params(result: Result) -> dict[str, str]:
    """The run's parameters as a query would give them (empty optional ones left out)."""
    return {p.name: str(p.value) for p in result.params if p.value not in (None, "")}


def _fixed(actor: Actor) -> frozenset[str]:
    """Parameters the viewer's role may not give (the office lead's office): never in a link."""
    role = role_of(actor.role)
    return frozenset((role.fixed_params or {}) if role is not None else ())


def _case_manager_links(result: Result, case_managers: Callable[[], Mapping[str, str]]
                        ) -> Links | None:
    """R01's case manager cells open the lists for that case manager, only where access offers
    that case manager to the viewer."""
    keys = {c.key for c in result.columns}
    if not {"staff_id", "case_manager"} <= keys:
        return None
    offered = case_managers()

    def links(row: dict[str, Any]) -> dict[str, str]:
        staff_id = row.get("staff_id")
        if not isinstance(staff_id, str) or staff_id not in offered:
            return {}
        return {"case_manager": "/reports?" + urlencode({"case_manager": staff_id})}
    return links


def _figure_links(result: Result, actor: Actor, catalogue: Catalogue) -> Links | None:
    """R17's figure cells open R18 for that figure with R17's month, office and sex."""
    if not _may_run(actor, catalogue, "R18"):
        return None
    fixed = _fixed(actor)
    keep = {k: v for k, v in _params(result).items()
            if k in ("month", "office", "sex") and k not in fixed}

    def links(row: dict[str, Any]) -> dict[str, str]:
        figure = row.get("figure")
        if not isinstance(figure, str):
            return {}
        return {"figure": "/reports/R18?" + urlencode({"figure": figure, **keep})}
    return links


def _office_links(result: Result, actor: Actor, catalogue: Catalogue,
                  offices: Callable[[], list[tuple[str, str]]]) -> Links | None:
    """An office row of R12-R14 opens R17 for that office and month (the ``Gesamt`` row: the
    county); an office lead's rows are their office, fixed, so no ``office`` is given."""
    column = OFFICE_ROWS[result.code]
    params = _params(result)
    if params.get("group_by", "office") != "office" or not _may_run(actor, catalogue, "R17"):
        return None
    month = {"month": params["month"]} if "month" in params else {}
    if "office" in _fixed(actor):
        return lambda row: {column: "/reports/R17?" + urlencode(month)}
    ids: dict[str, list[str]] = {}
    for office_id, name in offices():
        ids.setdefault(name, []).append(office_id)

    def links(row: dict[str, Any]) -> dict[str, str]:
        name = row.get(column)
        if name == "Gesamt":
            return {column: "/reports/R17?" + urlencode(month)}
        found = ids.get(name) if isinstance(name, str) else None
        if not found or len(found) != 1:  # an unknown or ambiguous name: no link
            return {}
        return {column: "/reports/R17?" + urlencode({**month, "office": found[0]})}
    return links
