"""Summaries of the derived layer for the county-wide steering reports (R09, R10, R15, R16).

Each is one ``INSERT ... SELECT`` inside the database over tables already derived, so a
controlling run reads hundreds or a few thousand rows at any scale instead of every person of
the Land. The rules are the reports' own (``../shared/spec/reports.md``); the reports' SQL reads
these tables and applies what depends on the run's parameters.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

#: R16 per office on as_of: BG active with an eLb member (the BG's facts are the BG's own
#: columns of d_person, so one pass without a join), and the persons' counts by their BG's office
OFFICE_STRUCTURE = """
INSERT INTO d_office_structure (office_id, bg, alleinerziehend_bg, fluchtkontext_bg, elb, nef,
                                u25, ue50, lzb, persons)
WITH bg AS (
    SELECT p.bg_id, p.office_id,
           CASE WHEN p.bg_type = 'ALLEINERZIEHEND' THEN 1 ELSE 0 END AS ae,
           MAX(CASE WHEN p.bg_role = 'HAUPTPERSON' AND p.fluchtkontext = 1
                    THEN 1 ELSE 0 END) AS flucht
    FROM d_person p
    WHERE p.bg_active = 1 AND (p.is_elb = 1 OR p.bg_role = 'HAUPTPERSON')
    GROUP BY p.bg_id, p.office_id, p.bg_type
    HAVING MAX(p.is_elb) = 1
),
bo AS (
    SELECT bg.office_id, COUNT(*) AS bg, SUM(bg.ae) AS ae, SUM(bg.flucht) AS flucht
    FROM bg GROUP BY bg.office_id
),
po AS (
    SELECT p.office_id, SUM(p.is_elb) AS elb, SUM(p.is_nef) AS nef, SUM(p.u25) AS u25,
           SUM(CASE WHEN p.is_elb = 1 AND p.age >= 50 THEN 1 ELSE 0 END) AS ue50,
           SUM(p.lzb) AS lzb,
           SUM(CASE WHEN p.is_elb = 1 OR p.is_nef = 1 THEN 1 ELSE 0 END) AS persons
    FROM d_person p GROUP BY p.office_id
)
SELECT po.office_id, COALESCE(bo.bg, 0), COALESCE(bo.ae, 0), COALESCE(bo.flucht, 0),
       po.elb, po.nef, po.u25, po.ue50, po.lzb, po.persons
FROM po LEFT JOIN bo ON bo.office_id = po.office_id
"""

#: R09: the eLb on as_of per case manager
STAFF_ELB = """
INSERT INTO d_staff_elb (staff_id, elb)
SELECT p.case_manager_id, COUNT(*)
FROM d_person p
WHERE p.is_elb = 1 AND p.case_manager_id IS NOT NULL
GROUP BY p.case_manager_id
"""

#: R10 for the county: eLb per profile group and days since the last kept contact
CONTACT_AGE = """
INSERT INTO d_contact_age (profile_group, contact_age, elb)
SELECT COALESCE(p.profile_group, ''), COALESCE(p.days_since_contact, -1), COUNT(*)
FROM d_person p
WHERE p.is_elb = 1
GROUP BY COALESCE(p.profile_group, ''), COALESCE(p.days_since_contact, -1)
"""

#: R15: per measure and day; only participations entered on or before as_of count. A
#: participation whose active_to_day lies before its entry is active on no day: no marks.
MEASURE_DAY = """
INSERT INTO d_measure_day (measure_code, day, entries, exits_regulaer, exits_abbruch,
                           exits_integration, exits_sonstiges, active_delta, cost_cents)
SELECT u.measure_code, u.day, SUM(u.entries), SUM(u.regulaer), SUM(u.abbruch),
       SUM(u.integration), SUM(u.sonstiges), SUM(u.delta), SUM(u.cost_cents)
FROM (
    SELECT x.measure_code, x.entry_day AS day, 1 AS entries, 0 AS regulaer, 0 AS abbruch,
           0 AS integration, 0 AS sonstiges,
           CASE WHEN x.active_to_day >= x.entry_day THEN 1 ELSE 0 END AS delta,
           COALESCE(x.cost_cents, 0) AS cost_cents
    FROM measure_participation x
    WHERE x.entry_day <= :as_of
    UNION ALL
    SELECT x.measure_code, x.active_to_day + 1, 0, 0, 0, 0, 0, -1, 0
    FROM measure_participation x
    WHERE x.entry_day <= :as_of AND x.active_to_day >= x.entry_day
    UNION ALL
    SELECT x.measure_code, x.exit_day, 0,
           CASE WHEN x.exit_reason = 'REGULAER' THEN 1 ELSE 0 END,
           CASE WHEN x.exit_reason = 'ABBRUCH' THEN 1 ELSE 0 END,
           CASE WHEN x.exit_reason = 'INTEGRATION' THEN 1 ELSE 0 END,
           CASE WHEN COALESCE(x.exit_reason, 'SONSTIGES') = 'SONSTIGES' THEN 1 ELSE 0 END,
           0, 0
    FROM measure_participation x
    WHERE x.entry_day <= :as_of AND x.exit_day IS NOT NULL
) u
GROUP BY u.measure_code, u.day
"""


def build_summaries(conn: Connection, as_of_day: int) -> None:
    """Fill the four summary tables on ``conn`` from ``d_person`` and the measure rows."""
    for sql in (OFFICE_STRUCTURE, STAFF_ELB, CONTACT_AGE):
        conn.exec_driver_sql(sql)
    conn.execute(text(MEASURE_DAY), {"as_of": as_of_day})
