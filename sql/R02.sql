-- R02 Kunden ohne Kontakt seit N Tagen: eLb in scope never contacted (no kept contact on or
-- before as_of) or whose last kept contact is more than :n_days days before as_of.
SELECT
    p.customer_no AS customer_no,
    p.name AS name,
    p.case_manager AS case_manager,
    p.profile_group AS profile_group,
    p.last_contact AS last_contact,
    :_as_of - p.last_contact_day AS days_since_contact
FROM d_person p
JOIN d_list_scope s
    ON s.customer_no = p.customer_no
   AND s.viewer = :_viewer
WHERE p.is_elb = 1
  AND (p.last_contact_day IS NULL OR :_as_of - p.last_contact_day > :n_days)
  AND (:profile_group = '' OR p.profile_group = :profile_group)
  AND (:case_manager = '' OR p.case_manager_id = :case_manager)
ORDER BY
    CASE WHEN p.last_contact_day IS NULL THEN 0 ELSE 1 END,
    CASE WHEN p.last_contact_day IS NULL THEN 0 ELSE :_as_of - p.last_contact_day END DESC,
    p.customer_no
