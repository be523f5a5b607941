-- R10 Kontaktdichte: always five rows (profile groups A, B, C, none, Gesamt) over the eLb on
-- as_of in scope (team lead: persons of every staff member of the team, active or not,
-- protected included; office lead: persons of every staff member of the office's teams;
-- controlling: the county, persons without a case manager included).
-- with_contact: the last kept (WAHRGENOMMEN) contact on or before as_of is dated in
-- [as_of - days + 1, as_of].
-- The county's run sums d_contact_age (eLb per profile group and days since the last kept
-- contact, built at refresh; '' is no group, -1 never); a team or an office reads its persons.
WITH g AS (
    SELECT 1 AS pos, 'A' AS grp, 'A' AS k
    UNION ALL SELECT 2, 'B', 'B'
    UNION ALL SELECT 3, 'C', 'C'
    UNION ALL SELECT 4, NULL, ''
),
e AS (
    SELECT
        c.profile_group,
        CASE WHEN c.contact_age >= 0 AND c.contact_age <= :days - 1
             THEN c.elb ELSE 0 END AS kept,
        c.elb AS n
    FROM d_contact_age c
    WHERE :_county = 1
    UNION ALL
    SELECT
        COALESCE(p.profile_group, ''),
        CASE WHEN p.last_contact_day IS NOT NULL
                  AND p.last_contact_day >= :_as_of - :days + 1 THEN 1 ELSE 0 END,
        1
    FROM d_person p
    WHERE p.is_elb = 1
      AND :_county <> 1
      AND (p.team_id = :_team_id
           OR p.team_id IN (SELECT t.team_id FROM team t WHERE t.office_id = :_office_id))
),
r AS (
    SELECT
        g.pos,
        g.grp AS profile_group,
        COALESCE(SUM(e.n), 0) AS elb,
        COALESCE(SUM(e.kept), 0) AS with_contact
    FROM g
    LEFT JOIN e ON e.profile_group = g.k
    GROUP BY g.pos, g.grp
    UNION ALL
    SELECT 5, 'Gesamt', COALESCE(SUM(e.n), 0), COALESCE(SUM(e.kept), 0)
    FROM e
)
SELECT r.profile_group AS profile_group, r.elb AS elb, r.with_contact AS with_contact
FROM r
ORDER BY r.pos
