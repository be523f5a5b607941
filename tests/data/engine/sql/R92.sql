-- Test aggregate: one row per office (also offices without persons), then Gesamt.
WITH per_office AS (
    SELECT o.office_id, o.name AS office,
           SUM(CASE WHEN p.is_elb = 1 THEN 1 ELSE 0 END) AS elb,
           SUM(CASE WHEN p.is_elb = 1 AND p.days_since_contact <= :days THEN 1 ELSE 0 END)
               AS with_contact,
           SUM(CASE WHEN p.is_elb = 1 AND p.days_since_contact IS NOT NULL
                    THEN p.days_since_contact ELSE 0 END) AS days_sum,
           SUM(CASE WHEN p.is_elb = 1 AND p.days_since_contact IS NOT NULL THEN 1 ELSE 0 END)
               AS days_n,
           SUM(CASE WHEN p.is_elb = 1 THEN p.age ELSE 0 END) AS cost_cents
    FROM office o
    LEFT JOIN d_person p
      ON p.office_id = o.office_id AND (:_county = 1 OR p.team_id = :_team_id)
    GROUP BY o.office_id, o.name
)
SELECT office, elb, with_contact, days_sum, days_n, cost_cents FROM (
    SELECT 0 AS k, office, office_id, elb, with_contact, days_sum, days_n, cost_cents
    FROM per_office
    UNION ALL
    SELECT 1, 'Gesamt', '', SUM(elb), SUM(with_contact), SUM(days_sum), SUM(days_n),
           SUM(cost_cents)
    FROM per_office
) x
ORDER BY k, office, office_id
