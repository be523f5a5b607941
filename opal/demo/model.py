"""Plain record classes and calendar helpers the demo simulation shares (dates are day numbers)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date

from opal.dates import age_on


class Person:
    """One person of a benefit unit with everything the export says about them."""

    __slots__ = ("cno", "bg_id", "role", "last", "first", "sex", "birth", "cit", "res", "school",
                 "voc", "disabled", "cm", "hist_cm", "prev_cm", "switch_day", "protected",
                 "spells", "profiles", "pclass", "refugee")

    def __init__(self, cno: str, bg_id: str, role: str, sex: str, birth: int) -> None:
        self.cno = cno
        self.bg_id = bg_id
        self.role = role
        self.sex = sex
        self.birth = birth
        self.last = ""
        self.first = ""
        self.cit = "DE"
        self.res = "DEUTSCH"
        self.school: str | None = None
        self.voc: str | None = None
        self.disabled = 0
        self.cm: str | None = None  # case manager on as_of (exported)
        self.hist_cm: str | None = None  # who held the contacts (current or last)
        self.prev_cm: str | None = None  # case manager before switch_day
        self.switch_day = 0
        self.protected = 0
        self.spells: list[tuple[str, int, int | None]] = []  # (status, from, to or None)
        self.profiles: list[tuple[int, str]] = []
        self.pclass = ""  # team class on as_of (U25, UE25, FM) or "" when not eLb
        self.refugee = False

    def elb_intervals(self, as_of: int) -> list[tuple[int, int, bool]]:
        """ELB spells as (from, last day clipped to as_of, open): the person's eLb time."""
        return [(f, as_of if t is None else t, t is None) for s, f, t in self.spells
                if s == "ELB"]

    def is_elb_on(self, d: int) -> bool:
        return any(s == "ELB" and f <= d and (t is None or d <= t) for s, f, t in self.spells)

    def first_day(self) -> int:
        return min(f for _, f, _ in self.spells)


class BenefitUnit:
    """A Bedarfsgemeinschaft with its members."""

    __slots__ = ("bg_id", "bg_type", "start", "end", "reason", "members", "group")

    def __init__(self, bg_id: str, bg_type: str, start: int, end: int | None, group: str) -> None:
        self.bg_id = bg_id
        self.bg_type = bg_type
        self.start = start
        self.end = end
        self.reason: str | None = None
        self.members: list[Person] = []
        self.group = group  # REG, REF, UA


def years_later(day_no: int, years: int) -> int:
    """Day number of the anniversary ``years`` after ``day_no`` (29 Feb -> 1 Mar)."""
    d = date.fromordinal(day_no)
    try:
        return date(d.year + years, d.month, d.day).toordinal()
    except ValueError:
        return date(d.year + years, 3, 1).toordinal()


def age(birth: int, on: int) -> int:
    return age_on(date.fromordinal(birth), date.fromordinal(on))


def pick(rng: random.Random, items: Sequence[tuple[str, float]]) -> str:
    """Draw one code from (code, weight) pairs."""
    total = 0.0
    for _, w in items:
        total += w
    x = rng.random() * total
    for code, w in items:
        x -= w
        if x < 0:
            return code
    return items[-1][0]


def chance(rng: random.Random, p: float) -> bool:
    return rng.random() < p
