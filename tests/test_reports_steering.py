"""The steering figures R09-R16 on the hand-made export ``tests/data/steering`` (as_of 2026-11-23).

Every expected number below is derived by hand from the rules in reports.md; the comments say
how. Rows are compared as JSON carries them: rates and means as numbers with their decimals,
a suppressed cell (controlling, a count of 1 or 2 and what is derived from it) as ``None``.

The fixture at a glance (a person's office is that of their BG; eLb on as_of unless noted):
- O1 Ahaus: K01 K02 (+ K03, NEF child) K04 (protected) K05 K06 K07 K08 K10 K11 K14 K16 K17
  K25 (no case manager); former eLb K09 K12 K13 K15 K18 K19 K20;
- O2 Vreden: K21 K22 K23 (+ K24, NEF child);
- O3 Übach-Palenberg (after Vreden by code point, before it in the German collation the engine
  sorts office rows by; the suppression is decided in the SQL's order, before sorting): K31 K32
  (+ K33, NEF child).

Teams: T1 Ahaus U25 (S01 1.0, S02 0.5, S03 team lead), T2 Ahaus Markt (S04 0.75, S05 inactive),
T3 Vreden FM (S06 0.8, S07 LEISTUNG), T4 Übach-Palenberg Markt (S08 0.25). Case loads on as_of:
S01 K05 K06 K07 K16; S02 K08 K17; S04 K01 K02 K10 K11; S05 K04 K14; S06 K21 K22 K23;
S08 K31 K32.

Month-end eLb stocks (month = 2026-10, window 2025-11 .. 2026-10; s(2025-10) is the prior year):

| end of | Ahaus | Vreden | Übach | all | Ahaus moves |
|---|---|---|---|---|---|
| 2025-10 | 17 | 3 | 0 | 20 | |
| 2025-11 | 17 | 3 | 0 | 20 | |
| 2025-12 | 17 | 3 | 0 | 20 | |
| 2026-01 | 16 | 3 | 0 | 19 | K18 out (ELB to 01-10) |
| 2026-02 | 17 | 3 | 1 | 21 | K12 in (from 02-01); Übach K31 in (02-02) |
| 2026-03 | 17 | 3 | 1 | 21 | K08 in (from 03-31, the month's last day); K13 out (to 03-14) |
| 2026-04 | 17 | 3 | 2 | 22 | Übach K32 in (04-01); K09 in (ELB to 04-30, the last day) |
| 2026-05 | 15 | 3 | 2 | 20 | K09, K12 out (K12 to 05-30, one day short) |
| 2026-06 | 14 | 3 | 2 | 19 | K10 out (gap 06-30 .. 07-01); K11's gap 06-11..06-14 is no move |
| 2026-07 | 15 | 3 | 2 | 20 | K10 in again |
| 2026-08 | 14 | 3 | 2 | 19 | K15 out (to 08-23) |
| 2026-09 | 14 | 3 | 2 | 19 | |
| 2026-10 | 14 | 3 | 2 | 19 | (K20 leaves on 11-04: still in) |

12-month sums: Ahaus 187, Vreden 36, Übach 16 (Feb, Mar 1; Apr-Oct 2), all 239.

Integrations (d_integration; month window 2025-11 .. 2026-10 unless noted):
E001 K02 2026-09-01 SVB Q, alleinerziehend, LZB on s-1, unknown (s+91 = 12-01 > as_of);
E002 K04 2026-01-15 AUSBILDUNG G, Fluchtkontext, LZB, known not bedarfsdeckend (eLb on 04-16);
E003 K13 2026-03-15 SVB G, eLb only on s-1, LZB, bedarfsdeckend (not eLb on 06-14);
E004 K14 2026-05-10 SVB G, LZB, known 0 -- E005 (05-20, same month) does not count;
E006 K15 2026-08-24 SELBSTAENDIG M, eLb only on s-1, LZB, s+91 = as_of: known, bedarfsdeckend
  -- E007 (same day, SVB G, higher id) does not count;
E008 K16 2026-08-25 SVB, no WZ, not LZB (450 days), s+91 = 11-24 > as_of: unknown;
E013 K23 2026-10-01 SVB N, Vreden, Fluchtkontext, LZB, unknown.
Outside the window: E011 K19 2025-10-31 (G, bedarfsdeckend), E012 K20 2026-11-05.
Not integrations: E009 (GERINGFUEGIG), E010 (K18 not eLb on s or s-1).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from opal import dates
from opal.access import Actor
from opal.catalogue import load_catalogue, split_sql
from opal.context import Context
from opal.errors import AccessDenied, ParameterError
from opal.pipeline import run_report
from opal.renderers import get_renderer
from opal.result import SUPPRESSED
from tests.fixtures.steering import STEERING_DIR, manifest_for

#: "Übach" sorts as "Ubach" (DIN 5007-1): before "Vreden" (by code point it would follow it)
UEB, UEB_TEAM = "Übach-Palenberg", "Übach-Palenberg Markt"
S = None  # a suppressed cell (controlling, count 1 or 2) -- JSON null
N = None  # an empty value (rate with denominator 0, no label)

USERS = {  # username -> (role, staff_id, team_id)
    "ctrl": ("controlling", None, None),
    "tl1": ("team_lead", None, "T1"),
    "tl2": ("team_lead", None, "T2"),
    "tl4": ("team_lead", None, "T4"),
}


def cols(*keys: str) -> Any:
    def make(*values: Any) -> dict[str, Any]:
        assert len(values) == len(keys)
        return dict(zip(keys, values, strict=True))
    return make


R09 = cols("team_id", "team", "office", "focus", "fte", "elb", "elb_per_fte", "target",
           "deviation_pct")
R10 = cols("profile_group", "elb", "with_contact", "contact_rate")
R11 = cols("wz_section", "integrations", "svb", "ausbildung", "selbstaendig", "bedarfsdeckend",
           "bedarfsdeckend_pct")
R12 = cols("group", "integrations_12m", "avg_elb_12m", "k2")
R13 = cols("office", "lzb", "lzb_prev_year", "k3", "lzb_integrations_12m", "avg_lzb_12m", "k3e1",
           "lzb_activated", "k3e2")
R14 = cols("office", "elb", "elb_prev_year", "k1e2", "k1e3", "k1e4")
R15 = cols("legal_basis", "measure_code", "measure_name", "entries", "participants",
           "exits_regulaer", "exits_abbruch", "exits_integration", "exits_sonstiges", "cost",
           "cost_per_entry")
R16 = cols("office", "bg", "alleinerziehend_bg", "fluchtkontext_bg", "elb", "nef", "u25", "ue50",
           "lzb", "persons")

# (id, code, user, args, rows)
CASES: list[tuple[str, str, str, dict[str, str], list[dict[str, Any]]]] = [
    # R09: fte = active FALLMANAGEMENT/ARBEITSVERMITTLUNG staff (T1 S01 1.0 + S02 0.5, S03 is
    # TEAMLEITUNG; T2 S04 0.75, S05 inactive; T3 S06 0.8, S07 LEISTUNG; T4 S08 0.25); elb = eLb
    # on as_of of those staff (T2: K01 K02 K10 K11; K04/K14 of inactive S05 and K25 without a
    # case manager are not counted). elb_per_fte = elb / fte; deviation = (elb/fte/target - 1).
    ("R09-ctrl", "R09", "ctrl", {}, [
        R09("T1", "Ahaus U25", "Ahaus", "U25", 1.5, 6, 4.0, 75, -94.7),  # 4/75 - 1 = -94.67 %
        R09("T2", "Ahaus Markt", "Ahaus", "UE25", 0.75, 4, 5.3, 150, -96.4),  # 5.333/150 - 1
        R09("T3", "Vreden Fallmanagement", "Vreden", "FM", 0.8, 3, 3.8, 75, -95.0),  # 3.75/75
        R09("T4", UEB_TEAM, UEB, "UE25", 0.25, S, S, 150, S),  # elb 2: suppressed
    ]),
    ("R09-ctrl-targets", "R09", "ctrl", {"target_u25": "10", "target_ue25": "10",
                                         "target_fm": "20"}, [
        R09("T1", "Ahaus U25", "Ahaus", "U25", 1.5, 6, 4.0, 10, -60.0),  # 4/10 - 1
        R09("T2", "Ahaus Markt", "Ahaus", "UE25", 0.75, 4, 5.3, 10, -46.7),  # 5.333/10 - 1
        # FM teams against target_fm: 3.75/20 - 1 = -81.25 % -> -81.3 (half away from zero)
        R09("T3", "Vreden Fallmanagement", "Vreden", "FM", 0.8, 3, 3.8, 20, -81.3),
        R09("T4", UEB_TEAM, UEB, "UE25", 0.25, S, S, 10, S),
    ]),
    ("R09-tl2", "R09", "tl2", {}, [
        R09("T2", "Ahaus Markt", "Ahaus", "UE25", 0.75, 4, 5.3, 150, -96.4),
    ]),
    ("R09-tl1", "R09", "tl1", {}, [
        R09("T1", "Ahaus U25", "Ahaus", "U25", 1.5, 6, 4.0, 75, -94.7),
    ]),
    ("R09-tl4", "R09", "tl4", {}, [  # a team lead sees a 2: no suppression; 2/0.25 = 8.0
        R09("T4", UEB_TEAM, UEB, "UE25", 0.25, 2, 8.0, 150, -94.7),  # 8/150 - 1
    ]),
    # R10 (days 90: kept contact on 2026-08-26 .. 2026-11-23). eLb by profile on as_of:
    # A K02 K05 K14 K31; B K01 K10 K11 K22 K23; C K04 K07 (A until 2026-05-31) K17 K21;
    # none K06 K08 K16 K25 K32. With contact: A K02 (08-26, 89 days) K05 (on as_of) K31;
    # B K01 K11 K23; C K07 K17 K21 (K04's 08-25 is 90 days old: out); none K08 K25 (K06 only
    # NICHT_ERSCHIENEN, K14 only an old and a future OFFEN one, K22 ABGESAGT).
    ("R10-ctrl", "R10", "ctrl", {}, [
        R10("A", 4, S, S),  # secondary: else Gesamt - A - B - C gives the 2 below
        R10("B", 5, 3, 60.0),
        R10("C", 4, 3, 75.0),
        R10(N, 5, S, S),  # 2 with contact: suppressed, and the rate with it
        R10("Gesamt", 18, 11, 61.1),  # 11/18 = 61.11 %
    ]),
    # team T2 = S04 + inactive S05: K01 B, K02 A, K10 B, K11 B, K04 C (protected), K14 A
    ("R10-tl2", "R10", "tl2", {}, [
        R10("A", 2, 1, 50.0),  # K02 yes, K14 no
        R10("B", 3, 2, 66.7),  # K01, K11 yes; K10 no: 2/3
        R10("C", 1, 0, 0.0),  # K04: 90 days ago
        R10(N, 0, 0, N),  # always shown, rate empty
        R10("Gesamt", 6, 3, 50.0),
    ]),
    # team T1 = S01 S02 (+ S03, no persons): K05 A (contact on as_of), K07 C (10-05), K17 C
    # (09-30), K08 none (09-15), K06 none (only a miss), K16 none (never)
    ("R10-tl1", "R10", "tl1", {}, [
        R10("A", 1, 1, 100.0),
        R10("B", 0, 0, N),
        R10("C", 2, 2, 100.0),
        R10(N, 3, 1, 33.3),
        R10("Gesamt", 6, 4, 66.7),
    ]),
    ("R10-tl2-91", "R10", "tl2", {"days": "91"}, [
        R10("A", 2, 1, 50.0),
        R10("B", 3, 2, 66.7),
        R10("C", 1, 1, 100.0),  # K04's contact 90 days before as_of is inside 91 days
        R10(N, 0, 0, N),
        R10("Gesamt", 6, 4, 66.7),
    ]),
    # R11 (month 2026-10): G = E002 (AUSBILDUNG, 0) E003 (SVB, 1) E004 (SVB, 0); M = E006
    # (SELBSTAENDIG, 1); N = E013 (unknown); Q = E001 (unknown); no WZ = E008 (unknown).
    ("R11-ctrl", "R11", "ctrl", {}, [
        R11("G", 3, S, S, 0, S, S),  # svb 2, ausbildung 1, bedarfsdeckend 1 of 3 known
        R11("M", S, 0, 0, S, S, S),
        R11("N", S, S, 0, 0, 0, N),  # status unknown: no rate
        R11("Q", S, S, 0, 0, 0, N),
        R11(N, S, S, 0, 0, 0, N),  # without a section: last
        # svb secondary: else 7 - 5 = ausbildung + selbstaendig = 2 bounds both below 3
        R11("Gesamt", 7, S, S, S, S, S),  # bedarfsdeckend 2 of 4 known
    ]),
    ("R11-tl2", "R11", "tl2", {}, [  # K02 K04 K13 K14 K15 (S04/S05)
        R11("G", 3, 2, 1, 0, 1, 33.3),  # 1 of 3 known
        R11("M", 1, 0, 0, 1, 1, 100.0),
        R11("Q", 1, 1, 0, 0, 0, N),
        R11("Gesamt", 5, 3, 1, 1, 2, 50.0),  # 2 of 4 known
    ]),
    ("R11-tl1", "R11", "tl1", {}, [  # K16's E008 only
        R11(N, 1, 1, 0, 0, 0, N),
        R11("Gesamt", 1, 1, 0, 0, 0, N),
    ]),
    ("R11-tl2-2025-10", "R11", "tl2", {"month": "2025-10"}, [  # 2024-11 .. 2025-10: E011 only
        R11("G", 1, 1, 0, 0, 1, 100.0),
        R11("Gesamt", 1, 1, 0, 0, 1, 100.0),
    ]),
    # R12: avg = sum of the 12 stocks M-12 .. M-1 (2025-10 .. 2026-09) / 12, k2 = integrations
    # (2025-11 .. 2026-10) * 12 / sum * 100. The stocks of 2025-11 .. 2026-10 were Ahaus 187,
    # Vreden 36, Übach 16 (239); the window moves by one month: minus the stock at the end of
    # 2026-10 (Ahaus 14, Vreden 3, Übach 2), plus that of 2025-10 (Ahaus 17, Vreden 3, Übach 0).
    ("R12-office", "R12", "ctrl", {}, [
        R12("Ahaus", S, 15.8, S),  # 6, secondary (7 - 6 = 1); 187 - 14 + 17 = 190: 15.83
        R12(UEB, 0, S, S),  # 16 - 2 + 0 = 14: 14/12 = 1.17, a mean of stocks below 3; K2 with it
        R12("Vreden", S, S, S),  # 1 integration (E013); 36/12 = 3.0, secondary for Übach's mean
        R12("Gesamt", 7, 20.0, 35.0),  # 240/12 = 20.0; 8400/240 = 35.0
    ]),
    # sex, 2025-11 .. 2026-10: M = K01 K05 K07 K14 K16 K20 K21 K23 (12 each) + K09 6 + K10 11 +
    # K12 3 + K18 2 = 118; W = 239 - 118 = 121. Stock M / W at the end of 2026-10: 9 / 10, of
    # 2025-10: 11 / 9 (K18, K09 still eLb). Integrations M: E004 E008 E013; W: E001 E002 E003 E006.
    ("R12-sex", "R12", "ctrl", {"group_by": "sex"}, [
        R12("M", 3, 10.0, 30.0),  # 118 - 9 + 11 = 120; 3600/120
        R12("W", 4, 10.0, 40.0),  # 121 - 10 + 9 = 120; 4800/120
        R12("Gesamt", 7, 20.0, 35.0),
    ]),
    # Fluchtkontext, 2025-11 .. 2026-10: K04 K22 K23 (12 each) + K31 (9) = 45; K31 is not eLb
    # yet at the end of 2025-10 (3), is at the end of 2026-10 (4); integrations E002 E013
    ("R12-flucht", "R12", "ctrl", {"group_by": "fluchtkontext"}, [
        R12("ja", S, 3.7, S),  # 45 - 4 + 3 = 44: 3.67
        R12("nein", S, 16.3, S),  # 5, secondary; 194 - 15 + 17 = 196: 16.33
        R12("Gesamt", 7, 20.0, 35.0),
    ]),
    # alleinerziehend on the month end: K02 (2025-10 .. 2026-09: 12) + K32 (BG from 2026-04-01:
    # April .. September, 6) = 18; E001 on s
    ("R12-ae", "R12", "ctrl", {"group_by": "alleinerziehend"}, [
        R12("ja", S, S, S),  # 18/12 = 1.5: below 3
        R12("nein", S, S, S),  # 6 and 220 - 17 + 19 = 222: 18.5: secondary
        R12("Gesamt", 7, 20.0, 35.0),
    ]),
    ("R12-before-history", "R12", "ctrl", {"month": "2000-01"}, [
        R12("Gesamt", 0, 0.0, N),
    ]),
    # R13 LZB (>= 638 of 730 days). Ahaus always LZB: K01 K02 K04 K11 K14 K17 K20 K25 (8);
    # K09 (<= 04), K10 (not 06), K13 (<= 02), K15 (<= 07), K18 (<= 12) while eLb;
    # K05 (from 2024-09-01) has exactly 638 days on 2026-05-31: LZB from May; K06 (from
    # 2025-02-01) 638 days on 2026-10-31: LZB; K07 (from 2025-02-02) 637 days: not.
    # Ahaus per month 2025-11..2026-10: 13 13 12 12 11 11 11 10 11 10 10 11 = 135; 2025-10: 13;
    # the mean is over 2025-10 .. 2026-09 (M-12 .. M-1): 135 - 11 + 13 = 137.
    # Activated on 2026-10-31: K01 (AGH entry that day) K11 (AVGS) K17 (FBW planned end that
    # day) K05 (AVGS) -- K04's EGZ does not count for activation; Vreden K21 (AGH).
    ("R13-ctrl", "R13", "ctrl", {}, [
        R13("Ahaus", 11, 13, -15.4, S, 11.4, S, S, S),  # 11/13-1; 137/12 = 11.42;
        # 5 LZB integrations (all but E008) and 4 activated: secondary (Gesamt - Ahaus)
        R13(UEB, 0, 0, N, 0, 0.0, N, 0, N),  # K31/K32 too recent
        R13("Vreden", 3, 3, 0.0, S, 3.0, S, S, S),  # E013; K21 activated
        R13("Gesamt", 14, 16, -12.5, 6, 14.4, 41.6, 5, 35.7),  # 171 - 14 + 16 = 173: 14.42;
        # 7200/173 = 41.62; 5/14
    ]),
    # R14: inflow(m) / stock(end of m), outflow(m) / stock(end of m - 1). Ahaus: in Feb (K12)
    # /17, Mar (K08) /17, Jul (K10) /15 -> (2/17 + 1/15)/12 = 1.54 %; out Jan 1/17, Mar 1/17,
    # May 2/17, Jun 1/15, Aug 1/15 -> (4/17 + 2/15)/12 = 3.07 %. Übach has month-end stocks of
    # 0 (2025-11 .. 2026-01) and starts from 0: K1E3/K1E4 empty.
    # All: in Feb 2/21, Mar 1/21, Apr 1/22, Jul 1/20 -> 1.99 %; out Jan 1/20, Mar 1/21,
    # May 2/22, Jun 1/20, Aug 1/20 -> 2.40 %.
    ("R14-ctrl", "R14", "ctrl", {}, [
        R14("Ahaus", 14, 17, -17.6, 1.5, 3.1),  # 14/17 - 1 = -17.65 %
        R14(UEB, S, 0, N, N, N),  # elb 2 suppressed; prior year 0 is shown
        R14("Vreden", S, 3, S, S, 0.0),  # elb 3: secondary for Übach's 2; K1E4 reads the
        # stocks M-12 .. M-1 (elb_prev_year shown), not elb
        R14("Gesamt", 19, 20, -5.0, 2.0, 2.4),
    ]),
    # R15, default range = latest complete quarter 2026-07-01 .. 2026-09-30.
    # AGH: entries P01 (07-01) P03 (09-30) P15 (08-15) [P02 06-30, P14 10-31 outside];
    # participants on 09-30 P01, P02 (planned end 09-30), P03 (exit 10-01); exit P15 regulaer;
    # cost 1500 + 200.50 + 1200 = 2900.50, /3 = 966.83.
    # AVGS: entries P05 P06 P11 (09-30) P12; participants P05 (exit 09-30) P11 [P04 ends 09-29];
    # exits P12 regulaer, P05 abbruch (09-30), P06 integration; cost 999.99 + 0 (empty) + 750 +
    # 400 = 2149.99, /4 = 537.4975 -> 537.50. EGZ: only P08's exit (07-01, sonstiges): 0.00.
    # FBW: entry P09; participants P09 and P16. MAT: P10 ends 06-30: no row.
    ("R15-ctrl", "R15", "ctrl", {}, [
        R15("P16D_AGH", "M_AGH", "Arbeitsgelegenheit Garten", 3, 3, S, 0, 0, 0, 2900.5, 966.83),
        R15("P16_AVGS", "M_AVGS", "Coaching AVGS", 4, S, S, S, S, 0, 2149.99, 537.5),
        R15("P16_EGZ", "M_EGZ", "Eingliederungszuschuss", 0, 0, 0, 0, 0, S, 0.0, N),
        R15("P16_FBW", "M_FBW", "Umschulung Pflege", S, S, 0, 0, 0, 0, S, S),
    ]),
    ("R15-avgs", "R15", "ctrl", {"legal_basis": "P16_AVGS"}, [
        R15("P16_AVGS", "M_AVGS", "Coaching AVGS", 4, S, S, S, S, 0, 2149.99, 537.5),
    ]),
    # 2026-01-01 .. 2026-10-31 (303 days). AGH: entries P01 P02 P03 P14 P15, participants on
    # 10-31 P01 P14, exits P03 (10-01) P15; cost 1500 + 1000 + 200.50 + 900 + 1200 = 4800.50,
    # /5 = 960.10. AVGS: entries P04 P05 P06 P07 P11 P12 = 6, participants P07 P11; cost 800 +
    # 999.99 + 500 + 750 + 400 = 3449.99, /6 = 574.998 -> 575.00. EGZ: P08 P13; FBW: P09 P16;
    # MAT: P10 (entry and regular exit).
    ("R15-range", "R15", "ctrl", {"from_date": "2026-01-01", "to_date": "2026-10-31"}, [
        R15("P16D_AGH", "M_AGH", "Arbeitsgelegenheit Garten", 5, S, S, 0, 0, 0, 4800.5, 960.1),
        R15("P16_AVGS", "M_AVGS", "Coaching AVGS", 6, S, S, S, S, 0, 3449.99, 575.0),
        R15("P16_EGZ", "M_EGZ", "Eingliederungszuschuss", S, S, 0, 0, 0, S, S, S),
        R15("P16_FBW", "M_FBW", "Umschulung Pflege", S, S, 0, 0, 0, 0, S, S),
        R15("P16_MAT", "M_MAT", "Maßnahme beim Arbeitgeber", S, 0, S, 0, 0, 0, S, S),
    ]),
    # R16 on as_of. Ahaus: 13 BG (one per eLb; K20's open BG has no eLb, K09's ended), AE B02,
    # Flucht B03 (K04); NEF K03; U25 K05 (23) K07 (23, 24 tomorrow) K08 (22), not K16 (25 on
    # as_of); Ü50 K01 K04 K25 and K11 (50 on as_of); LZB all but K08 and K16 (K07: 660 days).
    # K25 also has a NEF spell covering as_of: eLb wins, she is no NEF.
    ("R16-ctrl", "R16", "ctrl", {}, [
        # persons = elb + nef: suppressed with a suppressed part (derived)
        R16("Ahaus", 13, S, S, 13, S, 3, S, 11, S),  # ue50 4: secondary for Vreden's 1
        R16(UEB, S, S, S, S, S, 0, 0, 0, S),  # B31 (HP UKRAINE_24), B32 (AE); K33 NEF
        R16("Vreden", S, 0, S, S, S, 0, S, 3, S),  # B21, B22 (HP K22 AE_FLUCHT); K21 is 61;
        # elb 3: secondary for Übach's 2
        R16("Gesamt", 17, S, 3, 18, 3, 3, 5, 14, 21),
    ]),
]


def jsonish(value: Any) -> Any:
    """A cell as JSON carries it: suppressed -> None, Decimal -> number, date -> ISO text."""
    if value is SUPPRESSED:
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


# --------------------------------------------------------------------------- the export itself


def test_steering_manifest_is_current() -> None:
    """The committed manifest matches the CSV files (else: python -m tests.fixtures.steering)."""
    on_disk = json.loads((STEERING_DIR / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk == manifest_for(STEERING_DIR)


def test_steering_definitions_are_consistent() -> None:
    catalogue = load_catalogue()
    for code in ("R09", "R10", "R11", "R12", "R13", "R14", "R15", "R16"):
        defn = catalogue.get(code)
        assert defn is not None, code
        roles = ({"team_lead", "office_lead", "controlling"} if code <= "R11"
                 else {"controlling"} if code == "R15" else {"controlling", "office_lead"})
        assert set(defn.roles) == roles
        assert defn.kind == "aggregate"
        for col in defn.columns:
            assert not (col.compute and col.count), f"{code}.{col.key}: computed, not a count"
            if col.key.startswith("avg_"):  # means are never suppressed
                assert not col.count and not col.suppress_with, f"{code}.{col.key}"


# --------------------------------------------------------------------------- the real path


@dataclass
class SteeringWorld:
    ctx: Context
    actors: dict[str, Actor]

    def run(self, code: str, user: str, args: dict[str, str]) -> list[dict[str, Any]]:
        """The rows as the JSON download carries them (checked against the Result's cells)."""
        result = run_report(self.ctx, code, self.actors[user], args, "json")
        rows = [{k: jsonish(v) for k, v in row.items()} for row in result.rows]
        doc = json.loads(get_renderer("json").render(result).body)
        assert doc["rows"] == rows
        return rows


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def steering_world(request: pytest.FixtureRequest,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[SteeringWorld]:
    """``opal refresh`` of tests/data/steering into a fresh case DB, users, an engine context."""
    from opal.clock import fixed_clock
    from opal.db import app_engine, case_engine, init_app_db
    from opal.refresh import refresh
    from opal.users import upsert_user
    from tests.conftest import FIXED_NOW, drop_pg_schemas, make_config, require_pg

    if request.param == "pg":
        require_pg()
    tmp: Path = tmp_path_factory.mktemp(f"steering_{request.param}")
    config, prefix = make_config(tmp, request.param)
    (tmp / "var").mkdir(exist_ok=True)
    apps = app_engine(config)
    try:
        init_app_db(apps, config.app_db_schema)
        refresh(config, STEERING_DIR, clock=fixed_clock(FIXED_NOW))
        actors = {}
        for name, (role, staff, team) in USERS.items():
            upsert_user(apps, name, role, staff_id=staff, team_id=team,
                        clock=fixed_clock(FIXED_NOW))
            actors[name] = Actor(name, role, staff, team)
        ctx = Context(config, case_engine(config), apps, load_catalogue(),
                            fixed_clock(FIXED_NOW))
        yield SteeringWorld(ctx, actors)
        ctx.case_db.dispose()
    finally:
        apps.dispose()
        if prefix:
            drop_pg_schemas(prefix)


@pytest.mark.parametrize(("code", "user", "args", "expected"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_steering_rows(steering_world: SteeringWorld, code: str, user: str,
                       args: dict[str, str], expected: list[dict[str, Any]]) -> None:
    assert steering_world.run(code, user, args) == expected


@pytest.mark.parametrize(("code", "args", "field"), [
    ("R12", {"month": "2026-11"}, "month"),  # its last day is after as_of
    ("R13", {"month": "2027-01"}, "month"),
    ("R15", {"from_date": "2026-11-01", "to_date": "2026-11-24"}, "to_date"),  # after as_of
    ("R15", {"from_date": "2025-10-01", "to_date": "2026-10-31"}, "to_date"),  # 13 months
    ("R15", {"from_date": "2026-10-01", "to_date": "2026-09-30"}, "to_date"),  # negative
    ("R15", {"from_date": "2026-10-02", "to_date": "2026-10-31"}, "from_date"),  # whole months
    ("R15", {"from_date": "2026-10-01", "to_date": "2026-10-30"}, "to_date"),
    ("R15", {"legal_basis": "P99"}, "legal_basis"),
    ("R09", {"target_u25": "9"}, "target_u25"),
    ("R09", {"target_fm": "501"}, "target_fm"),
    ("R10", {"days": "366"}, "days"),
])
def test_steering_bad_parameters(steering_world: SteeringWorld, code: str,
                                 args: dict[str, str], field: str) -> None:
    with pytest.raises(ParameterError) as info:
        steering_world.run(code, "ctrl", args)
    assert set(info.value.errors) == {field}


def test_steering_r15_longest_range(steering_world: SteeringWorld) -> None:
    """Twelve whole months are allowed (thirteen are not: test_steering_bad_parameters)."""
    rows = steering_world.run("R15", "ctrl", {"from_date": "2025-11-01",
                                              "to_date": "2026-10-31"})
    assert [r["measure_code"] for r in rows] == ["M_AGH", "M_AVGS", "M_EGZ", "M_FBW", "M_MAT"]


@pytest.mark.parametrize("code", ["R12", "R13", "R14", "R15", "R16"])
def test_steering_controlling_only(steering_world: SteeringWorld, code: str) -> None:
    with pytest.raises(AccessDenied):
        steering_world.run(code, "tl2", {})


# --------------------------------------------------------------------------- the SQL alone


def _raw(engine: Engine, code: str, binds: dict[str, Any]) -> list[tuple[Any, ...]]:
    sql = split_sql((Path(__file__).resolve().parent.parent / "sql" / f"{code}.sql")
                    .read_text(encoding="utf-8"))[1]
    base = {"_as_of": dates.day(date(2026, 11, 23)), "_county": 1, "_team_id": "",
            "_viewer": "", "_staff_id": "", "_office_id": ""}
    with engine.connect() as conn:
        rows = conn.execute(text(sql), {**base, **binds}).all()
    return [tuple(int(v) if isinstance(v, Decimal) else v for v in r) for r in rows]


M2026_10 = dates.month_idx(2026, 10)


def test_steering_sql_raw_counts(steering_case_engine: Engine) -> None:
    """The integer columns the SQL hands the engine (loaded directly, derived layer built)."""
    e = steering_case_engine
    assert _raw(e, "R09", {"target_u25": 75, "target_ue25": 150, "target_fm": 60}) == [
        ("T1", "Ahaus U25", "Ahaus", "U25", 15000, 6, 75),
        ("T2", "Ahaus Markt", "Ahaus", "UE25", 7500, 4, 150),
        ("T3", "Vreden Fallmanagement", "Vreden", "FM", 8000, 3, 60),
        ("T4", UEB_TEAM, UEB, "UE25", 2500, 2, 150)]
    assert _raw(e, "R10", {"days": 90, "_county": 0, "_team_id": "T2"}) == [
        ("A", 2, 1), ("B", 3, 2), ("C", 1, 0), (None, 0, 0), ("Gesamt", 6, 3)]
    assert _raw(e, "R11", {"month": M2026_10}) == [
        ("G", 3, 2, 1, 0, 1, 3), ("M", 1, 0, 0, 1, 1, 1), ("N", 1, 1, 0, 0, 0, 0),
        ("Q", 1, 1, 0, 0, 0, 0), (None, 1, 1, 0, 0, 0, 0), ("Gesamt", 7, 5, 1, 1, 2, 4)]
    assert _raw(e, "R12", {"month": M2026_10, "group_by": "office"}) == [
        ("Ahaus", 6, 190), ("Vreden", 1, 36), (UEB, 0, 14), ("Gesamt", 7, 240)]
    assert _raw(e, "R12", {"month": M2026_10, "group_by": "alleinerziehend"}) == [
        ("ja", 1, 18), ("nein", 6, 222), ("Gesamt", 7, 240)]
    assert _raw(e, "R13", {"month": M2026_10}) == [
        ("Ahaus", 11, 13, 5, 137, 4), ("Vreden", 3, 3, 1, 36, 1), (UEB, 0, 0, 0, 0, 0),
        ("Gesamt", 14, 16, 6, 173, 5)]
    r14 = _raw(e, "R14", {"month": M2026_10})
    # office, s0 (elb) .. s12 (elb_prev_year), in0 .. in11, out0 .. out11 (index = months back)
    assert r14[0] == ("Ahaus", 14, 14, 14, 15, 14, 15, 17, 17, 17, 16, 17, 17, 17,
                      0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0,
                      0, 0, 1, 0, 1, 2, 0, 1, 0, 1, 0, 0)
    assert r14[2] == (UEB, 2, 2, 2, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0,
                      0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0,
                      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    q3 = {"from_date": dates.day(date(2026, 7, 1)), "to_date": dates.day(date(2026, 9, 30)),
          "legal_basis": ""}
    assert _raw(e, "R15", q3) == [
        ("P16D_AGH", "M_AGH", "Arbeitsgelegenheit Garten", 3, 3, 1, 0, 0, 0, 290050),
        ("P16_AVGS", "M_AVGS", "Coaching AVGS", 4, 2, 1, 1, 1, 0, 214999),
        ("P16_EGZ", "M_EGZ", "Eingliederungszuschuss", 0, 0, 0, 0, 0, 1, 0),
        ("P16_FBW", "M_FBW", "Umschulung Pflege", 1, 2, 0, 0, 0, 0, 1200000)]
    assert _raw(e, "R16", {}) == [
        ("Ahaus", 13, 1, 1, 13, 1, 3, 4, 11, 14), ("Vreden", 2, 0, 1, 3, 1, 0, 1, 3, 4),
        (UEB, 2, 1, 1, 2, 1, 0, 0, 0, 3), ("Gesamt", 17, 2, 3, 18, 3, 3, 5, 14, 21)]


# ------------------------------------------- the summaries built at refresh against the rules


def test_r10_county_at_every_days_equals_the_rule_on_each_person(
        steering_case_engine: Engine) -> None:
    """The county reads d_contact_age: for every allowed ``days`` (1 .. 365) it gives what the
    rule gives counted person by person (last kept contact in [as_of - days + 1, as_of])."""
    as_of = dates.day(date(2026, 11, 23))
    with steering_case_engine.connect() as conn:
        people = conn.execute(text("SELECT profile_group, last_contact_day FROM d_person "
                                   "WHERE is_elb = 1")).all()
    ages = sorted({as_of - day for _g, day in people if day is not None})
    assert 0 < len(ages) and min(ages) <= 89 < max(ages)  # the fixture straddles the defaults
    for days in range(1, 366):
        expected = []
        for group in ("A", "B", "C", None):
            mine = [day for g, day in people if g == group]
            expected.append((group, len(mine),
                             sum(1 for day in mine if day is not None
                                 and day >= as_of - days + 1)))
        expected.append(("Gesamt", sum(n for _g, n, _k in expected),
                         sum(k for _g, _n, k in expected)))
        assert _raw(steering_case_engine, "R10", {"days": days}) == expected, days


def _r15_by_rule(parts: list[tuple[Any, ...]], types: dict[str, tuple[str, str]],
                 first: int, last: int) -> list[tuple[Any, ...]]:
    """R15 counted participation by participation, as reports.md states it."""
    as_of = dates.day(date(2026, 11, 23))
    rows = []
    for code, (basis, name) in sorted(types.items(), key=lambda kv: (kv[1][0], kv[0])):
        mine = [p for p in parts if p[0] == code and p[1] <= as_of]
        entries = [p for p in mine if first <= p[1] <= last]
        exits = [p[4] or "SONSTIGES" for p in mine if p[3] is not None and first <= p[3] <= last]
        active = sum(1 for p in mine if p[1] <= last <= p[2])
        if not entries and not exits and not active:
            continue
        rows.append((basis, code, name, len(entries), active,
                     *(exits.count(r) for r in ("REGULAER", "ABBRUCH", "INTEGRATION",
                                                "SONSTIGES")),
                     sum(p[5] or 0 for p in entries)))
    return rows


def test_r15_every_range_equals_the_rule_on_each_participation(
        steering_case_engine: Engine) -> None:
    """R15 reads d_measure_day (marks per measure and day, participants as a running sum): for
    ranges ending on every day of a year before as_of it gives what counting each participation
    gives, at the ends of every entry, exit and active_to day of the fixture."""
    with steering_case_engine.connect() as conn:
        parts = [tuple(r) for r in conn.execute(text(
            "SELECT measure_code, entry_day, active_to_day, exit_day, exit_reason, cost_cents "
            "FROM measure_participation"))]
        types = {r[0]: (r[1], r[2]) for r in conn.execute(text(
            "SELECT measure_code, legal_basis, name FROM measure_type"))}
    as_of = dates.day(date(2026, 11, 23))
    seen = 0
    for last in range(as_of - 365, as_of + 1):
        for first in (last - 90, last):
            expected = _r15_by_rule(parts, types, first, last)
            got = _raw(steering_case_engine, "R15",
                       {"from_date": first, "to_date": last, "legal_basis": ""})
            assert got == expected, (dates.from_day(first), dates.from_day(last))
            seen += len(got)
    assert seen > 0


def test_r15_marks_a_participation_ending_before_its_entry_active_on_no_day() -> None:
    """A planned end before the entry (no exit: the export allows it) is active on no day;
    +1/-1 marks for it would count it -1 on the days between."""
    from sqlalchemy import create_engine

    from opal.casedb.schema import BASE_TABLES, d_measure_day
    from opal.refresh.derive_summary import MEASURE_DAY

    engine = create_engine("sqlite://")
    mp = BASE_TABLES["measure_participation"]
    mp.create(engine)
    d_measure_day.create(engine)
    names = [c.name for c in mp.columns]
    with engine.begin() as conn:
        for pid, entry, to, exit_day in (("P1", 100, 90, None), ("P2", 100, 120, 120),
                                         ("P3", 200, 150, None)):
            conn.execute(mp.insert().values({
                **dict.fromkeys(names), "participation_id": pid, "measure_code": "M",
                "customer_no": "K1", "entry_date": dates.from_day(entry), "entry_day": entry,
                "active_to_day": to, "exit_day": exit_day,
                "exit_date": None if exit_day is None else dates.from_day(exit_day)}))
        conn.execute(text(MEASURE_DAY), {"as_of": 180})  # P3 entered after as_of
        marks = dict(conn.execute(text(
            "SELECT day, active_delta FROM d_measure_day WHERE active_delta <> 0")).all())
        entries = conn.execute(text("SELECT SUM(entries) FROM d_measure_day")).scalar_one()
    assert marks == {100: 1, 121: -1}  # P2 only: active 100 .. 120
    assert entries == 2  # P1 and P2 entered on day 100


def test_a_generation_built_before_a_summary_existed_answers_503(
        steering_world: SteeringWorld) -> None:
    """Live data refreshed by an earlier release lacks d_staff_elb: R09 is unavailable (503,
    saying the next refresh brings it), not an internal error; the other reports still run."""
    from sqlalchemy import create_engine

    from opal.db import is_sqlite, sqlite_path
    from opal.query import NoData

    url = steering_world.ctx.config.case_db_url
    engine = (create_engine(f"sqlite:///{sqlite_path(url)}") if is_sqlite(url)
              else steering_world.ctx.case_db)  # the portal opens the SQLite file read-only
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE d_staff_elb RENAME TO d_staff_elb_hidden"))
    try:
        with pytest.raises(NoData) as info:
            steering_world.run("R09", "ctrl", {})
        assert info.value.status == 503
        assert "nächsten Aktualisierung" in str(info.value)
        assert steering_world.run("R16", "ctrl", {})[-1]["office"] == "Gesamt"
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE d_staff_elb_hidden RENAME TO d_staff_elb"))
        if is_sqlite(url):
            engine.dispose()
    assert steering_world.run("R09", "ctrl", {})[0]["team_id"] == "T1"
