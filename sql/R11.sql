-- R11 Integrationen nach Wirtschaftsabschnitt: integrations (d_integration: at most one per
-- person and month) whose month lies in the 12 months ending with :month, one row per
-- wz_section present (by code point, the integrations without a section last), then Gesamt.
-- Team lead: persons of every staff member of the team, active or not (current case manager);
-- office lead: of every team of office :_office_id.
-- known: integrations whose bedarfsdeckend status is known (s + 91 <= as_of).
WITH i AS (
    SELECT di.wz_section, di.kind, di.bedarfsdeckend
    FROM d_integration di
    WHERE di.month_idx BETWEEN :month - 11 AND :month
      AND (:_county = 1 OR di.team_id = :_team_id
           OR di.team_id IN (SELECT t.team_id FROM team t WHERE t.office_id = :_office_id))
),
r AS (
    SELECT
        CASE WHEN i.wz_section IS NULL THEN 1 ELSE 0 END AS pos,
        i.wz_section,
        COUNT(*) AS integrations,
        SUM(CASE WHEN i.kind = 'SVB' THEN 1 ELSE 0 END) AS svb,
        SUM(CASE WHEN i.kind = 'AUSBILDUNG' THEN 1 ELSE 0 END) AS ausbildung,
        SUM(CASE WHEN i.kind = 'SELBSTAENDIG' THEN 1 ELSE 0 END) AS selbstaendig,
        SUM(CASE WHEN i.bedarfsdeckend = 1 THEN 1 ELSE 0 END) AS bedarfsdeckend,
        SUM(CASE WHEN i.bedarfsdeckend IS NOT NULL THEN 1 ELSE 0 END) AS known
    FROM i
    GROUP BY i.wz_section
    UNION ALL
    SELECT
        2, 'Gesamt',
        COUNT(*),
        COALESCE(SUM(CASE WHEN i.kind = 'SVB' THEN 1 ELSE 0 END), 0),
        COALESCE(SUM(CASE WHEN i.kind = 'AUSBILDUNG' THEN 1 ELSE 0 END), 0),
        COALESCE(SUM(CASE WHEN i.kind = 'SELBSTAENDIG' THEN 1 ELSE 0 END), 0),
        COALESCE(SUM(CASE WHEN i.bedarfsdeckend = 1 THEN 1 ELSE 0 END), 0),
        COALESCE(SUM(CASE WHEN i.bedarfsdeckend IS NOT NULL THEN 1 ELSE 0 END), 0)
    FROM i
)
SELECT
    r.wz_section AS wz_section,
    r.integrations AS integrations,
    r.svb AS svb,
    r.ausbildung AS ausbildung,
    r.selbstaendig AS selbstaendig,
    r.bedarfsdeckend AS bedarfsdeckend,
    r.known AS known
FROM r
ORDER BY r.pos, r.wz_section
