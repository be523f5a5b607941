"""Benchmark disclosure control: information loss and the time the step adds, per report.

Usage: .venv/bin/python bench/disclosure.py [--data-dir DIR] [--seed 1] [--runs 15]
       [--from-env]

Runs every report controlling may run with a sweep of parameters (the defaults, other months,
other windows) through ``run_report`` as controlling, and captures the rows that enter
``opal.disclosure.protect``. For each output it counts the count cells (columns of kind
``count``), the count cells suppressed *before* (the per-row rule OPAL had until issue 13:
counts of 1 or 2, then what is computed from them) and *after* (``protect``: primary, derived,
secondary), and times ``protect`` alone (median of ``--runs`` calls on the same rows).
Without a live generation in ``--data-dir`` (default ``var/bench-reports``) it first builds a
kreis-scale one (as bench/reports.py does).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import opal.query  # noqa: E402
from config import Config  # noqa: E402
from opal import dates  # noqa: E402
from opal.access import Actor  # noqa: E402
from opal.catalogue import ReportDefinition, load_and_check  # noqa: E402
from opal.compute import parse  # noqa: E402
from opal.context import Context  # noqa: E402
from opal.db import case_engine, init_app_db, make_engine  # noqa: E402
from opal.disclosure import _Table, attack, kind_of, threshold  # noqa: E402
from opal.pipeline import run_report  # noqa: E402
from opal.result import SUPPRESSED  # noqa: E402
from reports import ensure_generation  # noqa: E402


def sweep(as_of: Any) -> dict[str, list[dict[str, str]]]:
    """The parameter sets per report (relative to the data date)."""
    last = dates.latest_complete_month(as_of)

    def month(back: int) -> str:
        return dates.month_key(last - back)

    def window(first: int, end: int) -> dict[str, str]:
        return {"from_date": dates.month_first(last - first).isoformat(),
                "to_date": dates.month_last(last - end).isoformat()}

    return {
        "R09": [{}],
        "R10": [{"days": d} for d in ("7", "30", "90", "365")],
        "R11": [{"month": month(b)} for b in (0, 3, 12)],
        "R12": [{"month": month(0), "group_by": g}
                for g in ("office", "sex", "fluchtkontext", "alleinerziehend")],
        "R13": [{"month": month(b)} for b in (0, 12)],
        "R14": [{"month": month(b)} for b in (0, 12)],
        "R15": [{}, window(0, 0), window(11, 0)],
        "R16": [{}],
    }


def before(defn: ReportDefinition, rows: list[dict[str, Any]]) -> set[tuple[int, str]]:
    """The cells the per-row rule before issue 13 suppressed (query._suppress as it was)."""
    visible = defn.visible_columns
    out: set[tuple[int, str]] = set()
    for i, row in enumerate(rows):
        hit = {c.key for c in visible if c.count and row[c.key] in (1, 2)
               and not isinstance(row[c.key], bool)}
        changed = bool(hit)
        while changed:
            changed = False
            for c in visible:
                reads = set(c.suppress_with) | (parse(c.compute).names if c.compute else set())
                if c.key not in hit and reads & hit:
                    hit.add(c.key)
                    changed = True
        out |= {(i, k) for k in hit}
    return out


def recoverable(defn: ReportDefinition, rows: list[dict[str, Any]],
                hit: set[tuple[int, str]]) -> int:
    """How many cells of pattern ``hit`` the attacker recovers or bounds below 3."""
    table = _Table(defn, rows)
    if not table.relations:
        return 0
    return len(attack(table.relations,
                      {c: None if c in hit else table.bounds(c) for c in table.of},
                      [c for c in table.of if c in hit],
                      {c: threshold(table.cols[c[1]]) for c in table.of}))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench-reports"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", default="2026-11-23")
    parser.add_argument("--from-env", action="store_true")
    args = parser.parse_args()
    if args.from_env:
        config = Config.from_env(dict(os.environ))
    else:
        config = ensure_generation(args.data_dir.resolve(), args.seed, args.as_of)
    captured: list[tuple[ReportDefinition, list[dict[str, Any]]]] = []
    original = opal.query.protect

    def capture(defn: ReportDefinition, rows: list[dict[str, Any]]) -> Any:
        captured.append((defn, [dict(r) for r in rows]))
        return original(defn, rows)

    opal.query.protect = capture  # type: ignore[assignment]
    actor = Actor("bench-ctrl", "controlling", None, None)
    per_report: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    with tempfile.TemporaryDirectory() as scratch:
        apps = make_engine(f"sqlite:///{scratch}/app.db")
        init_app_db(apps, config.app_db_schema)
        ctx = Context(config, case_engine(config), apps, load_and_check())
        print(f"{'report':6} {'params':44} {'rows':>5} {'counts':>6} {'before':>7} "
              f"{'after':>6} {'all b/a':>9} {'protect ms':>10} {'recoverable before':>18}")
        for code, sets in sweep(dates.from_day(_as_of_day(ctx))).items():
            for params in sets:
                captured.clear()
                run_report(ctx, code, actor, params, "json", client="bench")
                defn, rows = captured[-1]
                out, _n = original(defn, rows)
                counts = [(i, c.key) for i in range(len(rows)) for c in defn.visible_columns
                          if kind_of(c) == "count"]
                old = before(defn, rows)
                new = {(i, k) for i, r in enumerate(out) for k, v in r.items()
                       if v is SUPPRESSED}
                times = []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    original(defn, rows)
                    times.append((time.perf_counter() - started) * 1000)
                ms = statistics.median(times)
                lost = recoverable(defn, rows, old)
                c_old = sum(1 for c in counts if c in old)
                c_new = sum(1 for c in counts if c in new)
                label = ",".join(f"{k}={v}" for k, v in params.items()) or "(defaults)"
                print(f"{code:6} {label[:44]:44} {len(rows):5d} {len(counts):6d} "
                      f"{c_old:7d} {c_new:6d} {len(old):4d}/{len(new):<4d} {ms:10.2f} "
                      f"{lost:18d}")
                agg = per_report[code]
                agg["outputs"] += 1
                agg["counts"] += len(counts)
                agg["before"] += c_old
                agg["after"] += c_new
                agg["ms"] = max(agg["ms"], ms)
                agg["ms_sum"] += ms
                agg["lost"] += lost
        ctx.case_db.dispose()
        apps.dispose()
    print()
    print(f"{'report':6} {'outputs':>7} {'count cells':>11} {'before':>14} {'after':>14} "
          f"{'protect ms mean/max':>20} {'recoverable before':>18}")
    for code, agg in per_report.items():
        n = agg["counts"] or 1
        print(f"{code:6} {int(agg['outputs']):7d} {int(agg['counts']):11d} "
              f"{int(agg['before']):5d} ({agg['before'] / n:5.1%}) "
              f"{int(agg['after']):5d} ({agg['after'] / n:5.1%}) "
              f"{agg['ms_sum'] / agg['outputs']:10.2f}/{agg['ms']:<8.2f} {int(agg['lost']):10d}")


def _as_of_day(ctx: Context) -> int:
    from sqlalchemy import text

    with ctx.case_db.connect() as conn:
        return int(conn.execute(text("SELECT as_of_day FROM d_meta")).scalar_one())


if __name__ == "__main__":
    main()
