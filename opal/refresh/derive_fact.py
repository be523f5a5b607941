"""``d_month_fact``: every monthly fact of the key figures, per month, office and sex, in one
statement inside the database (no county-sized dict in Python).

It adds up the rows already derived (``d_month_stock``, ``d_integration``, ``d_entry``) and the
money of ``benefit_payment`` (by the BG's office and the sex of its HAUPTPERSON, the lowest
``customer_no`` if an export names several; '' without one). Portable SQL: ``UNION ALL`` and
``GROUP BY``.
"""

from __future__ import annotations

from sqlalchemy import Connection

from opal.casedb.schema import d_month_fact

#: the measure columns of d_month_fact, in its order
MEASURES = tuple(c.name for c in d_month_fact.columns
                 if c.name not in ("month_idx", "office_id", "sex"))


def _part(source: str, where: str, values: dict[str, str]) -> str:
    """One branch of the union: the given measures, 0 for the others."""
    cols = ", ".join(f"{values.get(m, '0')} AS {m}" for m in MEASURES)
    return f"SELECT month_idx, office_id, sex, {cols} FROM {source}{where}"


_STOCK = _part("d_month_stock", "", {
    **{m: m for m in ("elb", "lzb", "lzb_activated", "inflow", "outflow", "lzb_inflow",
                      "lzb_outflow")},
    "ae_elb": "CASE WHEN alleinerziehend = 1 THEN elb ELSE 0 END"})
_INTEGRATION = _part("d_integration", "", {
    "integrations": "1", "lzb_integrations": "lzb_prev", "ae_integrations": "alleinerziehend",
    "continued": "COALESCE(continued, 0)"})
_ENTRY = _part("d_entry", "", {
    "geringfuegig": "CASE WHEN kind = 'GERINGFUEGIG' THEN 1 ELSE 0 END",
    "oeff_gefoerdert": "CASE WHEN kind = 'OEFF_GEFOERDERT' THEN 1 ELSE 0 END"})
#: each BG's office and the sex of its HAUPTPERSON (the lowest ``customer_no`` if an export
#: names several; '' without one), once per BG
_BG_KEYS = """SELECT bu.bg_id, bu.office_id, COALESCE(hp.sex, '') AS sex
    FROM benefit_unit bu
    LEFT JOIN (SELECT p.bg_id, p.sex FROM person p
               WHERE p.bg_role = 'HAUPTPERSON'
                 AND p.customer_no = (SELECT MIN(q.customer_no) FROM person q
                                      WHERE q.bg_id = p.bg_id
                                        AND q.bg_role = 'HAUPTPERSON')) hp
      ON hp.bg_id = bu.bg_id"""


def _payment(keys: str) -> str:
    """The money, summed per month, office and sex before the union (1.6 M rows at kreis)."""
    return _part(
        f"""(SELECT bp.month_idx, k.office_id, k.sex, SUM(bp.llu_cents) AS llu_cents,
                   SUM(bp.luh_cents) AS luh_cents, COUNT(*) AS paid_bg
            FROM benefit_payment bp
            JOIN {keys} k ON k.bg_id = bp.bg_id
            GROUP BY bp.month_idx, k.office_id, k.sex) pay""", "",
        {"llu_cents": "llu_cents", "luh_cents": "luh_cents", "paid_bg": "paid_bg"})


def _build_sql(with_keys: str, keys: str) -> str:
    return (
        f"INSERT INTO d_month_fact (month_idx, office_id, sex, {', '.join(MEASURES)}) "
        f"{with_keys}"
        f"SELECT month_idx, office_id, sex, {', '.join(f'SUM({m})' for m in MEASURES)} FROM ("
        f"{_STOCK} UNION ALL {_INTEGRATION} UNION ALL {_ENTRY} UNION ALL {_payment(keys)}"
        ") u GROUP BY month_idx, office_id, sex"
    )


#: SQLite: the BG keys materialized once (flattened into the join, SQLite looked them up per
#: payment row: 3 s at kreis)
BUILD_SQL = _build_sql(f"WITH bg_keys AS MATERIALIZED ({_BG_KEYS}) ", "bg_keys")
#: PostgreSQL: the keys as a subquery, so that the planner sees their size and hashes them
#: (as a CTE it expected 4 billion joined rows and sorted 94 M payments on disk at nrw: 117 s
#: for the money alone; hashed 44 s)
BUILD_SQL_PG = _build_sql("", f"({_BG_KEYS})")
#: memory for the hashes of that statement (3.1 M BG at nrw: two hashes of ~190 MB with
#: PostgreSQL's default hash_mem_multiplier 2); set for the refresh's transaction only
WORK_MEM = "256MB"


def build_month_fact(conn: Connection) -> None:
    """Fill ``d_month_fact`` from the derived tables and ``benefit_payment`` on ``conn``."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL work_mem = '{WORK_MEM}'")
        conn.exec_driver_sql(BUILD_SQL_PG)
    else:
        conn.exec_driver_sql(BUILD_SQL)
