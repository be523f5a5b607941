-- R09 Betreuungsschlüssel: one row per team in scope (team lead: own team; office lead: the
-- teams of office :_office_id; controlling: every team of the county), by team_id. fte_e4
-- sums the fte (ten-thousandths) of the team's active FALLMANAGEMENT/ARBEITSVERMITTLUNG staff; elb counts the eLb on as_of whose case manager is one
-- of them (protected persons included: only a number is shown). Rates are compute columns.
WITH cm AS (
    SELECT st.staff_id, st.team_id, st.fte_e4
    FROM staff st
    WHERE st.active = 1
      AND st."function" IN ('FALLMANAGEMENT', 'ARBEITSVERMITTLUNG')
),
fte AS (
    SELECT cm.team_id, SUM(cm.fte_e4) AS fte_e4
    FROM cm
    GROUP BY cm.team_id
),
elb AS (  -- d_staff_elb: the eLb on as_of per case manager, counted at refresh
    SELECT cm.team_id, SUM(se.elb) AS elb
    FROM cm
    JOIN d_staff_elb se ON se.staff_id = cm.staff_id
    GROUP BY cm.team_id
)
SELECT
    t.team_id AS team_id,
    t.name AS team,
    o.name AS office,
    t.focus AS focus,
    COALESCE(fte.fte_e4, 0) AS fte_e4,
    COALESCE(elb.elb, 0) AS elb,
    CASE WHEN t.focus = 'U25' THEN :target_u25
         WHEN t.focus = 'FM' THEN :target_fm
         ELSE :target_ue25 END AS target
FROM team t
JOIN office o ON o.office_id = t.office_id
LEFT JOIN fte ON fte.team_id = t.team_id
LEFT JOIN elb ON elb.team_id = t.team_id
WHERE (:_county = 1 OR t.team_id = :_team_id
       OR (:_office_id <> '' AND t.office_id = :_office_id))
ORDER BY t.team_id
