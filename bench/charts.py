"""Benchmark what a chart adds to a report's PDF (target: at most 20 %) and to its HTML.

Usage: .venv/bin/python bench/charts.py [--runs 15] [--data-dir DIR] [--from-env]

On the kreis generation of ``bench/reports.py`` (built there if missing) each charted report
(``opal.charts.CHARTS``: R18 with its defaults, 24 months of K2; R12; R13) runs ``--runs``
times for controlling (``run ms``: query, disclosure control, audit); its Result is then
rendered ``--runs`` times as PDF with its chart and as the same Result under a code without a
chart (the table alone), alternating, and the same for the standalone HTML. Medians of wall and
CPU time (``time.process_time``: the machine is shared); the last column is what the chart adds
to the whole download (run + render without the chart).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.reports import ensure_generation  # noqa: E402
from config import Config  # noqa: E402
from opal.access import Actor  # noqa: E402
from opal.catalogue import load_and_check  # noqa: E402
from opal.charts import CHARTS  # noqa: E402
from opal.context import Context  # noqa: E402
from opal.db import case_engine, init_app_db, make_engine  # noqa: E402
from opal.pipeline import run_report  # noqa: E402
from opal.renderers import get_renderer  # noqa: E402
from opal.result import Result  # noqa: E402


def timed(result: Result, fmt: str) -> tuple[float, float]:
    """Wall and CPU milliseconds of one render of ``result`` as ``fmt``."""
    wall, cpu = time.perf_counter(), time.process_time()
    get_renderer(fmt).render(result)
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench-reports"))
    parser.add_argument("--from-env", action="store_true")
    args = parser.parse_args()
    config = (Config.from_env(dict(os.environ)) if args.from_env
              else ensure_generation(args.data_dir.resolve(), 1, "2026-11-23"))
    with tempfile.TemporaryDirectory() as scratch:
        apps = make_engine(f"sqlite:///{scratch}/app.db")
        init_app_db(apps, config.app_db_schema)
        ctx = Context(config, case_engine(config), apps, load_and_check())
        print(f"{'report':6} {'fmt':4} {'rows':>5} {'with ms':>8} {'without ms':>11} "
              f"{'added':>7} {'with cpu':>9} {'without cpu':>12} {'added cpu':>10} "
              f"{'run ms':>7} {'added to run+render':>20}")
        for code in CHARTS:
            runs = []
            for _ in range(args.runs):
                result = run_report(ctx, code, Actor("bench", "controlling"), {}, "json",
                                    client="bench")
                runs.append(result.extra["timing"]["total_s"] * 1000)
            run = statistics.median(runs)
            bare = replace(result, code=code + "-no-chart")  # the table alone
            for fmt in ("pdf", "html"):
                timed(result, fmt)  # warm: fonts, templates
                with_, without = [], []
                for _ in range(args.runs):
                    with_.append(timed(result, fmt))
                    without.append(timed(bare, fmt))
                w = statistics.median(t[0] for t in with_)
                b = statistics.median(t[0] for t in without)
                wc = statistics.median(t[1] for t in with_)
                bc = statistics.median(t[1] for t in without)
                print(f"{code:6} {fmt:4} {result.row_count:5d} {w:8.1f} {b:11.1f} "
                      f"{(w / b - 1) * 100:6.1f}% {wc:9.1f} {bc:12.1f} "
                      f"{(wc / bc - 1) * 100:9.1f}% {run:7.1f} "
                      f"{(w - b) / (run + b) * 100:19.1f}%")
        ctx.case_db.dispose()
        apps.dispose()


if __name__ == "__main__":
    main()
