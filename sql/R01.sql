-- R01 Fallbestand: one row per case manager in scope, counting the eLb on as_of assigned to
-- them (protected persons included: the own case load or a team aggregate).
-- case manager: themself (:_staff_id); team lead: each active FALLMANAGEMENT/ARBEITSVERMITTLUNG
-- staff member of team :_team_id; office lead: of every team of office :_office_id.
WITH cm AS (
    SELECT st.staff_id, st.display_name
    FROM staff st
    WHERE st.staff_id = :_staff_id
       OR (st.active = 1
           AND st."function" IN ('FALLMANAGEMENT', 'ARBEITSVERMITTLUNG')
           AND ((:_team_id <> '' AND st.team_id = :_team_id)
                OR (:_office_id <> ''
                    AND st.team_id IN (SELECT t.team_id FROM team t
                                       WHERE t.office_id = :_office_id))))
)
SELECT
    cm.staff_id AS staff_id,
    cm.display_name AS case_manager,
    COUNT(p.customer_no) AS elb,
    COALESCE(SUM(CASE WHEN p.profile_group = 'A' THEN 1 ELSE 0 END), 0) AS group_a,
    COALESCE(SUM(CASE WHEN p.profile_group = 'B' THEN 1 ELSE 0 END), 0) AS group_b,
    COALESCE(SUM(CASE WHEN p.profile_group = 'C' THEN 1 ELSE 0 END), 0) AS group_c,
    COALESCE(SUM(CASE WHEN p.customer_no IS NOT NULL AND p.profile_group IS NULL
                      THEN 1 ELSE 0 END), 0) AS group_none,
    COALESCE(SUM(p.u25), 0) AS u25,
    COALESCE(SUM(p.lzb), 0) AS lzb,
    COALESCE(SUM(p.arbeitslos), 0) AS arbeitslos,
    COALESCE(SUM(p.fluchtkontext), 0) AS fluchtkontext,
    COALESCE(SUM(p.alleinerziehend), 0) AS alleinerziehend
FROM cm
LEFT JOIN d_person p
    ON p.case_manager_id = cm.staff_id
   AND p.is_elb = 1
GROUP BY cm.staff_id, cm.display_name
ORDER BY cm.display_name, cm.staff_id
