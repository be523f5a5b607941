"""R18's SQL is R17's, rewritten for a series of months, so that R18's figure for month m is
R17's figure for m: ``python -m opal.trend_sql`` writes ``sql/R18.sql`` from ``sql/R17.sql``,
and a test checks the checked-in file is what this gives (a change to R17 must be carried over).

The rewrite: R17's aggregate CTE ``a`` with ``:month`` replaced by each month ``m`` of the
series ``:month - :months + 1 .. :month`` and grouped by it, without the previous year's
``p_*`` columns; the facts of ``d_month_fact`` are first summed per month (``g``, at most the
series and the 23 months before it), and each month reads its 24 months from that (``f``); each
of R17's 15 figure rows is kept behind ``WHERE :figure = '<code>'``.
"""

from __future__ import annotations

import re
import sys

from opal.resources import resource_dir

HEADER = """\
-- R18 Kennzahl im Zeitverlauf: one figure of R17 (:figure) for each month m of the series
-- :month - :months + 1 .. :month (oldest first), for the county or one office (:office, '' =
-- county), optionally one sex (:sex, '' = all). Written by `python -m opal.trend_sql` from
-- sql/R17.sql (see its header for the rules; do not edit here, change R17.sql and run it
-- again): R17's `a` with :month replaced by each month m of the series and
-- without the previous year's p_* columns, so that R18's value for m is R17's value for m
-- (tests/test_reports_trend.py checks it for every figure). The facts are first summed per
-- month over office and sex (g: one row per month of m - 23 .. :month, K2E3 reaches back 23
-- months), then each month m of the series reads the 24 months before it (f).
WITH s AS (
    SELECT dm.month_idx AS m
    FROM d_month dm
    WHERE dm.month_idx BETWEEN :month - :months + 1 AND :month
),
g AS (
    SELECT ms.month_idx,"""
FACTS_TAIL = """\
    FROM d_month_fact ms
    WHERE ms.month_idx BETWEEN :month - :months - 22 AND :month
      AND (:office = '' OR ms.office_id = :office)
      AND (:sex = '' OR ms.sex = :sex)
    GROUP BY ms.month_idx
),
f AS (
    SELECT s.m, g.*
    FROM s LEFT JOIN g ON g.month_idx BETWEEN s.m - 23 AND s.m
),"""
_PREVIOUS = re.compile(r"AS (p_\w+,?|prev_flag)$")
_FIGURE = re.compile(r"    '(\w+)' AS figure,$")
R17_END = ") r\nORDER BY r.pos"
R18_END = ") r\nJOIN d_month dm ON dm.month_idx = r.month_idx\nORDER BY r.month_idx"


def r18_from_r17(r17: str) -> str:
    """The text of ``sql/R18.sql`` for R17's SQL ``r17`` (AssertionError if its shape
    changed so that the rewrite no longer applies)."""
    lines = r17.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("a AS ("))
    select = next(i for i, line in enumerate(lines) if line.startswith("SELECT r.figure"))
    out = [HEADER, *_facts(lines[start:select]), FACTS_TAIL, *_aggregates(lines[start:select])]
    out.append(f"SELECT dm.month, {_columns()} FROM (")
    rows = "\n".join(_figure_rows(lines[select + 1:])).rstrip("\n")
    assert rows.endswith(R17_END), rows[-40:]
    return "\n".join(out) + "\n" + rows[: -len(R17_END)] + R18_END + "\n"


def _facts(aggregate: list[str]) -> list[str]:
    """``g``'s sums: every fact column R17's aggregates read."""
    names = sorted(set(re.findall(r"\bf\.(\w+)", "\n".join(aggregate))) - {"month_idx"})
    return [f"        SUM(ms.{n}) AS {n}" + ("," if i < len(names) - 1 else "")
            for i, n in enumerate(names)]


def _aggregates(aggregate: list[str]) -> list[str]:
    """R17's ``a`` per month ``m`` of the series, without the previous year's columns."""
    kept = [line.replace(":month", "f.m") for line in aggregate if not _PREVIOUS.search(line)]
    assert [line.strip() for line in kept[-2:]] == ["FROM f", ")"], kept[-3:]
    body = kept[:-2]
    body.insert(2, "        f.m AS m,")
    body[-1] = body[-1].removesuffix(",")
    return [*body, "    FROM f", "    GROUP BY f.m", ")"]


def _columns() -> str:
    pairs = ", ".join(f"r.c_a{i}, r.c_b{i}" for i in range(12))
    return (f"r.month_idx, r.figure, r.name, r.base, r.note, r.target, {pairs}, r.num_n, "
            "r.num_d, r.num_places, r.den_n, r.den_d, r.den_places, r.num_flag, r.den_flag")


def _figure_rows(rows: list[str]) -> list[str]:
    """R17's 15 figure rows for the month ``a.m``, each only for its own ``:figure``."""
    out: list[str] = []
    figure = ""
    for line in rows:
        if _PREVIOUS.search(line):
            continue
        found = _FIGURE.match(line)
        if found:
            figure = found.group(1)
        if line == "FROM a":
            line = f"FROM a WHERE :figure = '{figure}'"
        out.append(line)
        if line.lstrip().startswith("CASE WHEN") and line.endswith("AS den_flag,"):
            out.append("    a.m AS month_idx")
    return out


def main() -> None:
    """Write ``sql/R18.sql`` from ``sql/R17.sql``."""
    sql = resource_dir("sql")
    text = r18_from_r17((sql / "R17.sql").read_text(encoding="utf-8"))
    (sql / "R18.sql").write_text(text, encoding="utf-8")
    print(f"wrote {sql / 'R18.sql'}", file=sys.stderr)


if __name__ == "__main__":
    main()
