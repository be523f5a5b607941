-- R12 Integrationsquote K2, grouped by :group_by (office, sex, fluchtkontext, alleinerziehend).
-- elb_sum: the sum of the 12 month-end eLb stocks of the months :month - 12 .. :month - 1, the
-- months before those of the integrations, as the BA computes K2 (a person is in the stock of
-- month m when a merged ELB interval covers its last day), each person counted
-- in the group of their attribute on that day (alleinerziehend: HAUPTPERSON of an ALLEINERZIEHEND
-- BG whose [start, end] covers it): read from d_month_stock, which the refresh counts per month
-- and attribute cell. integrations_12m: integrations of those months, grouped by the attribute
-- on their start day s (d_integration), months :month - 11 .. :month. One row per group value that occurs in either, by
-- label, then Gesamt. Months before the data's history have no d_month_stock rows (0).
-- Office lead (:_office_id not ''): only persons whose office (of their BG) is that office; the
-- engine never lets them group by office.
WITH st AS (
    SELECT
        CASE WHEN :group_by = 'office' THEN ms.office_id
             WHEN :group_by = 'sex' THEN ms.sex
             WHEN :group_by = 'fluchtkontext' THEN
                 CASE WHEN ms.fluchtkontext = 1 THEN 'ja' ELSE 'nein' END
             ELSE CASE WHEN ms.alleinerziehend = 1 THEN 'ja' ELSE 'nein' END
        END AS gkey,
        ms.elb
    FROM d_month_stock ms
    WHERE ms.month_idx BETWEEN :month - 12 AND :month - 1
      AND ms.elb > 0
      AND (:_office_id = '' OR ms.office_id = :_office_id)
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
      AND (:_office_id = '' OR di.office_id = :_office_id)
),
sg AS (SELECT st.gkey, SUM(st.elb) AS elb_sum FROM st GROUP BY st.gkey),
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
        COALESCE((SELECT SUM(st.elb) FROM st), 0)
)
SELECT
    r.grp AS "group",
    r.integrations_12m AS integrations_12m,
    r.elb_sum AS elb_sum
FROM r
ORDER BY r.pos, r.grp, r.gkey
