"""The demo export: office by office (bounded memory), one seeded random stream per office.

Determinism: every draw comes from ``random.Random(f"{seed}:{office_id}")`` in a fixed order,
rows are written in generation order, and nothing depends on the clock.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from opal.demo.catalogue import HOSTILE_PERSONS, KREIS_OFFICES, MEASURES
from opal.demo.histories import (
    assign_profiles,
    contacts,
    jobs_and_measures,
    make_ctx,
    plans,
    unemployment,
    write_profiles,
)
from opal.demo.model import BenefitUnit
from opal.demo.payments import payment_rows
from opal.demo.population import OfficePopulation
from opal.demo.staffing import OfficeStaffing, classify
from opal.demo.writer import DateText, ExportWriter

SCALES = ("small", "kreis", "nrw")
KREIS_BG = 8500.0
SMALL_BG = 150.0
NRW_REGIONS = 60
FM_FROM_ELB = 700
FIRST_AS_OF = date(2005, 1, 1)  # SGB II began in 2005; births before 1900 are not tabled
LAST_AS_OF = date(2090, 12, 31)  # offices with at least this many eLb get a Fallmanagement team


def offices(scale: str) -> list[tuple[str, str, float]]:
    """(office_id, name, target BG stock) of a scale."""
    if scale == "small":
        return [("BOR", "Borken", SMALL_BG)]
    total = sum(w for _, _, w in KREIS_OFFICES)
    kreis = [(code, name, KREIS_BG * w / total) for code, name, w in KREIS_OFFICES]
    if scale == "kreis":
        return kreis
    if scale == "nrw":
        return [(f"R{r:02d}{code}", f"{name} (Region {r:02d})", target)
                for r in range(1, NRW_REGIONS + 1) for code, name, target in kreis]
    raise ValueError(f"unknown scale {scale!r}; expected one of {', '.join(SCALES)}")


def generate(out_dir: Path, scale: str, seed: int, as_of: date,
             progress: Callable[[str], None] | None = None, *,
             hostile_names: bool = False) -> dict[str, Any]:
    """Write every export table and manifest.json into ``out_dir``; return the manifest.

    Names look like people's; ``hostile_names`` also plants the strings that test the
    renderers (formula triggers, markup, quotes) into the first office (the test suite's data).
    """
    plan = offices(scale)
    if not FIRST_AS_OF <= as_of <= LAST_AS_OF:
        raise ValueError(f"as_of {as_of.isoformat()} is outside {FIRST_AS_OF.isoformat()} .. "
                         f"{LAST_AS_OF.isoformat()}")
    out = ExportWriter(out_dir)
    iso = DateText(date(as_of.year + 8, 12, 31))
    ctx = make_ctx(as_of, iso, out, hostile_names)
    for code, name, basis, category, counts, *_ in MEASURES:
        out.add("measure_type", (code, name, basis, category, counts))
    for index, (office_id, name, target) in enumerate(plan):
        rng = random.Random(f"{seed}:{office_id}")
        out.add("office", (office_id, name))
        units = OfficePopulation(rng, as_of, office_id, target).run()
        _office(rng, ctx, units, office_id, name, scale, plant=hostile_names and index == 0)
        if progress is not None:
            progress(_office_line(out, office_id, name, units, ctx.a))
    manifest = out.close(as_of)
    if progress is not None:
        progress("files: " + ", ".join(f"{t} {v['rows']}" for t, v in manifest["tables"].items()))
    return manifest


def _office(rng: random.Random, ctx: Any, units: list[BenefitUnit], office_id: str, name: str,
            scale: str, plant: bool) -> None:
    a, out, iso = ctx.a, ctx.out, ctx.iso
    people = [p for unit in units for p in unit.members]
    for p in people:
        assign_profiles(p, rng, a)
    elb_stock = sum(1 for p in people if p.is_elb_on(a))
    classify(units, a, with_fm=scale != "small" and elb_stock >= FM_FROM_ELB)
    staffing = OfficeStaffing(rng, office_id, name, a, plant_names=plant,
                              two_teams=scale == "small")
    staffing.build(units)
    staffing.assign(units)
    if plant:
        _plant_names(units, a)
    staffing.write(out, iso)
    for unit in units:
        out.add("benefit_unit", (unit.bg_id, office_id, unit.bg_type, iso(unit.start),
                                 iso(unit.end), unit.reason))
    for unit in units:
        out.add_many("benefit_payment", payment_rows(unit, office_id, a))
    for p in people:
        out.add("person", (p.cno, p.bg_id, p.role, p.last, p.first, p.sex, iso(p.birth), p.cit,
                           p.res, p.school, p.voc, p.disabled, p.cm, p.protected))
    for p in people:
        for status, f, t in p.spells:
            out.add("benefit_spell", (f"B{out.next_id('b'):09d}", p.cno, status, iso(f), iso(t)))
    for unit in units:
        for p in unit.members:
            if not any(s == "ELB" for s, _, _ in p.spells):
                continue
            write_profiles(p, ctx)
            unemployment(p, unit, rng, ctx)
            jobs_and_measures(p, unit, rng, ctx)
            plans(p, rng, ctx)
            contacts(p, rng, ctx)


def _plant_names(units: list[BenefitUnit], a: int) -> None:
    """Give the hostile names to main persons in stock, each with a case manager, not protected.

    They go to one case manager's persons first, so that a single case load (the demo user's)
    shows every one of them; the rest spill over to colleagues.
    """
    candidates = [u.members[0] for u in units
                  if u.members[0].pclass and u.members[0].cm is not None
                  and not u.members[0].protected]
    if not candidates:
        return
    first_cm = candidates[0].cm
    ordered = ([p for p in candidates if p.cm == first_cm]
               + [p for p in candidates if p.cm != first_cm])
    for person, (last, first) in zip(ordered, HOSTILE_PERSONS, strict=False):
        person.last, person.first = last, first


def _office_line(out: ExportWriter, office_id: str, name: str, units: list[BenefitUnit],
                 a: int) -> str:
    stock = [u for u in units if u.start <= a and (u.end is None or u.end >= a)]
    persons = sum(len(u.members) for u in stock)
    elb = sum(1 for u in stock for p in u.members if p.is_elb_on(a))
    return (f"office {office_id} {name}: {len(stock)} BG, {elb} eLb, {persons} persons in stock; "
            f"{out.rows['person']} persons, {out.rows['contact']} contacts written so far")
