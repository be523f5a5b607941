-- R16 Strukturbericht on as_of: one row per office (by name), then Gesamt. A person's office is
-- the office of their BG. bg: BG active on as_of with at least one eLb member;
-- alleinerziehend_bg: those of bg_type ALLEINERZIEHEND; fluchtkontext_bg: those whose
-- HAUPTPERSON is in Fluchtkontext. elb, nef (NEF spell and not eLb), u25 (eLb under 25),
-- ue50 (eLb aged 50 or more), lzb, persons (eLb + NEF).
-- The BG facts come from d_person (bg_active, bg_type, office_id are the BG's own columns
-- there), one pass without a join: a person neither eLb nor HAUPTPERSON changes no BG figure.
WITH bg AS (
    SELECT
        p.bg_id,
        p.office_id,
        CASE WHEN p.bg_type = 'ALLEINERZIEHEND' THEN 1 ELSE 0 END AS ae,
        MAX(CASE WHEN p.bg_role = 'HAUPTPERSON' AND p.fluchtkontext = 1
                 THEN 1 ELSE 0 END) AS flucht
    FROM d_person p
    WHERE p.bg_active = 1
      AND (p.is_elb = 1 OR p.bg_role = 'HAUPTPERSON')
    GROUP BY p.bg_id, p.office_id, p.bg_type
    HAVING MAX(p.is_elb) = 1
),
bo AS (
    SELECT bg.office_id, COUNT(*) AS bg, SUM(bg.ae) AS alleinerziehend_bg,
           SUM(bg.flucht) AS fluchtkontext_bg
    FROM bg
    GROUP BY bg.office_id
),
po AS (
    SELECT
        p.office_id,
        SUM(p.is_elb) AS elb,
        SUM(p.is_nef) AS nef,
        SUM(p.u25) AS u25,
        SUM(CASE WHEN p.is_elb = 1 AND p.age >= 50 THEN 1 ELSE 0 END) AS ue50,
        SUM(p.lzb) AS lzb,
        SUM(CASE WHEN p.is_elb = 1 OR p.is_nef = 1 THEN 1 ELSE 0 END) AS persons
    FROM d_person p
    GROUP BY p.office_id
),
r AS (
    SELECT
        0 AS pos,
        o.name AS office,
        o.office_id,
        COALESCE(bo.bg, 0) AS bg,
        COALESCE(bo.alleinerziehend_bg, 0) AS alleinerziehend_bg,
        COALESCE(bo.fluchtkontext_bg, 0) AS fluchtkontext_bg,
        COALESCE(po.elb, 0) AS elb,
        COALESCE(po.nef, 0) AS nef,
        COALESCE(po.u25, 0) AS u25,
        COALESCE(po.ue50, 0) AS ue50,
        COALESCE(po.lzb, 0) AS lzb,
        COALESCE(po.persons, 0) AS persons
    FROM office o
    LEFT JOIN bo ON bo.office_id = o.office_id
    LEFT JOIN po ON po.office_id = o.office_id
    UNION ALL
    SELECT
        1, 'Gesamt', NULL,
        COALESCE((SELECT SUM(bo.bg) FROM bo), 0),
        COALESCE((SELECT SUM(bo.alleinerziehend_bg) FROM bo), 0),
        COALESCE((SELECT SUM(bo.fluchtkontext_bg) FROM bo), 0),
        COALESCE((SELECT SUM(po.elb) FROM po), 0),
        COALESCE((SELECT SUM(po.nef) FROM po), 0),
        COALESCE((SELECT SUM(po.u25) FROM po), 0),
        COALESCE((SELECT SUM(po.ue50) FROM po), 0),
        COALESCE((SELECT SUM(po.lzb) FROM po), 0),
        COALESCE((SELECT SUM(po.persons) FROM po), 0)
)
SELECT
    r.office AS office,
    r.bg AS bg,
    r.alleinerziehend_bg AS alleinerziehend_bg,
    r.fluchtkontext_bg AS fluchtkontext_bg,
    r.elb AS elb,
    r.nef AS nef,
    r.u25 AS u25,
    r.ue50 AS ue50,
    r.lzb AS lzb,
    r.persons AS persons
FROM r
WHERE :_office_id = '' OR r.office_id = :_office_id  -- office lead: their office, no Gesamt
ORDER BY r.pos, r.office, r.office_id
