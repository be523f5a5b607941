-- R04 U25 ohne Angebot: U25 eLb in scope whose ELB spell covering as_of (the earliest from_date if
-- several; adjacent spells not merged) began at least :min_days days before as_of, with no plan
-- signed, no measure entered and no employment started on or after that from_date.
SELECT
    p.customer_no AS customer_no,
    p.name AS name,
    p.case_manager AS case_manager,
    p.age AS age,
    p.elb_since AS elb_since,
    :_as_of - p.elb_since_day AS days_since_entry
FROM d_person p
JOIN d_list_scope s
    ON s.customer_no = p.customer_no
   AND s.viewer = :_viewer
WHERE p.u25 = 1
  AND (:case_manager = '' OR p.case_manager_id = :case_manager)
  AND p.elb_since_day IS NOT NULL
  AND :_as_of - p.elb_since_day >= :min_days
  AND p.offer_since_entry = 0
ORDER BY :_as_of - p.elb_since_day DESC, p.customer_no
