-- R12 Integrationsquote K2, grouped by :group_by (office, sex, fluchtkontext, alleinerziehend).
-- elb_sum: the sum of the 12 month-end eLb stocks of the months :month - 11 .. :month (a person
-- is in the stock of month m when a merged ELB interval covers its last day), each person counted
-- in the group of their attribute on that day (alleinerziehend: HAUPTPERSON of an ALLEINERZIEHEND
-- BG whose [start, end] covers it). integrations_12m: integrations of those months, grouped by
-- the attribute on their start day s (d_integration). One row per group value that occurs in
-- either, by label, then Gesamt. Months before the data's history simply contribute nothing.
WITH k AS (
    SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
    UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8
    UNION ALL SELECT 9 UNION ALL SELECT 10 UNION ALL SELECT 11
),
me AS (
    SELECT dm.last_day
    FROM k
    JOIN d_month dm ON dm.month_idx = :month - k.k
),
st AS (
    SELECT
        CASE WHEN :group_by = 'office' THEN p.office_id
             WHEN :group_by = 'sex' THEN p.sex
             WHEN :group_by = 'fluchtkontext' THEN
                 CASE WHEN p.fluchtkontext = 1 THEN 'ja' ELSE 'nein' END
             ELSE CASE WHEN p.bg_role = 'HAUPTPERSON' AND p.bg_type = 'ALLEINERZIEHEND'
                            AND p.bg_start_day <= me.last_day AND p.bg_end_day >= me.last_day
                       THEN 'ja' ELSE 'nein' END
        END AS gkey
    FROM me
    JOIN d_elb_interval i ON i.from_day <= me.last_day AND i.to_day >= me.last_day
    JOIN d_person p ON p.customer_no = i.customer_no
),
it AS (
    SELECT
        CASE WHEN :group_by = 'office' THEN di.office_id
             WHEN :group_by = 'sex' THEN di.sex
             WHEN :group_by = 'fluchtkontext' THEN
                 CASE WHEN di.fluchtkontext = 1 THEN 'ja' ELSE 'nein' END
             ELSE CASE WHEN di.alleinerziehend = 1 THEN 'ja' ELSE 'nein' END
        END AS gkey
    FROM d_integration di
    WHERE di.month_idx BETWEEN :month - 11 AND :month
),
sg AS (SELECT st.gkey, COUNT(*) AS elb_sum FROM st GROUP BY st.gkey),
ig AS (SELECT it.gkey, COUNT(*) AS integrations FROM it GROUP BY it.gkey),
keys AS (SELECT sg.gkey FROM sg UNION SELECT ig.gkey FROM ig),
r AS (
    SELECT
        0 AS pos,
        CASE WHEN :group_by = 'office' THEN o.name ELSE keys.gkey END AS grp,
        keys.gkey,
        COALESCE(ig.integrations, 0) AS integrations_12m,
        COALESCE(sg.elb_sum, 0) AS elb_sum
    FROM keys
    LEFT JOIN sg ON sg.gkey = keys.gkey
    LEFT JOIN ig ON ig.gkey = keys.gkey
    LEFT JOIN office o ON :group_by = 'office' AND o.office_id = keys.gkey
    UNION ALL
    SELECT
        1, 'Gesamt', NULL,
        (SELECT COUNT(*) FROM it),
        (SELECT COUNT(*) FROM st)
)
SELECT
    r.grp AS "group",
    r.integrations_12m AS integrations_12m,
    r.elb_sum AS elb_sum
FROM r
ORDER BY r.pos, r.grp, r.gkey
