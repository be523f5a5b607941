"""Teams, staff and case loads of one office, sized from the office's eLb on ``as_of``.

U25 teams at about 1:75 eLb per full-time case manager, Ü25 up to 1:150, Fallmanagement (complex
profile C cases) about 1:80; one team lead per team, benefit staff, a few inactive, stand-ins.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from opal.demo.catalogue import GERMAN_FIRST_M, GERMAN_FIRST_W, GERMAN_LAST, HOSTILE_STAFF
from opal.demo.model import BenefitUnit, age, chance, pick
from opal.demo.writer import DateText, ExportWriter

RATIO = {"U25": 75.0, "UE25": 135.0, "FM": 80.0}
TEAM_NAMES = {"U25": "U25", "UE25": "Ü25", "FM": "Fallmanagement"}
MAX_CMS_PER_TEAM = 12


@dataclass
class Staff:
    staff_id: str
    team_id: str
    name: str
    function: str
    fte: str
    active: int


@dataclass
class Team:
    team_id: str
    name: str
    focus: str
    staff: list[Staff] = field(default_factory=list)

    def case_managers(self, active_only: bool = True) -> list[Staff]:
        return [s for s in self.staff if s.function in ("FALLMANAGEMENT", "ARBEITSVERMITTLUNG")
                and (s.active or not active_only)]


def _fte(rng: random.Random) -> str:
    return pick(rng, (("1.0", 66), ("0.75", 12), ("0.5", 10), ("0.8", 9), ("0.6154", 3)))


def _name(rng: random.Random) -> str:
    first = rng.choice(GERMAN_FIRST_W if chance(rng, 0.65) else GERMAN_FIRST_M)
    return f"{rng.choice(GERMAN_LAST)}, {first}"


def classify(units: list[BenefitUnit], a: int, with_fm: bool) -> None:
    """Set each eLb's team class on as_of: U25, FM (profile C, 25+) or UE25."""
    for unit in units:
        for p in unit.members:
            if not p.is_elb_on(a):
                p.pclass = ""
            elif age(p.birth, a) < 25:
                p.pclass = "U25"
            elif with_fm and p.profiles and p.profiles[-1][1] == "C":
                p.pclass = "FM"
            else:
                p.pclass = "UE25"


class OfficeStaffing:
    """Builds the teams of one office and assigns every person's case manager."""

    def __init__(self, rng: random.Random, office_id: str, office_name: str, a: int,
                 plant_names: bool, two_teams: bool) -> None:
        self.rng = rng
        self.office_id = office_id
        self.office_name = office_name
        self.a = a
        self.plant = plant_names
        self.two_teams = two_teams
        self.teams: list[Team] = []
        self.by_class: dict[str, list[Team]] = {}
        self._n_staff = 0

    def _staff(self, team: Team, function: str, fte: str, active: int = 1) -> Staff:
        self._n_staff += 1
        name = _name(self.rng)
        if self.plant and function != "LEISTUNG" and self._n_staff <= 2 * len(HOSTILE_STAFF):
            if self._n_staff % 2 == 0:
                name = HOSTILE_STAFF[self._n_staff // 2 - 1]
        s = Staff(f"{self.office_id}-{self._n_staff:03d}", team.team_id, name, function, fte,
                  active)
        team.staff.append(s)
        return s

    def build(self, units: list[BenefitUnit]) -> None:
        rng = self.rng
        load = {"U25": 0, "UE25": 0, "FM": 0}
        bg_stock = 0
        for unit in units:
            if unit.end is None or unit.end >= self.a:
                bg_stock += 1
            for p in unit.members:
                if p.pclass:
                    load[p.pclass] += 1
        factor = rng.uniform(0.88, 1.12)
        n_team = 0
        for cls in ("U25", "UE25", "FM"):
            if cls == "FM" and not load["FM"]:
                continue
            needed, ftes = load[cls] / (RATIO[cls] * factor), [_fte(rng)]
            while sum(float(f) for f in ftes) < needed:
                ftes.append(_fte(rng))
            n_cm = len(ftes)
            n_teams = 1 if self.two_teams else math.ceil(n_cm / MAX_CMS_PER_TEAM)
            self.by_class[cls] = []
            for i in range(n_teams):
                n_team += 1
                suffix = f" {i + 1}" if n_teams > 1 else ""
                team = Team(f"{self.office_id}-T{n_team:02d}",
                            f"{self.office_name} {TEAM_NAMES[cls]}{suffix}", cls)
                self.teams.append(team)
                self.by_class[cls].append(team)
                self._staff(team, "TEAMLEITUNG", "1.0")
                share = n_cm // n_teams + (1 if i < n_cm % n_teams else 0)
                for _ in range(share):
                    if cls == "FM":
                        func = "FALLMANAGEMENT"
                    elif cls == "U25":
                        func = "FALLMANAGEMENT" if chance(rng, 0.4) else "ARBEITSVERMITTLUNG"
                    else:
                        func = "FALLMANAGEMENT" if chance(rng, 0.1) else "ARBEITSVERMITTLUNG"
                    self._staff(team, func, ftes.pop())
                if chance(rng, 0.45):
                    self._staff(team, "ARBEITSVERMITTLUNG", _fte(rng), active=0)
        n_leistung = max(1, math.ceil(bg_stock / 110))
        for i in range(n_leistung):
            team = self.teams[i % len(self.teams)]
            self._staff(team, "LEISTUNG", _fte(rng), active=0 if chance(rng, 0.03) else 1)

    def assign(self, units: list[BenefitUnit]) -> None:
        """Case manager on as_of for eLb; last case manager (for contacts) for everyone else."""
        rng, a = self.rng, self.a
        pools: dict[str, tuple[list[str], list[float]]] = {}
        for cls, teams in self.by_class.items():
            ids, cum = [], []
            total = 0.0
            for team in teams:
                for s in team.case_managers():
                    total += float(s.fte)
                    ids.append(s.staff_id)
                    cum.append(total)
            pools[cls] = (ids, cum)
        everyone = [s.staff_id for t in self.teams for s in t.case_managers(active_only=False)]
        for unit in units:
            hp_cm: str | None = None
            for p in unit.members:
                if p.pclass:
                    ids, cum = pools[p.pclass if p.pclass in pools else "UE25"]
                    p.cm = None if chance(rng, 0.01) else rng.choices(ids, cum_weights=cum)[0]
                    p.hist_cm = p.cm
                    if p.cm is not None and chance(rng, 0.4):
                        p.prev_cm = rng.choice(everyone)
                        p.switch_day = a - rng.randint(60, 1500)
                elif any(s == "ELB" for s, _, _ in p.spells):
                    p.hist_cm = rng.choice(everyone)
                    p.cm = p.hist_cm if chance(rng, 0.5) else None
                if p.role == "HAUPTPERSON":
                    hp_cm = p.cm
            for p in unit.members:
                if p.role == "PARTNER" and not p.pclass and any(
                        s == "NEF" and t is None for s, _, t in p.spells):
                    p.cm = hp_cm  # an adult NEF of an active unit follows the main person

    def write(self, out: ExportWriter, iso: DateText) -> None:
        rng, a = self.rng, self.a
        for team in self.teams:
            out.add("team", (team.team_id, self.office_id, team.name, team.focus))
        for team in self.teams:
            for s in team.staff:
                out.add("staff", (s.staff_id, s.team_id, s.name, s.function, s.fte, s.active))
        seen: set[tuple[str, str, int]] = set()
        office_cms = [s for team in self.teams for s in team.case_managers()]
        if len(office_cms) < 2:
            return
        for n, absent in enumerate(office_cms):
            if n < 3:
                kinds: tuple[str, ...] = (("now", "past", "ahead")[n],)
            elif chance(rng, 0.1):
                kinds = tuple(rng.sample(("now", "past", "ahead"), rng.randint(1, 2)))
            else:
                continue
            mates = [c for c in office_cms if c is not absent and c.team_id == absent.team_id]
            pool = mates or [c for c in office_cms if c is not absent]
            for kind in kinds:
                cover = rng.choice(pool)
                if kind == "now":
                    f = a - rng.randint(0, 20)
                    t: int | None = None if chance(rng, 0.2) else a + rng.randint(0, 30)
                elif kind == "past":
                    f = a - rng.randint(60, 400)
                    t = f + rng.randint(5, 30)
                else:
                    f = a + rng.randint(3, 60)
                    t = f + rng.randint(5, 20)
                k = (cover.staff_id, absent.staff_id, f)
                if k in seen:
                    continue
                seen.add(k)
                out.add("stand_in", (cover.staff_id, absent.staff_id, iso(f), iso(t)))
