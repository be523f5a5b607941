"""Benchmark `opal demo-export`: wall time and peak RSS per scale, each run in a fresh process.

Usage: .venv/bin/python bench/demo_export.py [--nrw] [--seed 1] [--as-of 2026-11-23] [--keep DIR]
Target: kreis within 60 s on a 2-core machine (aim <= 30 s); nrw must finish with bounded memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OPAL = Path(sys.executable).with_name("opal")


def run(scale: str, seed: int, as_of: str, out: Path) -> tuple[float, int, dict[str, int]]:
    """Run one export in a child process; return (seconds, peak RSS in KiB, rows per table)."""
    started = time.perf_counter()
    proc = subprocess.Popen([str(OPAL), "demo-export", str(out), "--scale", scale,
                             "--seed", str(seed), "--as-of", as_of],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"demo-export --scale {scale} failed with {status}")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    rows = {t: v["rows"] for t, v in manifest["tables"].items()}
    return seconds, usage.ru_maxrss, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nrw", action="store_true", help="also run the nrw scale (slow)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", default="2026-11-23")
    parser.add_argument("--keep", type=Path, help="write the exports under DIR/<scale>")
    args = parser.parse_args()
    scales = ["small", "kreis"] + (["nrw"] if args.nrw else [])
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        for scale in scales:
            seconds, rss_kib, rows = run(scale, args.seed, args.as_of, base / scale)
            size = sum(f.stat().st_size for f in (base / scale).iterdir())
            print(f"{scale:6s} wall {seconds:7.1f} s  peak RSS {rss_kib / 1024:7.1f} MiB  "
                  f"files {size / 1e6:8.1f} MB  total rows {sum(rows.values()):>10,}")
            print("       " + ", ".join(f"{t} {n:,}" for t, n in rows.items()))


if __name__ == "__main__":
    main()
