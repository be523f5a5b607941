-- R03 Kooperationsplan fällig oder fehlend: eLb in scope without an active plan on as_of (FEHLT),
-- or whose active plan is due for review before as_of (UEBERFAELLIG) or by as_of + :lead_days
-- (FAELLIG).
SELECT
    p.customer_no AS customer_no,
    p.name AS name,
    p.case_manager AS case_manager,
    CASE
        WHEN p.plan_id IS NULL THEN 'FEHLT'
        WHEN p.plan_next_review_day < :_as_of THEN 'UEBERFAELLIG'
        ELSE 'FAELLIG'
    END AS plan_status,
    p.plan_type AS plan_type,
    p.plan_next_review AS next_review_date
FROM d_person p
JOIN d_list_scope s
    ON s.customer_no = p.customer_no
   AND s.viewer = :_viewer
WHERE p.is_elb = 1
  AND (:case_manager = '' OR p.case_manager_id = :case_manager)
  AND (p.plan_id IS NULL OR p.plan_next_review_day <= :_as_of + :lead_days)
ORDER BY
    CASE
        WHEN p.plan_id IS NULL THEN 0
        WHEN p.plan_next_review_day < :_as_of THEN 1
        ELSE 2
    END,
    CASE WHEN p.plan_id IS NULL THEN 0 ELSE p.plan_next_review_day END,
    p.customer_no
