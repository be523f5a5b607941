-- R13 LZB-Entwicklung (K3, K3E1, K3E2): one row per office (by name), then Gesamt.
-- LZB on a month end D: a merged ELB interval covers D and the eLb days in [D - 729, D] are
-- >= 638; the refresh counts it per month and office in d_month_stock (lzb), together with
-- lzb_activated: LZB at that month end and in a participation of a measure type with
-- counts_for_activation that is active on that day (entry <= D <= coalesce(exit, planned end)).
-- lzb: at the end of :month; lzb_prev_year: at the end of :month - 12; lzb_sum: the sum of the 12
-- month-end LZB stocks of :month - 12 .. :month - 1 (the months before the integrations', as
-- the BA computes K3E1); lzb_integrations_12m: integrations of :month - 11 .. :month whose person was LZB on s - 1 (d_integration.lzb_prev), by the office on s. Months
-- before the data's history have no d_month_stock rows (0).
WITH po AS (
    SELECT
        ms.office_id,
        SUM(CASE WHEN ms.month_idx = :month THEN ms.lzb ELSE 0 END) AS lzb,
        SUM(CASE WHEN ms.month_idx = :month - 12 THEN ms.lzb ELSE 0 END) AS lzb_prev_year,
        SUM(CASE WHEN ms.month_idx <= :month - 1 THEN ms.lzb ELSE 0 END) AS lzb_sum,
        SUM(CASE WHEN ms.month_idx = :month THEN ms.lzb_activated ELSE 0 END) AS lzb_activated
    FROM d_month_stock ms
    WHERE ms.month_idx BETWEEN :month - 12 AND :month
    GROUP BY ms.office_id
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
WHERE :_office_id = '' OR r.office_id = :_office_id  -- office lead: their office, no Gesamt
ORDER BY r.pos, r.office, r.office_id
