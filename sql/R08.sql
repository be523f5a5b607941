-- R08 Meldeversäumnisse: persons in scope with at least :min_count NICHT_ERSCHIENEN contacts
-- dated in [as_of - :period_days + 1, as_of].
SELECT
    p.customer_no AS customer_no,
    p.name AS name,
    p.case_manager AS case_manager,
    COUNT(*) AS missed,
    MAX(c.contact_date) AS last_missed
FROM d_list_scope s
JOIN d_person p ON p.customer_no = s.customer_no
JOIN contact c
    ON c.customer_no = s.customer_no
   AND c.outcome = 'NICHT_ERSCHIENEN'
   AND c.contact_day >= :_as_of - :period_days + 1
   AND c.contact_day <= :_as_of
WHERE s.viewer = :_viewer
  AND (:case_manager = '' OR p.case_manager_id = :case_manager)
GROUP BY p.customer_no, p.name, p.case_manager
HAVING COUNT(*) >= :min_count
ORDER BY COUNT(*) DESC, p.customer_no
