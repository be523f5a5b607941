-- R14 Bestand und Dynamik (K1E2-K1E4): one row per office (by name), then Gesamt.
-- sK: eLb stock at the end of month :month - K (a merged ELB interval covers the month's last
-- day); s0 is returned as elb, s12 as elb_prev_year. inK: inflow in month :month - K (in the
-- stock at its last day, not on the day before its first day); outK: outflow in month :month - K
-- (in the stock on the day before its first day, not at its last day). K1E3/K1E4 divide inK and
-- outK by s(K+1) (compute columns). A person's office is the office of their BG. Months before
-- the data's history count 0. The NOT EXISTS probes use d_elb_interval's primary key.
WITH k AS (
    SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
    UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8
    UNION ALL SELECT 9 UNION ALL SELECT 10 UNION ALL SELECT 11 UNION ALL SELECT 12
),
me AS (
    SELECT k.k, dm.first_day - 1 AS prev_day, dm.last_day
    FROM k
    JOIN d_month dm ON dm.month_idx = :month - k.k
),
ev AS (
    SELECT 's' AS t, me.k, i.customer_no
    FROM me
    JOIN d_elb_interval i ON i.from_day <= me.last_day AND i.to_day >= me.last_day
    UNION ALL
    SELECT 'i', me.k, i.customer_no
    FROM me
    JOIN d_elb_interval i ON i.from_day <= me.last_day AND i.to_day >= me.last_day
    WHERE me.k <= 11
      AND NOT EXISTS (SELECT 1 FROM d_elb_interval j
                      WHERE j.customer_no = i.customer_no
                        AND j.from_day <= me.prev_day AND j.to_day >= me.prev_day)
    UNION ALL
    SELECT 'o', me.k, i.customer_no
    FROM me
    JOIN d_elb_interval i ON i.from_day <= me.prev_day AND i.to_day >= me.prev_day
    WHERE me.k <= 11
      AND NOT EXISTS (SELECT 1 FROM d_elb_interval j
                      WHERE j.customer_no = i.customer_no
                        AND j.from_day <= me.last_day AND j.to_day >= me.last_day)
),
po AS (
    SELECT
        p.office_id,
        SUM(CASE WHEN ev.t = 's' AND ev.k = 0 THEN 1 ELSE 0 END) AS s0,
        SUM(CASE WHEN ev.t = 's' AND ev.k = 1 THEN 1 ELSE 0 END) AS s1,
        SUM(CASE WHEN ev.t = 's' AND ev.k = 2 THEN 1 ELSE 0 END) AS s2,
        SUM(CASE WHEN ev.t = 's' AND ev.k = 3 THEN 1 ELSE 0 END) AS s3,
        SUM(CASE WHEN ev.t = 's' AND ev.k = 4 THEN 1 ELSE 0 END) AS s4,
        SUM(CASE WHEN ev.t = 's' AND ev.k = 5 THEN 1 ELSE 0 END) AS s5,
        SUM(CASE WHEN ev.t = 's' AND ev.k = 6 THEN 1 ELSE 0 END) AS s6,
        SUM(CASE WHEN ev.t = 's' AND ev.k = 7 THEN 1 ELSE 0 END) AS s7,
        SUM(CASE WHEN ev.t = 's' AND ev.k = 8 THEN 1 ELSE 0 END) AS s8,
        SUM(CASE WHEN ev.t = 's' AND ev.k = 9 THEN 1 ELSE 0 END) AS s9,
        SUM(CASE WHEN ev.t = 's' AND ev.k = 10 THEN 1 ELSE 0 END) AS s10,
        SUM(CASE WHEN ev.t = 's' AND ev.k = 11 THEN 1 ELSE 0 END) AS s11,
        SUM(CASE WHEN ev.t = 's' AND ev.k = 12 THEN 1 ELSE 0 END) AS s12,
        SUM(CASE WHEN ev.t = 'i' AND ev.k = 0 THEN 1 ELSE 0 END) AS in0,
        SUM(CASE WHEN ev.t = 'i' AND ev.k = 1 THEN 1 ELSE 0 END) AS in1,
        SUM(CASE WHEN ev.t = 'i' AND ev.k = 2 THEN 1 ELSE 0 END) AS in2,
        SUM(CASE WHEN ev.t = 'i' AND ev.k = 3 THEN 1 ELSE 0 END) AS in3,
        SUM(CASE WHEN ev.t = 'i' AND ev.k = 4 THEN 1 ELSE 0 END) AS in4,
        SUM(CASE WHEN ev.t = 'i' AND ev.k = 5 THEN 1 ELSE 0 END) AS in5,
        SUM(CASE WHEN ev.t = 'i' AND ev.k = 6 THEN 1 ELSE 0 END) AS in6,
        SUM(CASE WHEN ev.t = 'i' AND ev.k = 7 THEN 1 ELSE 0 END) AS in7,
        SUM(CASE WHEN ev.t = 'i' AND ev.k = 8 THEN 1 ELSE 0 END) AS in8,
        SUM(CASE WHEN ev.t = 'i' AND ev.k = 9 THEN 1 ELSE 0 END) AS in9,
        SUM(CASE WHEN ev.t = 'i' AND ev.k = 10 THEN 1 ELSE 0 END) AS in10,
        SUM(CASE WHEN ev.t = 'i' AND ev.k = 11 THEN 1 ELSE 0 END) AS in11,
        SUM(CASE WHEN ev.t = 'o' AND ev.k = 0 THEN 1 ELSE 0 END) AS out0,
        SUM(CASE WHEN ev.t = 'o' AND ev.k = 1 THEN 1 ELSE 0 END) AS out1,
        SUM(CASE WHEN ev.t = 'o' AND ev.k = 2 THEN 1 ELSE 0 END) AS out2,
        SUM(CASE WHEN ev.t = 'o' AND ev.k = 3 THEN 1 ELSE 0 END) AS out3,
        SUM(CASE WHEN ev.t = 'o' AND ev.k = 4 THEN 1 ELSE 0 END) AS out4,
        SUM(CASE WHEN ev.t = 'o' AND ev.k = 5 THEN 1 ELSE 0 END) AS out5,
        SUM(CASE WHEN ev.t = 'o' AND ev.k = 6 THEN 1 ELSE 0 END) AS out6,
        SUM(CASE WHEN ev.t = 'o' AND ev.k = 7 THEN 1 ELSE 0 END) AS out7,
        SUM(CASE WHEN ev.t = 'o' AND ev.k = 8 THEN 1 ELSE 0 END) AS out8,
        SUM(CASE WHEN ev.t = 'o' AND ev.k = 9 THEN 1 ELSE 0 END) AS out9,
        SUM(CASE WHEN ev.t = 'o' AND ev.k = 10 THEN 1 ELSE 0 END) AS out10,
        SUM(CASE WHEN ev.t = 'o' AND ev.k = 11 THEN 1 ELSE 0 END) AS out11
    FROM ev
    JOIN d_person p ON p.customer_no = ev.customer_no
    GROUP BY p.office_id
),
r AS (
    SELECT
        0 AS pos,
        o.name AS office,
        o.office_id,
        COALESCE(po.s0, 0) AS s0,
        COALESCE(po.s1, 0) AS s1,
        COALESCE(po.s2, 0) AS s2,
        COALESCE(po.s3, 0) AS s3,
        COALESCE(po.s4, 0) AS s4,
        COALESCE(po.s5, 0) AS s5,
        COALESCE(po.s6, 0) AS s6,
        COALESCE(po.s7, 0) AS s7,
        COALESCE(po.s8, 0) AS s8,
        COALESCE(po.s9, 0) AS s9,
        COALESCE(po.s10, 0) AS s10,
        COALESCE(po.s11, 0) AS s11,
        COALESCE(po.s12, 0) AS s12,
        COALESCE(po.in0, 0) AS in0,
        COALESCE(po.in1, 0) AS in1,
        COALESCE(po.in2, 0) AS in2,
        COALESCE(po.in3, 0) AS in3,
        COALESCE(po.in4, 0) AS in4,
        COALESCE(po.in5, 0) AS in5,
        COALESCE(po.in6, 0) AS in6,
        COALESCE(po.in7, 0) AS in7,
        COALESCE(po.in8, 0) AS in8,
        COALESCE(po.in9, 0) AS in9,
        COALESCE(po.in10, 0) AS in10,
        COALESCE(po.in11, 0) AS in11,
        COALESCE(po.out0, 0) AS out0,
        COALESCE(po.out1, 0) AS out1,
        COALESCE(po.out2, 0) AS out2,
        COALESCE(po.out3, 0) AS out3,
        COALESCE(po.out4, 0) AS out4,
        COALESCE(po.out5, 0) AS out5,
        COALESCE(po.out6, 0) AS out6,
        COALESCE(po.out7, 0) AS out7,
        COALESCE(po.out8, 0) AS out8,
        COALESCE(po.out9, 0) AS out9,
        COALESCE(po.out10, 0) AS out10,
        COALESCE(po.out11, 0) AS out11
    FROM office o
    LEFT JOIN po ON po.office_id = o.office_id
    UNION ALL
    SELECT
        1, 'Gesamt', NULL,
        COALESCE(SUM(po.s0), 0),
        COALESCE(SUM(po.s1), 0),
        COALESCE(SUM(po.s2), 0),
        COALESCE(SUM(po.s3), 0),
        COALESCE(SUM(po.s4), 0),
        COALESCE(SUM(po.s5), 0),
        COALESCE(SUM(po.s6), 0),
        COALESCE(SUM(po.s7), 0),
        COALESCE(SUM(po.s8), 0),
        COALESCE(SUM(po.s9), 0),
        COALESCE(SUM(po.s10), 0),
        COALESCE(SUM(po.s11), 0),
        COALESCE(SUM(po.s12), 0),
        COALESCE(SUM(po.in0), 0),
        COALESCE(SUM(po.in1), 0),
        COALESCE(SUM(po.in2), 0),
        COALESCE(SUM(po.in3), 0),
        COALESCE(SUM(po.in4), 0),
        COALESCE(SUM(po.in5), 0),
        COALESCE(SUM(po.in6), 0),
        COALESCE(SUM(po.in7), 0),
        COALESCE(SUM(po.in8), 0),
        COALESCE(SUM(po.in9), 0),
        COALESCE(SUM(po.in10), 0),
        COALESCE(SUM(po.in11), 0),
        COALESCE(SUM(po.out0), 0),
        COALESCE(SUM(po.out1), 0),
        COALESCE(SUM(po.out2), 0),
        COALESCE(SUM(po.out3), 0),
        COALESCE(SUM(po.out4), 0),
        COALESCE(SUM(po.out5), 0),
        COALESCE(SUM(po.out6), 0),
        COALESCE(SUM(po.out7), 0),
        COALESCE(SUM(po.out8), 0),
        COALESCE(SUM(po.out9), 0),
        COALESCE(SUM(po.out10), 0),
        COALESCE(SUM(po.out11), 0)
    FROM po
)
SELECT
    r.office AS office,
    r.s0 AS elb,
    r.s1 AS s1,
    r.s2 AS s2,
    r.s3 AS s3,
    r.s4 AS s4,
    r.s5 AS s5,
    r.s6 AS s6,
    r.s7 AS s7,
    r.s8 AS s8,
    r.s9 AS s9,
    r.s10 AS s10,
    r.s11 AS s11,
    r.s12 AS elb_prev_year,
    r.in0 AS in0,
    r.in1 AS in1,
    r.in2 AS in2,
    r.in3 AS in3,
    r.in4 AS in4,
    r.in5 AS in5,
    r.in6 AS in6,
    r.in7 AS in7,
    r.in8 AS in8,
    r.in9 AS in9,
    r.in10 AS in10,
    r.in11 AS in11,
    r.out0 AS out0,
    r.out1 AS out1,
    r.out2 AS out2,
    r.out3 AS out3,
    r.out4 AS out4,
    r.out5 AS out5,
    r.out6 AS out6,
    r.out7 AS out7,
    r.out8 AS out8,
    r.out9 AS out9,
    r.out10 AS out10,
    r.out11 AS out11
FROM r
ORDER BY r.pos, r.office, r.office_id
