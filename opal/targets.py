"""Targets (Zielwerte) of the key figures of § 48a SGB II: kept per year, figure and office (or
the county) by admin, read by R17 (office first, else the county's, else none)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from opal.appdb.schema import targets

#: the 15 key figures in the order of the Verordnung (reports.md)
FIGURES = ("K1", "K1E1", "K1E2", "K1E3", "K1E4", "K2", "K2E1", "K2E2", "K2E3", "K2E4", "K3",
           "K3E1", "K3E2", "K3E3", "K3E4")
COUNTY = ""  #: office_id of the county's targets
YEARS = (2005, 2100)
LIMIT = Decimal("1000")  #: |target| in percent (a change of more than 1000 % is a typo)
_VALUE = re.compile(r"^-?[0-9]{1,4}([.,][0-9])?$")
_OFFICE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
FIELDS = ("year", "figure", "office", "value")


def lookup(engine: Engine, year: int, office: str) -> dict[str, Decimal]:
    """The year's target per figure for ``office`` ('' = county): the office's own, else the
    county's; a figure without either is missing."""
    offices = [COUNTY] if not office else [COUNTY, office]
    with engine.connect() as conn:
        rows = conn.execute(select(targets.c.figure, targets.c.office_id, targets.c.value_e1)
                            .where(targets.c.year == year,
                                   targets.c.office_id.in_(offices))).all()
    found: dict[str, Decimal] = {}
    for figure, _office, value in sorted(rows, key=lambda r: r[1]):  # county, then office
        found[str(figure)] = Decimal(int(value)).scaleb(-1)
    return found


def listing(engine: Engine, year: int) -> list[dict[str, Any]]:
    """Every target of ``year``: county first, then by office, figure in the Verordnung's order."""
    with engine.connect() as conn:
        rows = conn.execute(select(targets).where(targets.c.year == year)).mappings().all()
    order = {f: i for i, f in enumerate(FIGURES)}
    out = [{**r, "value": Decimal(int(r["value_e1"])).scaleb(-1)} for r in rows]
    return sorted(out, key=lambda r: (r["office_id"] != COUNTY, r["office_id"],
                                      order.get(r["figure"], 99)))


def parse_form(form: Mapping[str, str], offices: set[str]) -> tuple[dict[str, Any],
                                                                     dict[str, str]]:
    """Check a target form: (values, errors naming every bad field). An empty value deletes."""
    errors: dict[str, str] = {}
    for name in form:
        if name not in FIELDS and name != "csrf_token":
            errors[name[:40]] = "Dieses Feld gibt es nicht."
    raw = {k: str(form.get(k, "")).strip() for k in FIELDS}
    values: dict[str, Any] = {}
    year = raw["year"]
    if not year.isdigit() or not YEARS[0] <= int(year) <= YEARS[1]:
        errors["year"] = f"Bitte ein Jahr von {YEARS[0]} bis {YEARS[1]} angeben."
    else:
        values["year"] = int(year)
    if raw["figure"] not in FIGURES:
        errors["figure"] = "Bitte eine der 15 Kennzahlen wählen."
    else:
        values["figure"] = raw["figure"]
    office = raw["office"]
    if office and (not _OFFICE.fullmatch(office) or office not in offices):
        errors["office"] = "Diese Dienststelle gibt es nicht."
    else:
        values["office"] = office
    value = raw["value"]
    if value == "":
        values["value_e1"] = None
    elif not _VALUE.fullmatch(value) or abs(Decimal(value.replace(",", "."))) > LIMIT:
        errors["value"] = "Bitte einen Wert in % mit höchstens einer Nachkommastelle angeben " \
                          "(-1000 bis 1000), leer zum Löschen."
    else:
        values["value_e1"] = int(Decimal(value.replace(",", ".")) * 10)
    return values, errors


def save(engine: Engine, values: Mapping[str, Any], username: str, now: datetime) -> None:
    """Set (or, with ``value_e1`` None, delete) one target in one transaction."""
    key = (targets.c.year == values["year"]) & (targets.c.figure == values["figure"]) & (
        targets.c.office_id == values["office"])
    with engine.begin() as conn:
        conn.execute(delete(targets).where(key))
        if values["value_e1"] is not None:
            conn.execute(insert(targets).values(
                year=values["year"], figure=values["figure"], office_id=values["office"],
                value_e1=values["value_e1"], updated_at=now, updated_by=username))
