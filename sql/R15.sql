-- R15 Maßnahmeeintritte und Auslastung in [:from_date, :to_date] (day numbers, both ends
-- included), optionally one legal basis. One row per measure_code with an entry or an exit in the
-- range or a participant active on :to_date (entry <= to_date <= coalesce(exit, planned end),
-- open when both are empty), by legal_basis and measure_code (code point).
-- Exits are counted by exit_reason; an exit without a reason counts as SONSTIGES.
-- cost_cents: the cost of the entries in the range (an empty cost counts 0).
WITH mp AS (
    SELECT
        x.measure_code,
        CASE WHEN x.entry_day >= :from_date AND x.entry_day <= :to_date
             THEN 1 ELSE 0 END AS is_entry,
        CASE WHEN x.entry_day <= :to_date AND x.active_to_day >= :to_date
             THEN 1 ELSE 0 END AS is_participant,
        CASE WHEN x.exit_day >= :from_date AND x.exit_day <= :to_date
             THEN COALESCE(x.exit_reason, 'SONSTIGES') END AS exit_reason,
        x.cost_cents
    FROM measure_participation x
    WHERE x.entry_day <= :_as_of
),
r AS (
    SELECT
        mt.legal_basis,
        mt.measure_code,
        mt.name AS measure_name,
        SUM(mp.is_entry) AS entries,
        SUM(mp.is_participant) AS participants,
        SUM(CASE WHEN mp.exit_reason = 'REGULAER' THEN 1 ELSE 0 END) AS exits_regulaer,
        SUM(CASE WHEN mp.exit_reason = 'ABBRUCH' THEN 1 ELSE 0 END) AS exits_abbruch,
        SUM(CASE WHEN mp.exit_reason = 'INTEGRATION' THEN 1 ELSE 0 END) AS exits_integration,
        SUM(CASE WHEN mp.exit_reason = 'SONSTIGES' THEN 1 ELSE 0 END) AS exits_sonstiges,
        SUM(CASE WHEN mp.is_entry = 1 THEN COALESCE(mp.cost_cents, 0) ELSE 0 END) AS cost_cents,
        SUM(CASE WHEN mp.exit_reason IS NOT NULL THEN 1 ELSE 0 END) AS exits
    FROM measure_type mt
    JOIN mp ON mp.measure_code = mt.measure_code
    WHERE (:legal_basis = '' OR mt.legal_basis = :legal_basis)
    GROUP BY mt.legal_basis, mt.measure_code, mt.name
)
SELECT
    r.legal_basis AS legal_basis,
    r.measure_code AS measure_code,
    r.measure_name AS measure_name,
    r.entries AS entries,
    r.participants AS participants,
    r.exits_regulaer AS exits_regulaer,
    r.exits_abbruch AS exits_abbruch,
    r.exits_integration AS exits_integration,
    r.exits_sonstiges AS exits_sonstiges,
    r.cost_cents AS cost_cents
FROM r
WHERE r.entries > 0 OR r.participants > 0 OR r.exits > 0
ORDER BY r.legal_basis, r.measure_code
