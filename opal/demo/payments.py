"""``benefit_payment`` of the demo export: the monthly claim of every BG at plausible 2026 rates.

For every BG and every month with a day of benefit (up to the month of ``as_of``) one row:
``llu`` the Regelbedarfe of the members present that month (Regelbedarfsstufen 2026: 563 EUR a
single adult, 506 a partner, 451 an adult in someone else's BG and 18-24-year-old children, 471
/ 390 / 357 EUR children of 14-17 / 6-13 / 0-5) plus the single parent's Mehrbedarf, less
income for a share of BG; ``luh`` rent and heating by BG size, about 450-750 EUR, varying by
office and BG. Earlier years scale with the Regelbedarf of their year. The variation comes from
a hash of the ids (no draw from the office's random stream), so adding this table left every
other table of a seed unchanged, and the output is the same for the same seed.
"""

from __future__ import annotations

import zlib
from datetime import date
from functools import cache

from opal import dates
from opal.demo.model import BenefitUnit, age

#: Regelbedarfsstufe 1 by year (EUR); the other Stufen scale with it
RBS1_BY_YEAR = {2005: 345, 2006: 345, 2007: 347, 2008: 351, 2009: 359, 2010: 359, 2011: 364,
                2012: 374, 2013: 382, 2014: 391, 2015: 399, 2016: 404, 2017: 409, 2018: 416,
                2019: 424, 2020: 432, 2021: 446, 2022: 449, 2023: 502, 2024: 563, 2025: 563,
                2026: 563}
RBS1, RBS2, RBS3 = 563, 506, 451
CHILD_RATES = ((6, 357), (14, 390), (18, 471))  # (under age, EUR)
#: rent and heating (EUR) for a BG of 1, 2, 3, 4, 5+ persons in an average office of the Kreis
LUH_BY_SIZE = (470, 560, 650, 720, 790)


def _unit(text: str) -> float:
    """A fixed number in [0, 1) from ``text``: the same for the same id on every run."""
    return (zlib.crc32(text.encode("utf-8")) & 0xFFFFFF) / 0x1000000


@cache
def _month_days(idx: int) -> tuple[int, int]:
    return dates.day(dates.month_first(idx)), dates.day(dates.month_last(idx))


def _year_factor(year: int) -> float:
    return RBS1_BY_YEAR.get(year, RBS1_BY_YEAR[2005] if year < 2005 else RBS1) / RBS1


def _cents(euros: float) -> str:
    cents = max(0, round(euros * 100))
    return f"{cents // 100}.{cents % 100:02d}"


def payment_rows(unit: BenefitUnit, office_id: str, as_of: int
                 ) -> list[tuple[str, str, str, str]]:
    """``(bg_id, month, llu, luh)`` for every month of ``unit`` with a day of benefit."""
    start, end = unit.start, as_of if unit.end is None else min(unit.end, as_of)
    if end < start:
        return []
    office_level = 0.9 + 0.22 * _unit("office:" + office_id)
    bg_level = 0.85 + 0.35 * _unit("bg:" + unit.bg_id)
    earner = _unit("income:" + unit.bg_id)
    income_share = 0.0 if earner < 0.7 else 0.1 + (earner - 0.7) * 1.6  # 30 %: 10-58 % less
    spans = []
    for p in unit.members:
        if not p.spells:
            continue
        first = min(f for _, f, _ in p.spells)
        last = max(as_of if t is None else t for _, _, t in p.spells)
        spans.append((p, first, last))
    adults_in_bg = sum(1 for p in unit.members if p.role in ("HAUPTPERSON", "PARTNER"))
    rows = []
    for idx in range(dates.month_of(date.fromordinal(start)),
                     dates.month_of(date.fromordinal(end)) + 1):
        first_day, last_day = _month_days(idx)
        present = [p for p, f, t in spans if f <= last_day and t >= first_day]
        if not present:
            continue
        llu = 0.0
        kids_u7 = kids_u16 = 0
        for p in present:
            years = age(p.birth, last_day)
            if p.role == "HAUPTPERSON":
                llu += RBS1 if adults_in_bg < 2 else RBS2
            elif p.role == "PARTNER":
                llu += RBS2
            elif p.role == "SONSTIGE" or years >= 18:
                llu += RBS3
            else:
                llu += next(rate for limit, rate in CHILD_RATES if years < limit)
                kids_u7 += years < 7
                kids_u16 += years < 16
        if unit.bg_type == "ALLEINERZIEHEND" and kids_u16:
            share = 0.36 if kids_u7 or kids_u16 >= 2 else 0.12
            llu += RBS1 * max(share, min(0.6, 0.12 * kids_u16))
        year = dates.month_first(idx).year
        llu = llu * _year_factor(year) * (1 - income_share)
        size = min(len(present), len(LUH_BY_SIZE))
        luh = (LUH_BY_SIZE[size - 1] * office_level * bg_level
               * max(0.6, 1 - 0.025 * (2026 - year)))
        rows.append((unit.bg_id, dates.month_key(idx), _cents(llu), _cents(luh)))
    return rows
