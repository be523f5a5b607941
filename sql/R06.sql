-- R06 Drohender Langzeitleistungsbezug: eLb in scope, not yet LZB (eLb days in 730 < 638), with
-- at least :threshold_days eLb days in the 730 days ending on as_of.
SELECT
    p.customer_no AS customer_no,
    p.name AS name,
    p.case_manager AS case_manager,
    p.elb_days_730 AS elb_days_730,
    638 - p.elb_days_730 AS days_to_lzb
FROM d_person p
JOIN d_list_scope s
    ON s.customer_no = p.customer_no
   AND s.viewer = :_viewer
WHERE p.is_elb = 1
  AND (:case_manager = '' OR p.case_manager_id = :case_manager)
  AND p.lzb = 0
  AND p.elb_days_730 < 638
  AND p.elb_days_730 >= :threshold_days
ORDER BY 638 - p.elb_days_730, p.customer_no
