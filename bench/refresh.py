"""Benchmark `opal refresh`: wall time and peak RSS per export scale, on SQLite and PostgreSQL.

Usage: .venv/bin/python bench/refresh.py [--scales small,kreis] [--pg] [--runs 2] [--dir DIR]

Exports are generated with `opal demo-export DIR --scale S --as-of 2026-11-23` when missing.
Each scale is refreshed ``--runs`` times into a fresh data directory (the second run also pays
for the live-generation gates and keeps the previous generation), each in its own process, so
the peak RSS is the refresh's own. The target at kreis scale: <= 60 s wall, <= 1 GiB peak.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OPAL = [sys.executable, "-c", "from opal.cli import main; main()"]
PG_URL = os.environ.get("OPAL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
AS_OF = "2026-11-23"


def ensure_export(root: Path, scale: str) -> Path:
    """Generate the demo export of ``scale`` unless it is already there."""
    directory = root / f"export-{scale}"
    if not (directory / "manifest.json").exists():
        print(f"generating {scale} export into {directory} ...", file=sys.stderr)
        subprocess.run([*OPAL, "demo-export", str(directory), "--scale", scale, "--as-of", AS_OF],
                       check=True, cwd=REPO)
    return directory


def rows_of(export: Path) -> int:
    manifest = json.loads((export / "manifest.json").read_text())
    return sum(int(t["rows"]) for t in manifest["tables"].values())


def timed_refresh(export: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Run one refresh in a child process; return (wall seconds, peak RSS MiB, summary)."""
    started = time.monotonic()
    proc = subprocess.Popen([*OPAL, "refresh", str(export)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"refresh of {export} failed (exit {proc.returncode})")
    return wall, usage.ru_maxrss / 1024, out.strip()


def drop_pg(schemas: list[str]) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        for name in schemas:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="small,kreis")
    parser.add_argument("--pg", action="store_true", help="also refresh into PostgreSQL")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=REPO / "var" / "bench")
    args = parser.parse_args()
    backends = ["sqlite", "pg"] if args.pg else ["sqlite"]
    print(f"{'scale':<7} {'backend':<7} {'run':>3} {'rows':>9} {'wall s':>7} {'peak MiB':>9}")
    for scale in args.scales.split(","):
        export = ensure_export(args.dir, scale)
        for backend in backends:
            data_dir = args.dir / f"data-{scale}-{backend}"
            shutil.rmtree(data_dir, ignore_errors=True)
            data_dir.mkdir(parents=True)
            env = {**os.environ, "OPAL_DATA_DIR": str(data_dir),
                   "OPAL_SECRET_KEY": "bench"}
            schemas: list[str] = []
            if backend == "pg":
                case, app = f"bench_{scale}_case", f"bench_{scale}_app"
                schemas = [case, f"{case}_next", f"{case}_prev", app]
                drop_pg(schemas)
                env.update(OPAL_CASE_DB_URL=PG_URL, OPAL_APP_DB_URL=PG_URL,
                           OPAL_CASE_DB_SCHEMA=case, OPAL_APP_DB_SCHEMA=app)
            else:
                env.pop("OPAL_CASE_DB_URL", None)
                env.pop("OPAL_APP_DB_URL", None)
            for run in range(1, args.runs + 1):
                wall, peak, _ = timed_refresh(export, env)
                print(f"{scale:<7} {backend:<7} {run:>3} {rows_of(export):>9} {wall:>7.1f} "
                      f"{peak:>9.0f}", flush=True)
            if schemas:
                drop_pg(schemas)


if __name__ == "__main__":
    main()
