-- R10 Kontaktdichte: always five rows (profile groups A, B, C, none, Gesamt) over the eLb on
-- as_of in scope (team lead: persons of every staff member of the team, active or not,
-- protected included; office lead: persons of every staff member of the office's teams;
-- controlling: the county, persons without a case manager included).
-- with_contact: the last kept (WAHRGENOMMEN) contact on or before as_of is dated in
-- [as_of - days + 1, as_of].
WITH g AS (
    SELECT 1 AS pos, 'A' AS grp
    UNION ALL SELECT 2, 'B'
    UNION ALL SELECT 3, 'C'
    UNION ALL SELECT 4, NULL
),
e AS (
    SELECT
        p.profile_group,
        CASE WHEN p.last_contact_day IS NOT NULL
                  AND p.last_contact_day >= :_as_of - :days + 1 THEN 1 ELSE 0 END AS kept
    FROM d_person p
    WHERE p.is_elb = 1
      AND (:_county = 1 OR p.team_id = :_team_id
           OR p.team_id IN (SELECT t.team_id FROM team t WHERE t.office_id = :_office_id))
),
r AS (
    SELECT
        g.pos,
        g.grp AS profile_group,
        COUNT(e.kept) AS elb,
        COALESCE(SUM(e.kept), 0) AS with_contact
    FROM g
    LEFT JOIN e
        ON e.profile_group = g.grp OR (g.grp IS NULL AND e.profile_group IS NULL)
    GROUP BY g.pos, g.grp
    UNION ALL
    SELECT 5, 'Gesamt', COUNT(e.kept), COALESCE(SUM(e.kept), 0)
    FROM e
)
SELECT r.profile_group AS profile_group, r.elb AS elb, r.with_contact AS with_contact
FROM r
ORDER BY r.pos
