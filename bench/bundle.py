"""Benchmark a bundle's PDF (the Monatsbericht) at kreis: wall time, CPU time and peak memory.

Usage: .venv/bin/python bench/bundle.py [--runs 5] [--data-dir DIR] [--bundle monatsbericht]
       [--from-env] [--out FILE]

Without a live generation in ``--data-dir`` (default ``var/bench-reports``, the one
``bench/reports.py`` builds) it first runs ``opal demo-export --scale kreis`` and ``opal
refresh`` there. The bundle then runs ``--runs`` times as controlling through
``pipeline.run_bundle`` exactly as ``opal run`` and the download call it (every part through the
pipeline, its audit rows into a scratch SQLite app DB). Per run: wall seconds, CPU seconds of this
process (the machine is shared: CPU is the steadier figure; the case DB's own CPU is in it on
SQLite, not on PostgreSQL), pages, size, and the peak RSS growth over the run (VmHWM reset before
each run, minus the RSS before it). Target (issue 15): <= 10 s at kreis, memory bounded.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pypdf import PdfReader  # noqa: E402

from bench.reports import ensure_generation  # noqa: E402
from config import Config  # noqa: E402
from opal.access import Actor  # noqa: E402
from opal.catalogue import load_and_check  # noqa: E402
from opal.context import Context  # noqa: E402
from opal.db import case_engine, init_app_db, make_engine  # noqa: E402
from opal.pipeline import RunRequest, run_bundle  # noqa: E402


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench-reports"))
    parser.add_argument("--bundle", default="monatsbericht")
    parser.add_argument("--out", type=Path, help="write the last run's PDF here")
    parser.add_argument("--from-env", action="store_true",
                        help="use the live generation the OPAL_* variables name")
    args = parser.parse_args()
    config = (Config.from_env() if args.from_env
              else ensure_generation(args.data_dir.resolve(), 1, "2026-11-23"))
    with tempfile.TemporaryDirectory() as scratch:
        apps = make_engine(f"sqlite:///{scratch}/app.db")
        init_app_db(apps, config.app_db_schema)
        ctx = Context(config, case_engine(config), apps, load_and_check())
        req = RunRequest(args.bundle, Actor("bench-ctrl", "controlling"), {}, "pdf",
                         client="bench")
        walls: list[float] = []
        cpus: list[float] = []
        print(f"{'run':>3} {'wall s':>7} {'cpu s':>6} {'pages':>5} {'KiB':>6} "
              f"{'peak MiB':>8}")
        for i in range(args.runs):
            try:  # reset the peak (VmHWM) so that only this run counts
                Path("/proc/self/clear_refs").write_text("5")
            except OSError:
                pass
            base = _status_kib("VmRSS")
            start, start_cpu = time.perf_counter(), time.process_time()
            out = run_bundle(ctx, req)
            wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
            peak = (_status_kib("VmHWM") - base) / 1024
            body = out.body
            pages = len(PdfReader(io.BytesIO(body)).pages)
            walls.append(wall)
            cpus.append(cpu)
            print(f"{i + 1:3d} {wall:7.2f} {cpu:6.2f} {pages:5d} {len(body) // 1024:6d} "
                  f"{peak:8.1f}", flush=True)
        if args.out is not None:
            args.out.write_bytes(body)
        print(f"median wall {statistics.median(walls):.2f} s, median cpu "
              f"{statistics.median(cpus):.2f} s")
        ctx.case_db.dispose()
        apps.dispose()


if __name__ == "__main__":
    main()
