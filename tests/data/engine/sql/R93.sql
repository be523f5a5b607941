-- Test aggregate: persons whose last kept contact lies in [from_date, to_date].
SELECT COALESCE(p.profile_group, '-') AS profile_group, COUNT(*) AS persons,
       MIN(m.month) AS month_label
FROM d_person p
JOIN d_month m ON m.month_idx = :month
WHERE p.last_contact_day BETWEEN :from_date AND :to_date
  AND (:only_u25 = 0 OR p.u25 = 1)
  AND (:sex = '' OR p.sex = :sex)
  AND (:_county = 1 OR p.team_id = :_team_id)
GROUP BY COALESCE(p.profile_group, '-')
ORDER BY 1
