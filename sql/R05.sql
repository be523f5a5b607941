-- R05 Maßnahmen enden demnächst: participations (of persons in scope) without exit_date whose
-- planned_end_date lies in [as_of, as_of + :n_days]; optional filter on the legal basis.
-- The case load drives the query (CROSS JOIN keeps d_list_scope the outer loop on SQLite; on
-- PostgreSQL it is a plain join): its cost follows the case load, not the county's participations.
SELECT
    p.customer_no AS customer_no,
    p.name AS name,
    p.case_manager AS case_manager,
    mp.measure_code AS measure_code,
    mt.name AS measure_name,
    mt.legal_basis AS legal_basis,
    mp.provider AS provider,
    mp.entry_date AS entry_date,
    mp.planned_end_date AS planned_end_date,
    CASE WHEN EXISTS (
        SELECT 1
        FROM measure_participation f
        WHERE f.customer_no = mp.customer_no
          AND f.participation_id <> mp.participation_id
          AND f.entry_day > mp.entry_day
          AND f.entry_day <= :_as_of
    ) THEN 1 ELSE 0 END AS has_follow_up
FROM d_list_scope s
CROSS JOIN measure_participation mp
JOIN measure_type mt ON mt.measure_code = mp.measure_code
JOIN d_person p ON p.customer_no = s.customer_no
WHERE s.viewer = :_viewer
  AND (:case_manager = '' OR p.case_manager_id = :case_manager)
  AND mp.customer_no = s.customer_no
  AND mp.exit_day IS NULL
  AND mp.entry_day <= :_as_of
  AND mp.planned_end_day >= :_as_of
  AND mp.planned_end_day <= :_as_of + :n_days
  AND (:legal_basis = '' OR mt.legal_basis = :legal_basis)
ORDER BY mp.planned_end_day, p.customer_no, mp.entry_day, mp.participation_id
