-- Test list: eLb in scope without a kept contact within :n_days days (this :comment is no
-- placeholder, nor is /* :block */ below).
SELECT p.customer_no, p.name, p.case_manager, p.profile_group, p.last_contact,
       p.days_since_contact, p.u25
FROM d_person p
JOIN d_list_scope s ON s.customer_no = p.customer_no AND s.viewer = :_viewer /* :block */
WHERE p.is_elb = 1
  AND 'lit:eral' <> ''
  AND (p.days_since_contact IS NULL OR p.days_since_contact > :n_days)
  AND (:profile_group = '' OR p.profile_group = :profile_group)
ORDER BY CASE WHEN p.days_since_contact IS NULL THEN 0 ELSE 1 END,
         p.days_since_contact DESC, p.customer_no
