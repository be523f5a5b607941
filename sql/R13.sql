-- R13 LZB-Entwicklung (K3, K3E1, K3E2): one row per office (by name), then Gesamt.
-- LZB on a month end D: a merged ELB interval covers D and the eLb days in [D - 729, D] (sum of
-- the overlaps of the person's disjoint intervals with the window, written with CASE) are >= 638.
-- lzb: at the end of :month; lzb_prev_year: at the end of :month - 12; lzb_sum: the sum of the 12
-- month-end LZB stocks of :month - 11 .. :month; lzb_integrations_12m: integrations of those
-- months whose person was LZB on s - 1 (d_integration.lzb_prev), by the office on s;
-- lzb_activated: LZB at the end of :month and in a participation of a measure type with
-- counts_for_activation that is active on that day (entry <= D <= coalesce(exit, planned end)).
WITH k AS (
    SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
    UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8
    UNION ALL SELECT 9 UNION ALL SELECT 10 UNION ALL SELECT 11 UNION ALL SELECT 12
),
me AS (
    SELECT k.k, dm.last_day
    FROM k
    JOIN d_month dm ON dm.month_idx = :month - k.k
),
lz AS (
    SELECT me.k, i.customer_no
    FROM me
    JOIN d_elb_interval i ON i.from_day <= me.last_day AND i.to_day >= me.last_day - 729
    GROUP BY me.k, me.last_day, i.customer_no
    HAVING MAX(CASE WHEN i.to_day >= me.last_day THEN 1 ELSE 0 END) = 1
       AND SUM(CASE WHEN i.to_day < me.last_day THEN i.to_day ELSE me.last_day END
               - CASE WHEN i.from_day > me.last_day - 729 THEN i.from_day
                      ELSE me.last_day - 729 END
               + 1) >= 638
),
act AS (
    SELECT DISTINCT mp.customer_no
    FROM me
    JOIN measure_participation mp
        ON mp.entry_day <= me.last_day AND mp.active_to_day >= me.last_day
    JOIN measure_type mt ON mt.measure_code = mp.measure_code
    WHERE me.k = 0
      AND mt.counts_for_activation = 1
),
po AS (
    SELECT
        p.office_id,
        SUM(CASE WHEN lz.k = 0 THEN 1 ELSE 0 END) AS lzb,
        SUM(CASE WHEN lz.k = 12 THEN 1 ELSE 0 END) AS lzb_prev_year,
        SUM(CASE WHEN lz.k <= 11 THEN 1 ELSE 0 END) AS lzb_sum,
        SUM(CASE WHEN lz.k = 0 AND act.customer_no IS NOT NULL THEN 1 ELSE 0 END)
            AS lzb_activated
    FROM lz
    JOIN d_person p ON p.customer_no = lz.customer_no
    LEFT JOIN act ON act.customer_no = lz.customer_no
    GROUP BY p.office_id
),
io AS (
    SELECT di.office_id, COUNT(*) AS lzb_integrations_12m
    FROM d_integration di
    WHERE di.month_idx BETWEEN :month - 11 AND :month
      AND di.lzb_prev = 1
    GROUP BY di.office_id
),
r AS (
    SELECT
        0 AS pos,
        o.name AS office,
        o.office_id,
        COALESCE(po.lzb, 0) AS lzb,
        COALESCE(po.lzb_prev_year, 0) AS lzb_prev_year,
        COALESCE(io.lzb_integrations_12m, 0) AS lzb_integrations_12m,
        COALESCE(po.lzb_sum, 0) AS lzb_sum,
        COALESCE(po.lzb_activated, 0) AS lzb_activated
    FROM office o
    LEFT JOIN po ON po.office_id = o.office_id
    LEFT JOIN io ON io.office_id = o.office_id
    UNION ALL
    SELECT
        1, 'Gesamt', NULL,
        COALESCE((SELECT SUM(po.lzb) FROM po), 0),
        COALESCE((SELECT SUM(po.lzb_prev_year) FROM po), 0),
        COALESCE((SELECT SUM(io.lzb_integrations_12m) FROM io), 0),
        COALESCE((SELECT SUM(po.lzb_sum) FROM po), 0),
        COALESCE((SELECT SUM(po.lzb_activated) FROM po), 0)
)
SELECT
    r.office AS office,
    r.lzb AS lzb,
    r.lzb_prev_year AS lzb_prev_year,
    r.lzb_integrations_12m AS lzb_integrations_12m,
    r.lzb_sum AS lzb_sum,
    r.lzb_activated AS lzb_activated
FROM r
ORDER BY r.pos, r.office, r.office_id
