"""Per-person histories inside the benefit time: profiles, unemployment, jobs, measures, plans,
contacts. Everything starts on or after the person's first spell and happens by ``as_of``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from opal.demo.catalogue import (
    MEASURES,
    PLAIN_PROVIDERS,
    PROVIDERS,
    WZ_INTEGRATION,
    WZ_MARGINAL,
)
from opal.demo.model import BenefitUnit, Person, age, chance, pick, years_later
from opal.demo.writer import DateText, ExportWriter

EGV_LAST_SIGNED = date(2023, 6, 30).toordinal()
KOOP_FROM = date(2023, 7, 1).toordinal()
EGV_VALID_UNTIL = date(2023, 12, 31).toordinal()
P16K_FROM = date(2023, 7, 1).toordinal()
_MEASURE = {m[0]: m for m in MEASURES}
_NO_PROVIDER = {"P16_EGZ", "P16B", "P16C"}


@dataclass
class Ctx:
    """What every history needs: the data date, windows, formatter and output."""

    a: int
    w5: int  # first day of the five years of contacts and plans
    w6: int  # first day of measures and job history
    iso: DateText
    out: ExportWriter
    hostile: bool = False  # --hostile-names: the renderers' test strings among the values


def make_ctx(as_of: date, iso: DateText, out: ExportWriter, hostile: bool = False) -> Ctx:
    a = as_of.toordinal()
    return Ctx(a, years_later(a, -5), years_later(a, -6), iso, out, hostile)


def assign_profiles(p: Person, rng: random.Random, a: int) -> None:
    """Profile group A/B/C from the first eLb day, with later changes for some."""
    ivs = p.elb_intervals(a)
    if not ivs or chance(rng, 0.06):
        return
    first = ivs[0][0]
    if a - ivs[-1][0] < 60 and chance(rng, 0.5):
        return
    start = min(first + rng.randint(0, 40), a)
    long_term = a - first > 3 * 365
    grp = pick(rng, (("A", 22), ("B", 40), ("C", 38)) if long_term else
               (("A", 40), ("B", 40), ("C", 20)))
    p.profiles = [(start, grp)]
    n_changes = 0 if not chance(rng, 0.45) else (2 if chance(rng, 0.3) else 1)
    d = start
    for _ in range(n_changes):
        if a - d < 120:
            break
        d = rng.randint(d + 90, a)
        grp = pick(rng, (("A", 1), ("B", 1))) if grp == "C" else (
            "B" if grp == "A" else pick(rng, (("A", 1), ("C", 1))))
        p.profiles.append((d, grp))


def write_profiles(p: Person, ctx: Ctx) -> None:
    for d, grp in p.profiles:
        ctx.out.add("profile", (p.cno, ctx.iso(d), grp))


def unemployment(p: Person, unit: BenefitUnit, rng: random.Random, ctx: Ctx) -> None:
    """Alternating ARBEITSLOS / ARBEITSUCHEND / neither within the eLb time of adults."""
    a, out, iso = ctx.a, ctx.out, ctx.iso
    small_kids = unit.bg_type == "ALLEINERZIEHEND" and p.role == "HAUPTPERSON"
    never = 0.45 if small_kids else 0.17
    if chance(rng, never):
        return
    adult_from = years_later(p.birth, 18)
    for f, t, is_open in p.elb_intervals(a):
        f = max(f, adult_from)
        if f > t:
            continue
        d = f + rng.randint(0, 30)
        al = chance(rng, 0.62)
        while d <= t:
            dur = int(rng.expovariate(1 / (450 if al else 260))) + 20
            e = d + dur - 1
            last = e >= t
            if last:
                e = t
            status = "ARBEITSLOS" if al else ("ARBEITSUCHEND" if chance(rng, 0.35) else "")
            if status:
                to = None if last and is_open else e
                out.add("unemployment_spell", (f"U{out.next_id('u'):09d}", p.cno, status,
                                               iso(d), iso(to)))
            d = e + 1 + (0 if al else rng.randint(0, 3))
            al = not al


def _employment(ctx: Ctx, p: Person, kind: str, s: int, e: int | None, sub: int, wz: str | None,
                full: int) -> None:
    if e is not None and e >= ctx.a + 200:
        e = None
    ctx.out.add("employment_spell", (f"E{ctx.out.next_id('e'):09d}", p.cno, kind, ctx.iso(s),
                                     ctx.iso(e), sub, wz, full))


def _wz(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str | None:
    return None if chance(rng, 0.03) else pick(rng, table)


def _participation(ctx: Ctx, rng: random.Random, p: Person, code: str, entry: int,
                   force_end: int | None = None,
                   reason: str | None = None) -> tuple[int, int | None]:
    """Write one participation; return (entry, the day it ends or None while running)."""
    a = ctx.a
    _, _, basis, _, _, mean, c_lo, c_hi = _MEASURE[code]
    planned = force_end if force_end is not None else entry + max(
        5, int(mean * rng.uniform(0.6, 1.4)))
    exit_day: int | None = None
    frac = 1.0
    if reason is None:
        r = rng.random()
        if r < 0.15:
            reason, exit_day = "ABBRUCH", entry + int((planned - entry) * rng.uniform(0.05, 0.8))
        elif r < 0.24:
            reason, exit_day = "INTEGRATION", entry + int((planned - entry) * rng.uniform(0.3, 1))
        elif r < 0.31:
            reason, exit_day = "SONSTIGES", entry + int((planned - entry) * rng.uniform(0.1, 1))
        else:
            reason, exit_day = "REGULAER", planned
    else:
        exit_day = planned
    if exit_day is not None and exit_day > a:
        exit_day, reason = None, None
    if exit_day is not None and reason != "REGULAER":
        frac = max(0.1, (exit_day - entry) / max(1, planned - entry))
    provider = None if basis in _NO_PROVIDER or code == "MAT-MAG" else rng.choice(PROVIDERS)
    if provider is not None and not ctx.hostile:
        provider = PLAIN_PROVIDERS.get(provider, provider)
    cost = None if chance(rng, 0.06) else f"{rng.uniform(c_lo, c_hi) * frac:.2f}"
    ctx.out.add("measure_participation", (
        f"M{ctx.out.next_id('m'):09d}", p.cno, code, provider, ctx.iso(entry), ctx.iso(planned),
        ctx.iso(exit_day), reason, cost))
    return entry, exit_day if exit_day is not None else (planned if planned <= a else None)


def _choose_measure(rng: random.Random, p: Person, d: int, elb_since: int) -> str:
    yrs = age(p.birth, d)
    if yrs < 25:
        pool = [("MAT-BOR", 30), ("16H-JUG", 12), ("AGH-JUW", 12), ("AVGS-BEW", 15),
                ("FBW-EDV", 5), ("MAT-MAG", 10), ("AVGS-AKT", 10), ("16A-PSB", 3)]
    else:
        pool = [("AVGS-AKT", 16), ("AVGS-BEW", 10), ("MAT-MAG", 10), ("MAT-AKC", 10),
                ("FBW-BKF", 3), ("FBW-PFH", 4), ("FBW-LAG", 2), ("FBW-STP", 4), ("FBW-EDV", 4),
                ("FBW-KBM", 1), ("AGH-MAE", 9), ("16A-KIB", 3), ("16A-SDB", 4),
                ("16A-SUB", 2), ("16A-PSB", 3), ("16F-COA", 5), ("AVGS-GRZ", 1),
                ("16C-SEL", 1)]
        if p.refugee:
            pool.append(("MAT-SPR", 14))
        if d - elb_since >= 5 * 365:
            pool.append(("16I-TAM", 3))
        if d - elb_since >= 2 * 365:
            pool.append(("16E-LZA", 2))
    if d >= P16K_FROM:
        pool.append(("16K-GAN", 4))
    return pick(rng, pool)


def jobs_and_measures(p: Person, unit: BenefitUnit, rng: random.Random, ctx: Ctx) -> None:
    """Integrations (ending or alongside benefits), marginal jobs, measures, public jobs."""
    a = ctx.a
    ivs = p.elb_intervals(a)
    if not ivs:
        return
    first = ivs[0][0]
    adult = years_later(p.birth, 18)
    # the integration that ended the benefit unit
    if unit.reason == "ERWERBSEINKOMMEN" and unit.end is not None and p.role in (
            "HAUPTPERSON", "PARTNER", "SONSTIGE") and (p.role == "HAUPTPERSON" or chance(rng, .3)):
        last_elb = ivs[-1][1]
        # income counts only from a later month: some stay eLb for months after the start
        s = max(min(last_elb + 1 - rng.randint(0, 150), a), ivs[-1][0])
        _integration(ctx, rng, p, s)
    for f, t, _ in ivs:
        f = max(f, ctx.w6, years_later(p.birth, 15))
        if f > t:
            continue
        years = (t - f + 1) / 365
        # integrations alongside benefits (Aufstocker, apprenticeships of young people)
        if chance(rng, min(0.9, 0.04 * years)) and t - f > 30:
            _integration(ctx, rng, p, rng.randint(f, t))
        if chance(rng, min(0.8, 0.04 * years)) and t >= adult:
            s = rng.randint(max(f, adult), t)
            e = s + int(rng.expovariate(1 / 300)) + 30
            _employment(ctx, p, "GERINGFUEGIG", s, None if e > a else e, 0,
                        _wz(rng, WZ_MARGINAL), 0)
        # measures
        rate = 0.55 if age(p.birth, t) < 25 else 0.32
        n = int(years * rate) + (1 if rng.random() < years * rate % 1 else 0)
        for _ in range(n):
            d = rng.randint(f, t)
            code = _choose_measure(rng, p, d, first)
            entry, end = _participation(ctx, rng, p, code, d)
            if code in ("16I-TAM", "16E-LZA"):
                _employment(ctx, p, "OEFF_GEFOERDERT", entry, end, 1,
                            pick(rng, (("Q", 3), ("O", 3), ("S", 2), ("N", 1))), 1)


def _integration(ctx: Ctx, rng: random.Random, p: Person, s: int) -> None:
    young = age(p.birth, s) < 27
    kind = pick(rng, (("SVB", 70), ("AUSBILDUNG", 22), ("SELBSTAENDIG", 8)) if young else
                (("SVB", 88), ("AUSBILDUNG", 3), ("SELBSTAENDIG", 9)))
    sub = 1 if chance(rng, 0.12) and kind != "AUSBILDUNG" else 0
    e = None if chance(rng, 0.55) else s + int(rng.expovariate(1 / 450)) + 30
    if e is not None and e > ctx.a:
        e = None if chance(rng, 0.7) else e
    full = 1 if kind == "AUSBILDUNG" or chance(rng, 0.6) else 0
    _employment(ctx, p, kind, s, e, sub, _wz(rng, WZ_INTEGRATION), full)
    if sub:
        code = ("EGZ-SB" if p.disabled else "EGZ") if kind == "SVB" else "16B-ESG"
        _participation(ctx, rng, p, code, s)
    elif kind == "SVB" and chance(rng, 0.08):
        _participation(ctx, rng, p, "16F-NAB", s)  # coaching in the first months of the job


def plans(p: Person, rng: random.Random, ctx: Ctx) -> None:
    """EGV (signed until 2023-06-30) and Kooperationsplan chains, reviewed about every 6 months."""
    a, out, iso = ctx.a, ctx.out, ctx.iso
    if chance(rng, 0.07):
        return
    stall = rng.randint(a - 540, a) if chance(rng, 0.12) else None
    for f, t, is_open in p.elb_intervals(a):
        if t < ctx.w5:
            continue
        s = (ctx.w5 + rng.randint(0, 180)) if f < ctx.w5 else f + rng.randint(7, 60)
        chain: list[tuple[int, int, int | None, str, str]] = []
        while s <= t:
            ptype = "EGV" if s <= EGV_LAST_SIGNED else "KOOPERATIONSPLAN"
            review = s + rng.randint(170, 190)
            nxt = s + rng.randint(150, 240)
            if ptype == "EGV" and nxt > EGV_LAST_SIGNED:
                nxt = max(s + 1, rng.randint(KOOP_FROM, EGV_VALID_UNTIL))
            chain.append((s, review, None, "AKTIV", ptype))
            if stall is not None and nxt > stall:
                break
            if nxt <= t:
                chain[-1] = (s, review, nxt - 1, "ERSETZT", ptype)
            s = nxt
        if chain and chain[-1][3] == "AKTIV":
            s_, review, _, _, ptype = chain[-1]
            if not is_open:
                chain[-1] = (s_, review, t, "ABGELAUFEN", ptype)
            elif ptype == "EGV" and a > EGV_VALID_UNTIL:
                chain[-1] = (s_, review, EGV_VALID_UNTIL, "ABGELAUFEN", ptype)
        for s_, review, end, status, ptype in chain:
            out.add("integration_plan", (f"P{out.next_id('p'):09d}", p.cno, ptype, iso(s_),
                                         iso(review), iso(end), status))


_CHANNELS = (("PERSOENLICH", 55), ("TELEFON", 25), ("VIDEO", 5), ("SCHRIFTLICH", 10),
             ("GRUPPE", 5))


def contacts(p: Person, rng: random.Random, ctx: Ctx) -> None:
    """Contacts every 1-3 months in the eLb time of the last five years, by the case manager."""
    staff = p.hist_cm
    if staff is None:
        return
    a, out, iso = ctx.a, ctx.out, ctx.iso
    grp = p.profiles[-1][1] if p.profiles else "B"
    gap = 45 if age(p.birth, a) < 25 else {"A": 75, "B": 60, "C": 50}[grp]
    miss = 0.3 if chance(rng, 0.12) else 0.06
    stop = a - rng.randint(100, 500) if chance(rng, 0.06) else a
    open_now = False
    rows = []
    for f, t, is_open in p.elb_intervals(a):
        if t < ctx.w5:
            continue
        d = max(f, ctx.w5) + rng.randint(0, 40)
        end = min(t, stop)
        while d <= end:
            who = p.prev_cm if p.prev_cm is not None and d < p.switch_day else staff
            r = rng.random()
            if a - d < 7 and r < 0.3:
                outcome = "OFFEN"
            elif r < 1 - miss - 0.08:
                outcome = "WAHRGENOMMEN"
            elif r < 1 - 0.08:
                outcome = "NICHT_ERSCHIENEN"
            else:
                outcome = "ABGESAGT"
            channel = pick(rng, _CHANNELS) if outcome != "NICHT_ERSCHIENEN" else "PERSOENLICH"
            rows.append((f"C{out.next_id('c'):09d}", p.cno, who, iso(d), channel, outcome))
            d += rng.randint(gap // 2, gap * 3 // 2)
        open_now = is_open
    if open_now and stop == a and chance(rng, 0.65):
        d = a + rng.randint(1, 45)
        rows.append((f"C{out.next_id('c'):09d}", p.cno, staff, iso(d), "PERSOENLICH", "OFFEN"))
    out.add_many("contact", rows)
