-- R07 Potenzial §16i / §16e: eLb in scope that are p16i (age >= 25 and eLb days in 2555 >= 2190,
-- or >= 1825 when severely disabled or a KIND of the same BG is under 18 on as_of) or p16e
-- (al_days >= 730).
WITH c AS (
    SELECT
        p.customer_no,
        p.name,
        p.case_manager,
        p.age,
        p.elb_days_2555,
        p.al_days,
        CASE WHEN p.age >= 25
                  AND (p.elb_days_2555 >= 2190
                       OR (p.elb_days_2555 >= 1825
                           AND (p.severely_disabled = 1 OR p.child_u18_in_bg = 1)))
             THEN 1 ELSE 0 END AS p16i,
        CASE WHEN p.al_days >= 730 THEN 1 ELSE 0 END AS p16e
    FROM d_person p
    JOIN d_list_scope s
        ON s.customer_no = p.customer_no
       AND s.viewer = :_viewer
    WHERE p.is_elb = 1
      AND (:case_manager = '' OR p.case_manager_id = :case_manager)
)
SELECT customer_no, name, case_manager, age, elb_days_2555, al_days, p16i, p16e
FROM c
WHERE p16i = 1 OR p16e = 1
ORDER BY customer_no
