-- R15 Maßnahmeeintritte und Auslastung in [:from_date, :to_date] (day numbers, both ends
-- included), optionally one legal basis. One row per measure_code with an entry or an exit in the
-- range or a participant active on :to_date (entry <= to_date <= coalesce(exit, planned end),
-- open when both are empty), by legal_basis and measure_code (code point).
-- Exits are counted by exit_reason; an exit without a reason counts as SONSTIGES.
-- cost_cents: the cost of the entries in the range (an empty cost counts 0).
-- The facts per measure and day are built at refresh (d_measure_day, opal.refresh.derive_summary:
-- entries and their cost on the entry day, exits on the exit day, participants as +1 on the
-- entry day and -1 the day after active_to_day), so a run adds up days, not participations.
WITH f AS (
    SELECT
        d.measure_code,
        SUM(CASE WHEN d.day >= :from_date THEN d.entries ELSE 0 END) AS entries,
        SUM(d.active_delta) AS participants,
        SUM(CASE WHEN d.day >= :from_date THEN d.exits_regulaer ELSE 0 END) AS exits_regulaer,
        SUM(CASE WHEN d.day >= :from_date THEN d.exits_abbruch ELSE 0 END) AS exits_abbruch,
        SUM(CASE WHEN d.day >= :from_date THEN d.exits_integration ELSE 0 END)
            AS exits_integration,
        SUM(CASE WHEN d.day >= :from_date THEN d.exits_sonstiges ELSE 0 END) AS exits_sonstiges,
        SUM(CASE WHEN d.day >= :from_date THEN d.cost_cents ELSE 0 END) AS cost_cents
    FROM d_measure_day d
    WHERE d.day <= :to_date
    GROUP BY d.measure_code
),
r AS (
    SELECT
        mt.legal_basis,
        mt.measure_code,
        mt.name AS measure_name,
        f.entries,
        f.participants,
        f.exits_regulaer,
        f.exits_abbruch,
        f.exits_integration,
        f.exits_sonstiges,
        f.cost_cents,
        f.exits_regulaer + f.exits_abbruch + f.exits_integration + f.exits_sonstiges AS exits
    FROM measure_type mt
    JOIN f ON f.measure_code = mt.measure_code
    WHERE (:legal_basis = '' OR mt.legal_basis = :legal_basis)
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
