-- R16 Strukturbericht on as_of: one row per office (by name), then Gesamt. A person's office is
-- the office of their BG. bg: BG active on as_of with at least one eLb member;
-- alleinerziehend_bg: those of bg_type ALLEINERZIEHEND; fluchtkontext_bg: those whose
-- HAUPTPERSON is in Fluchtkontext. elb, nef (NEF spell and not eLb), u25 (eLb under 25),
-- ue50 (eLb aged 50 or more), lzb, persons (eLb + NEF).
-- The figures per office are built at refresh (d_office_structure, opal.refresh.derive_summary:
-- the BG facts from d_person in one pass), so a run reads one row per office.
WITH r AS (
    SELECT
        0 AS pos,
        o.name AS office,
        o.office_id,
        COALESCE(bo.bg, 0) AS bg,
        COALESCE(bo.alleinerziehend_bg, 0) AS alleinerziehend_bg,
        COALESCE(bo.fluchtkontext_bg, 0) AS fluchtkontext_bg,
        COALESCE(bo.elb, 0) AS elb,
        COALESCE(bo.nef, 0) AS nef,
        COALESCE(bo.u25, 0) AS u25,
        COALESCE(bo.ue50, 0) AS ue50,
        COALESCE(bo.lzb, 0) AS lzb,
        COALESCE(bo.persons, 0) AS persons
    FROM office o
    LEFT JOIN d_office_structure bo ON bo.office_id = o.office_id
    UNION ALL
    SELECT
        1, 'Gesamt', NULL,
        COALESCE(SUM(t.bg), 0), COALESCE(SUM(t.alleinerziehend_bg), 0),
        COALESCE(SUM(t.fluchtkontext_bg), 0), COALESCE(SUM(t.elb), 0), COALESCE(SUM(t.nef), 0),
        COALESCE(SUM(t.u25), 0), COALESCE(SUM(t.ue50), 0), COALESCE(SUM(t.lzb), 0),
        COALESCE(SUM(t.persons), 0)
    FROM d_office_structure t  -- one row, whatever the number of offices
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
