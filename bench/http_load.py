"""Benchmark the portal over HTTP: 50 logged-in users against ``opal serve`` (locust, headless).

Usage: .venv/bin/python bench/http_load.py [--users 50] [--spawn-rate 2] [--time 180] [--workers N]
       [--data-dir bench/out/kreis] [--as-of YYYY-MM-DD] [--port 0]

* Data: a kreis-scale generation in ``--data-dir`` (built with ``opal demo-export --scale kreis``
  and ``opal refresh`` when missing; reused otherwise).
* Accounts: 40 case managers linked to the 40 largest case loads, 6 team leads of the 6 largest
  teams, 4 controlling; fresh random passwords every run (``upsert_user``), written only into
  ``<data-dir>/bench-accounts.json`` (0600) for the locust process.
* Portal: ``opal serve`` on a free 127.0.0.1 port with the demo's cookie setting and two limits
  raised so that the bench measures speed, not limits: ``OPAL_DOWNLOADS_PER_MINUTE`` (the
  per-user download budget) and ``OPAL_LOGIN_MAX_FAILURES`` (all simulated users come from
  127.0.0.1; no login is expected to fail, a failure is counted as an error all the same).
* Load: locust (installed by this script into ``bench/.venv-locust``, never into the project's
  venv) runs ``bench/locustfile.py`` headless. Users start at ``--spawn-rate`` per second and
  log in (argon2id: deliberately slow); once the last one is logged in the statistics restart
  and ``--time`` seconds of steady traffic are measured (then the locustfile stops the run).
  The summary per request type comes from locust's CSV; the logins' server-side times from the
  access log.

(Not ``bench/http.py``: a module named ``http`` next to the bench scripts would shadow the
standard library's ``http`` package for every one of them.)

Targets: 0 errors; p95 <= 300 ms for the HTML lists, <= 2 s for the PDFs.
Traffic goes to 127.0.0.1 only and stops after ``--time``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from config import Config  # noqa: E402
from opal import dates  # noqa: E402

OPAL = Path(sys.executable).with_name("opal")
LOCUST_VENV = BENCH / ".venv-locust"
LOCUST_PACKAGES = ("locust", "pyinstrument", "py-spy")
ROLES = {"case_manager": 40, "team_lead": 6, "controlling": 4}
LIMITS = {"OPAL_DOWNLOADS_PER_MINUTE": "100000", "OPAL_LOGIN_MAX_FAILURES": "100000"}
FUNCTIONS = "('FALLMANAGEMENT', 'ARBEITSVERMITTLUNG')"


def ensure_venv(venv: Path, packages: tuple[str, ...], probe: str) -> Path:
    """Create ``venv`` with ``packages`` unless ``bin/<probe>`` exists; return its bin dir."""
    bin_dir = venv / "bin"
    if not (bin_dir / probe).exists():
        print(f"installing {', '.join(packages)} into {venv} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(bin_dir / "pip"), "install", "-q", *packages], check=True)
    return bin_dir


def opal_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of every opal command: this data dir, nothing from the caller's OPAL_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPAL_")}
    return {**env, "OPAL_DATA_DIR": str(data_dir), "OPAL_SESSION_COOKIE_SECURE": "0", **extra}


def ensure_data(data_dir: Path, as_of: str) -> Config:
    """Return the config of ``data_dir``; build secret, export and live generation if missing."""
    from opal.demo.setup import ensure_secret

    env = opal_env(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    ensure_secret(data_dir)
    if not (data_dir / "case.db").exists():
        export = data_dir / "export"
        print(f"building a kreis-scale generation in {data_dir} ...", file=sys.stderr)
        if not (export / "manifest.json").exists():
            subprocess.run([str(OPAL), "demo-export", str(export), "--scale", "kreis", "--seed",
                            "1", "--as-of", as_of], check=True, env=env)
        subprocess.run([str(OPAL), "refresh", str(export)], check=True, env=env)
    return Config.from_env({k: v for k, v in env.items() if k.startswith("OPAL_")})


def make_accounts(config: Config, path: Path) -> dict[str, int]:
    """Create or update the bench users with fresh passwords; write them to ``path`` (0600)."""
    from opal.appdb import migrate
    from opal.db import app_engine, case_engine, init_app_db
    from opal.users import generate_password, upsert_user

    case = case_engine(config)
    with case.connect() as conn:
        as_of = dates.from_day(int(conn.execute(text("SELECT as_of_day FROM d_meta")).scalar_one()))
        staff = [r[0] for r in conn.execute(text(
            "SELECT s.staff_id FROM staff s JOIN person p ON p.case_manager_id = s.staff_id "
            f"WHERE s.active = 1 AND s.function IN {FUNCTIONS} GROUP BY s.staff_id "
            "ORDER BY COUNT(*) DESC, s.staff_id LIMIT :n"), {"n": ROLES["case_manager"]})]
        teams = [r[0] for r in conn.execute(text(
            "SELECT team_id FROM d_person WHERE team_id IS NOT NULL GROUP BY team_id "
            "ORDER BY COUNT(*) DESC, team_id LIMIT :n"), {"n": ROLES["team_lead"]})]
    case.dispose()
    if len(staff) < ROLES["case_manager"] or len(teams) < ROLES["team_lead"]:
        raise SystemExit(f"the data has only {len(staff)} case loads and {len(teams)} teams")
    apps = app_engine(config)
    # the bench's own app database follows the code's schema (as `opal db upgrade` would)
    migrate.upgrade(apps, config.app_db_schema)
    init_app_db(apps, config.app_db_schema)
    accounts: dict[str, list[list[str]]] = {role: [] for role in ROLES}
    for role, count in ROLES.items():
        for i in range(count):
            name, password = f"bench-{role.replace('_', '-')}-{i + 1:02d}", generate_password()
            upsert_user(apps, name, role, password=password,
                        staff_id=staff[i] if role == "case_manager" else None,
                        team_id=teams[i] if role == "team_lead" else None)
            accounts[role].append([name, password])
    apps.dispose()
    latest = dates.latest_complete_month(as_of)
    months = [dates.month_key(latest - back) for back in range(1, 13)]
    path.touch(mode=0o600)
    path.write_text(json.dumps({"accounts": accounts, "months": months}))
    return {role: len(names) for role, names in accounts.items()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_portal(data_dir: Path, port: int, workers: int | None,
                 log: Path) -> subprocess.Popen[bytes]:
    """Start ``opal serve`` on 127.0.0.1:``port``; wait until /healthz answers."""
    more = ["--workers", str(workers)] if workers else []  # else: opal serve's default
    proc = subprocess.Popen(
        [str(OPAL), "serve", "--host", "127.0.0.1", "--port", str(port), *more],
        env=opal_env(data_dir, **LIMITS), stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"opal serve exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return proc
        except urllib.error.HTTPError:  # 503 (stale data) still means: up
            return proc
        except OSError:
            time.sleep(0.3)
    stop(proc)
    raise SystemExit("opal serve did not answer within 60 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the portal (gunicorn's arbiter ends its workers); kill it after 20 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def summary(stats_csv: Path) -> bool:
    """Print requests/s, p50/p95/p99 and errors per request type; return True on target."""
    with stats_csv.open(newline="") as f:
        rows = list(csv.DictReader(f))
    ok = True
    print(f"\n{'request':18} {'count':>7} {'errors':>6} {'req/s':>7} {'p50 ms':>7} "
          f"{'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}  target")
    for row in rows:
        if row["Request Count"] == "0":
            continue  # a request type seen only before the statistics restarted
        row = {k: ("0" if v == "N/A" else v) for k, v in row.items()}
        name = row["Name"]
        count, errors = int(row["Request Count"]), int(row["Failure Count"])
        p95 = float(row["95%"] or 0)
        verdict = ""
        if name.startswith("HTML R"):
            verdict = "p95 <= 300 ms: " + ("ok" if p95 <= 300 else "MISSED")
            ok &= p95 <= 300
        elif name.startswith("PDF"):
            verdict = "p95 <= 2 s: " + ("ok" if p95 <= 2000 else "MISSED")
            ok &= p95 <= 2000
        if name == "Aggregated":
            name, verdict = "all", "0 errors: " + ("ok" if errors == 0 else "MISSED")
            ok &= errors == 0
        print(f"{name:18} {count:7d} {errors:6d} {float(row['Requests/s']):7.1f} "
              f"{float(row['50%'] or 0):7.0f} {p95:7.0f} {float(row['99%'] or 0):7.0f} "
              f"{float(row['Max Response Time'] or 0):7.0f}  {verdict}")
    return ok


def logins(serve_log: Path) -> None:
    """Print the server-side time of the ramp-up's logins (argon2id) from the access log."""
    times = sorted(int(line.rsplit(" ", 1)[1].rstrip("ms\n")) for line in
                   serve_log.read_text(errors="replace").splitlines()
                   if '"POST /login"' in line and line.endswith("ms"))
    if times:
        pick = [times[min(len(times) - 1, int(q * len(times)))] for q in (0.5, 0.95)]
        print(f"logins during the ramp-up (server side, not in the table): {len(times)}, "
              f"p50 {pick[0]} ms, p95 {pick[1]} ms, max {times[-1]} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=50, help="simulated users (max 50)")
    parser.add_argument("--spawn-rate", type=float, default=2,
                        help="users started per second: the logins of the ramp-up")
    parser.add_argument("--time", type=int, default=180,
                        help="seconds measured once every user is logged in")
    parser.add_argument("--workers", type=int, default=None,
                        help="opal serve --workers (default: its own default)")
    parser.add_argument("--data-dir", type=Path, default=BENCH / "out" / "kreis")
    parser.add_argument("--as-of", default=(date.today() - timedelta(days=1)).isoformat())
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--out", type=Path, default=BENCH / "out" / "http")
    args = parser.parse_args()
    if not 1 <= args.users <= sum(ROLES.values()):
        parser.error(f"--users must be 1..{sum(ROLES.values())}")
    locust_bin = ensure_venv(LOCUST_VENV, LOCUST_PACKAGES, "locust")
    data_dir = args.data_dir.resolve()
    config = ensure_data(data_dir, args.as_of)
    accounts_file = data_dir / "bench-accounts.json"
    made = make_accounts(config, accounts_file)
    print(f"accounts: {made}", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    port = args.port or free_port()
    load_before = os.getloadavg()[0]  # a shared machine: say how busy it was
    portal = start_portal(data_dir, port, args.workers, args.out / "serve.log")
    ramp = int(args.users / args.spawn_rate + 0.999)
    run_time = ramp + args.time + 300  # an upper bound: the locustfile stops the run itself
    try:
        subprocess.run(
            [str(locust_bin / "locust"), "-f", str(BENCH / "locustfile.py"), "--headless",
             "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{run_time}s",
             "-H", f"http://127.0.0.1:{port}", "--only-summary", "--csv",
             str(args.out / "locust"), "--stop-timeout", "30", "--loglevel", "WARNING"],
            env={**os.environ, "OPAL_BENCH_ACCOUNTS": str(accounts_file),
                 "OPAL_BENCH_USERS": str(args.users), "OPAL_BENCH_SECONDS": str(args.time)},
            check=False,
            stdout=(args.out / "locust.log").open("wb"), stderr=subprocess.STDOUT)
    finally:
        stop(portal)
    from opal.cli.serve import default_workers

    workers = args.workers or default_workers()
    print(f"{args.users} users, {args.time} s measured once all had logged in "
          f"(ramp-up {args.spawn_rate:g}/s), "
          f"opal serve --workers {workers}, 127.0.0.1:{port}, {os.cpu_count()} CPUs, "
          f"load average before {load_before:.1f}, after {os.getloadavg()[0]:.1f}")
    ok = summary(args.out / "locust_stats.csv")
    logins(args.out / "serve.log")
    failures = args.out / "locust_failures.csv"
    if failures.exists():
        lines = failures.read_text().strip().splitlines()[1:]
        for line in lines[:10]:
            print("failure:", line)
    print("all targets met" if ok else "TARGETS MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
