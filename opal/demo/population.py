"""Benefit units and their members over 15 years: a flow model (monthly inflows x durations).

The stock on ``as_of`` is the sum of inflows that last: inflow rates are scaled so that the
expected stock of BG hits the office's target; refugee inflows follow the calendar (2016-2018
recognitions, Ukraine from June 2022) so that the shares move over time as the figures did.
"""

from __future__ import annotations

import math
import random
from datetime import date

from opal.demo.catalogue import FOREIGN_NAMES, GERMAN_FIRST_M, GERMAN_FIRST_W, GERMAN_LAST
from opal.demo.catalogue import OTHER_CITIZENSHIP as OTHER
from opal.demo.model import BenefitUnit, Person, age, chance, pick, years_later

#: duration mixtures (weight, mean days) per inflow group
DURATIONS: dict[str, tuple[tuple[float, float], ...]] = {
    "REG": ((0.46, 240.0), (0.33, 800.0), (0.21, 3000.0)),
    "REF": ((0.25, 300.0), (0.40, 1000.0), (0.35, 3000.0)),
    "UA": ((0.30, 300.0), (0.40, 800.0), (0.30, 2500.0)),
}
BG_TYPES: dict[str, tuple[tuple[str, float], ...]] = {
    "REG": (("SINGLE", 54), ("ALLEINERZIEHEND", 19), ("PAAR_OHNE_KIND", 9),
            ("PAAR_MIT_KIND", 12), ("SONSTIGE", 3)),
    "REF": (("SINGLE", 38), ("ALLEINERZIEHEND", 12), ("PAAR_OHNE_KIND", 8),
            ("PAAR_MIT_KIND", 39), ("SONSTIGE", 3)),
    "UA": (("SINGLE", 30), ("ALLEINERZIEHEND", 36), ("PAAR_OHNE_KIND", 9),
           ("PAAR_MIT_KIND", 20), ("SONSTIGE", 5)),
}
END_REASONS = (("ERWERBSEINKOMMEN", 48), ("SONST_EINKOMMEN", 11), ("UMZUG", 18),
               ("VORRANGIGE_LEISTUNG", 11), ("SONSTIGES", 12))
UKRAINE_FROM = date(2022, 6, 1).toordinal()
SIM_YEARS_BEFORE = 25  # inflows before the 15-year window that may still last into it
STOCK_FUDGE = 1.02  # the age cap (67) and dropped units cost about this much stock


def _rates(year: int, month: int) -> dict[str, float]:
    """Relative monthly inflow per group on the calendar (regular inflow = 1)."""
    t = year + (month - 1) / 12
    reg = 1.35 if t < 2013 else 1.15 if t < 2016 else 0.75 if 2019.5 <= t < 2022 else 1.0
    if t < 2014.5:
        ref = 0.04
    elif t < 2015.75:
        ref = 0.08
    elif t < 2016.4:
        ref = 0.20
    elif t < 2019.0:
        ref = 0.50
    elif t < 2022.0:
        ref = 0.12
    else:
        ref = 0.10
    ua = 0.0
    if date(year, month, 1).toordinal() >= UKRAINE_FROM:
        ua = 1.1 if t < 2023.0 else (0.35 if t < 2024.0 else 0.12)
    return {"REG": reg, "REF": ref, "UA": ua}


def _survival(group: str, days: float) -> float:
    return sum(w * math.exp(-days / mu) for w, mu in DURATIONS[group])


def _months(as_of: date) -> list[tuple[int, int, int, int]]:
    """(year, month, first day, last day) from the simulation start to the month of as_of."""
    out = []
    y, m = as_of.year - 15 - SIM_YEARS_BEFORE, as_of.month
    while (y, m) <= (as_of.year, as_of.month):
        first = date(y, m, 1).toordinal()
        ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
        out.append((y, m, first, date(ny, nm, 1).toordinal() - 1))
        y, m = ny, nm
    return out


def inflow_scale(as_of: date, target_bg: float) -> float:
    """Monthly regular inflow that makes the expected BG stock on as_of equal ``target_bg``."""
    a = as_of.toordinal()
    expected = 0.0
    for y, m, first, last in _months(as_of):
        mid = (first + min(last, a)) / 2
        if mid > a:
            continue
        for group, r in _rates(y, m).items():
            if r:
                expected += r * _survival(group, a - mid)
    return target_bg * STOCK_FUDGE / expected


def _duration(rng: random.Random, group: str) -> int:
    x = rng.random()
    for w, mu in DURATIONS[group]:
        x -= w
        if x < 0:
            return int(rng.expovariate(1 / mu)) + 14
    return int(rng.expovariate(1 / DURATIONS[group][-1][1])) + 14


class Namer:
    """Draws names and citizenship for a household of a given origin."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def origin(self, group: str, start: int) -> tuple[str, str, str]:
        """Return (citizenship, residence status, name pool) of a new household."""
        rng = self.rng
        if group == "UA":
            return "UA", "UKRAINE_24", "UA"
        if group == "REF":
            if date.fromordinal(start).year < 2019:
                cit = pick(rng, (("SY", 55), ("IQ", 20), ("AF", 18), ("ER", 4), ("IR", 3)))
            else:
                cit = pick(rng, (("SY", 40), ("AF", 30), ("IQ", 20), ("TR", 6), ("ER", 4)))
            res = pick(rng, (("AE_FLUCHT", 72), ("GESTATTUNG", 15), ("DULDUNG", 13)))
            pool = cit if cit in FOREIGN_NAMES else "SY"
            return cit, res, pool
        if chance(rng, 0.70):
            return "DE", "DEUTSCH", "DE"
        x = rng.random() * sum(w for *_, w in OTHER)
        for cit, res, pool, w in OTHER:
            x -= w
            if x < 0:
                return cit, res, pool
        return "TR", "SONSTIGE", "TR"

    def last(self, pool: str) -> str:
        if pool == "DE":
            return self.rng.choice(GERMAN_LAST)
        return self.rng.choice(FOREIGN_NAMES[pool][0])

    def first(self, pool: str, sex: str) -> str:
        rng = self.rng
        if pool == "DE":
            return rng.choice(GERMAN_FIRST_W if sex == "W" else GERMAN_FIRST_M)
        names = FOREIGN_NAMES[pool]
        return rng.choice(names[2] if sex == "W" else names[1])


def _school(rng: random.Random, pool: str, refugee: bool) -> str | None:
    if refugee:
        return pick(rng, (("AUSLAND", 55), ("OHNE", 30), ("", 15))) or None
    if pool != "DE":
        return pick(rng, (("AUSLAND", 45), ("HAUPT", 20), ("OHNE", 15), ("", 20))) or None
    return pick(rng, (("OHNE", 14), ("HAUPT", 40), ("MITTLERE_REIFE", 28), ("ABITUR", 10),
                      ("", 8))) or None


def _vocational(rng: random.Random, group: str) -> str | None:
    if group == "UA":
        return pick(rng, (("OHNE", 35), ("BETRIEBLICH", 25), ("HOCHSCHULE", 30), ("", 10))) or None
    return pick(rng, (("OHNE", 56), ("BETRIEBLICH", 32), ("HOCHSCHULE", 5), ("", 7))) or None


class OfficePopulation:
    """Simulates the benefit units of one office; ids come from the caller's counters."""

    def __init__(self, rng: random.Random, as_of: date, office_key: str, target_bg: float) -> None:
        self.rng = rng
        self.as_of = as_of
        self.a = as_of.toordinal()
        self.t0 = years_later(self.a, -15)
        self.key = office_key
        self.target = target_bg
        self.namer = Namer(rng)
        self.n_bg = 0
        self.n_person = 0

    def run(self) -> list[BenefitUnit]:
        rng, a, t0 = self.rng, self.a, self.t0
        scale = inflow_scale(self.as_of, self.target)
        units: list[BenefitUnit] = []
        for y, m, first, last in _months(self.as_of):
            last = min(last, a)
            for group, r in _rates(y, m).items():
                x = r * scale
                n = int(x) + (1 if rng.random() < x - int(x) else 0)
                for _ in range(n):
                    start = rng.randint(first, last)
                    end: int | None = start + _duration(rng, group)
                    assert end is not None
                    if end < t0:
                        continue
                    if start < t0:
                        start = t0 + rng.randrange(0, max(1, min(end, a, t0 + 30) - t0 + 1))
                    if end >= a:
                        end = None
                    unit = self._unit(group, start, end)
                    if unit is not None:
                        units.append(unit)
        return units

    def _ids(self) -> tuple[str, str]:
        self.n_bg += 1
        return f"BG{self.key}{self.n_bg:06d}", self.key

    def _person(self, bg_id: str, role: str, sex: str, birth: int) -> Person:
        self.n_person += 1
        return Person(f"K{self.key}{self.n_person:06d}", bg_id, role, sex, birth)

    def _unit(self, group: str, start: int, end: int | None) -> BenefitUnit | None:
        rng, a = self.rng, self.a
        bg_type = pick(rng, BG_TYPES[group])
        if bg_type == "SINGLE":
            hp_age = rng.randint(18, 24) if chance(rng, 0.38) else rng.randint(25, 62)
        elif bg_type == "ALLEINERZIEHEND":
            hp_age = int(rng.triangular(18, 50, 27))
        else:
            hp_age = rng.randint(19, 26) if chance(rng, 0.25) else rng.randint(20, 60)
        if group != "REG":
            hp_age = min(hp_age, rng.randint(19, 55))
        hp_birth = start - hp_age * 365 - rng.randrange(365)
        reason = None if end is None else pick(rng, END_REASONS)
        hp67 = years_later(hp_birth, 67)
        if end is None or end >= hp67:
            if hp67 - 1 <= a:
                end, reason = hp67 - 1, "VORRANGIGE_LEISTUNG"
        if end is not None and end < start:
            return None
        bg_id, _ = self._ids()
        unit = BenefitUnit(bg_id, bg_type, start, end, group)
        unit.reason = reason
        cit, res, pool = self.namer.origin(group, start)
        hp_sex = "W" if bg_type == "ALLEINERZIEHEND" and chance(rng, 0.9) else (
            "M" if chance(rng, 0.58) else "W")
        if chance(rng, 0.002):
            hp_sex = "D"
        family = self.namer.last(pool)
        hp = self._adult(unit, "HAUPTPERSON", hp_sex, hp_birth, pool, family)
        unit.members.append(hp)
        if bg_type in ("PAAR_OHNE_KIND", "PAAR_MIT_KIND"):
            p_birth = hp_birth + rng.randint(-5 * 365, 4 * 365)
            p_birth = max(min(p_birth, start - 18 * 365), start - 63 * 365)
            p_sex = "W" if hp_sex == "M" else "M"
            last = family if chance(rng, 0.75) else self.namer.last(pool)
            unit.members.append(self._adult(unit, "PARTNER", p_sex, p_birth, pool, last))
        if bg_type == "SONSTIGE":
            s_birth = start - rng.randint(18, 40) * 365 - rng.randrange(365)
            unit.members.append(self._adult(unit, "SONSTIGE", rng.choice("MW"), s_birth, pool,
                                            family))
        if bg_type in ("ALLEINERZIEHEND", "PAAR_MIT_KIND"):
            n = int(pick(rng, (("1", 50), ("2", 30), ("3", 14), ("4", 6))))
            if group != "REG" and bg_type == "PAAR_MIT_KIND":
                n += rng.randint(0, 2)
            ref = a if end is None else end
            # the youngest child: under 17 on ref, born when the parent was 17 to 44
            lo, hi = max(ref - 17 * 365, hp_birth + 17 * 365), min(ref, hp_birth + 44 * 365)
            birth = rng.randint(lo, hi) if lo <= hi else hp_birth
            youngest: Person | None = None
            for _ in range(n):
                if birth < hp_birth + 17 * 365:
                    break
                kid = self._kid(unit, birth, pool, family)
                if kid is not None:
                    unit.members.append(kid)
                    youngest = youngest or kid
                birth -= rng.randint(400, 1800)
            if youngest is None:
                unit.bg_type = "SINGLE" if bg_type == "ALLEINERZIEHEND" else "PAAR_OHNE_KIND"
            elif bg_type == "ALLEINERZIEHEND" and age(youngest.birth, ref) >= 18:
                unit.bg_type = "SONSTIGE"  # a parent with grown-up children
        for p in unit.members:
            p.cit, p.res, p.refugee = cit, res, group != "REG"
            if p.birth > years_later(a, -18):
                p.school = None if p.birth > years_later(a, -15) else pick(
                    rng, (("HAUPT", 30), ("MITTLERE_REIFE", 30), ("", 40))) or None
        if chance(rng, 0.005):
            for p in unit.members:
                p.protected = 1
        return unit

    def _adult(self, unit: BenefitUnit, role: str, sex: str, birth: int, pool: str,
               last: str) -> Person:
        rng, a, t0 = self.rng, self.a, self.t0
        p = self._person(unit.bg_id, role, sex, birth)
        p.last, p.first = last, self.namer.first(pool, sex)
        p.school = _school(rng, pool, unit.group != "REG")
        p.voc = _vocational(rng, unit.group)
        p.disabled = 1 if chance(rng, 0.02 + 0.0025 * max(0, age(birth, unit.start) - 18)) else 0
        end = unit.end
        p67 = years_later(birth, 67) - 1
        if end is None and p67 <= a:
            end = p67
        elif end is not None and p67 < end:
            end = p67
        status = "NEF" if role == "PARTNER" and chance(rng, 0.05) else "ELB"
        spells: list[tuple[str, int, int | None]] = [(status, unit.start, end)]
        if status == "ELB" and chance(rng, 0.35):
            cursor = unit.start
            floor = max(t0, years_later(birth, 18), UKRAINE_FROM if unit.group == "UA" else t0)
            for _ in range(rng.randint(1, 2)):
                e = cursor - rng.randint(30, 540) - 1
                f = e - int(rng.expovariate(1 / 300)) - 30
                if e < floor:
                    break
                f = max(f, floor)
                spells.insert(0, ("ELB", f, e))
                cursor = f
        p.spells = [s for s in spells if s[2] is None or s[1] <= s[2]]
        return p

    def _kid(self, unit: BenefitUnit, birth: int, pool: str, last: str) -> Person | None:
        rng, a = self.rng, self.a
        sex = rng.choice("MW")
        p = self._person(unit.bg_id, "KIND", sex, birth)
        p.last, p.first = last, self.namer.first(pool, sex)
        f = max(unit.start, birth)
        end = unit.end
        b25 = years_later(birth, 25) - 1
        if b25 < f:
            self.n_person -= 1
            return None
        if (end is None and b25 <= a) or (end is not None and b25 < end):
            end = b25
        b15 = years_later(birth, 15)
        spells: list[tuple[str, int, int | None]] = []
        if f < b15:
            nef_to = b15 - 1 if end is None or end >= b15 else end
            spells.append(("NEF", f, None if nef_to >= a and end is None and b15 > a else nef_to))
        if (end is None or end >= b15) and b15 <= a:
            spells.append(("ELB", max(f, b15), end))
        p.spells = spells
        p.disabled = 1 if chance(rng, 0.01) else 0
        return p
