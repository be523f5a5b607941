"""Benchmark OPAL against a peer: the case manager's R02 list from Datasette and from OPAL.

Usage: .venv/bin/python bench/peer.py [--connections 10] [--seconds 15] [--rounds 4]
       [--workers N] [--data-dir bench/out/kreis] [--n-days 90] [--formats html,json,csv]

Both serve the same list over the same SQLite case file (the kreis-scale generation that
``bench/http_load.py`` builds): R02 "Kunden ohne Kontakt seit N Tagen" for the largest case load.

* Datasette (installed by this script into ``bench/.venv-datasette``) serves the report's SQL as a
  canned query from a metadata file, the reserved parameters renamed (``:_viewer`` -> ``:viewer``,
  ``:_as_of`` -> ``:as_of``: Datasette keeps ``_``-names for itself). Anonymous, no audit, the
  whole list on one page (up to 1,000 rows); its ``.json`` and ``.csv`` of the same query.
* OPAL: ``opal serve`` with a logged-in case manager: session lookup, access check, parameter
  parsing, the audit row, the download limit (JSON, CSV), the first page of 50 rows (HTML).

Both servers run for the whole bench; the load goes to one at a time. Each round measures every
format on both, in alternating order (the server that goes first swaps every round), so that a
change in the shared machine's load hits both alike. Load: ``wrk`` (``apt-get install -y wrk``
when missing and root; else a small thread-based driver), 127.0.0.1 only. Besides requests/s the
bench reads each server's CPU time (its whole process session, from /proc) around every run and
prints requests per server CPU-second: the figure that a busy machine disturbs least.
Targets (issue 19): OPAL / Datasette >= 2.0 (HTML), >= 1.2 (JSON), >= 1.0 (CSV) in requests/s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

import http_load as bench_http  # noqa: E402  (bench/http_load.py, next to this file)
from sqlalchemy import text  # noqa: E402

from opal.cli.serve import default_workers  # noqa: E402
from opal.db import case_engine  # noqa: E402

DATASETTE_VENV = BENCH / ".venv-datasette"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def canned_sql() -> str:
    """R02's SQL with the reserved parameters renamed for Datasette.

    Datasette binds every parameter as text, and in SQLite an integer is never greater than a
    text: the numbers are cast, or the list would hold only the never-contacted persons.
    """
    sql = (ROOT / "sql" / "R02.sql").read_text()
    return (sql.replace(":_viewer", ":viewer").replace(":_as_of", "CAST(:as_of AS INTEGER)")
            .replace(":n_days", "CAST(:n_days AS INTEGER)"))


def row_count(url: str, cookie: str | None) -> int:
    """The number of rows in a JSON answer (Datasette's array, OPAL's ``rows``)."""
    req = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = json.loads(resp.read())
    return len(body if isinstance(body, list) else body["rows"])


def start(cmd: list[str], env: dict[str, str], log: Path, probe: str) -> subprocess.Popen[bytes]:
    """Start a server in its own session; wait until ``probe`` answers."""
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{cmd[0]} exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(probe, timeout=2):
                return proc
        except urllib.error.HTTPError:
            return proc
        except OSError:
            time.sleep(0.3)
    bench_http.stop(proc)
    raise SystemExit(f"{cmd[0]} did not answer within 60 s")


def login(base: str, name: str, password: str) -> str:
    """Log in through the form; return the session cookie header value."""
    with urllib.request.urlopen(base + "/login", timeout=10) as resp:
        page = resp.read().decode()
        nonce = resp.headers.get_all("Set-Cookie") or []
    token = CSRF.search(page)
    assert token is not None
    cookie = "; ".join(c.split(";", 1)[0] for c in nonce)
    body = urllib.parse.urlencode({"username": name, "password": password,
                                   "csrf_token": token.group(1), "next": "/reports"}).encode()
    port = int(urllib.parse.urlsplit(base).port or 80)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/login", body, {"Cookie": cookie,
                                          "Content-Type": "application/x-www-form-urlencoded"})
    resp = conn.getresponse()
    resp.read()
    session = [c.split(";", 1)[0] for c in resp.headers.get_all("Set-Cookie") or []
               if c.startswith("opal_session=")]
    conn.close()
    if resp.status != 302 or not session:
        raise SystemExit(f"login as {name} failed: {resp.status}")
    return session[0]


def check(url: str, cookie: str | None, expect: str) -> int:
    """Fetch once; fail unless 200 with ``expect`` in the body; return the body size."""
    req = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = resp.read().decode()
    if expect not in body:
        raise SystemExit(f"{url}: {expect!r} not in the answer")
    return len(body)


TARGETS = {"html": 2.0, "json": 1.2, "csv": 1.0}


def load(url: str, cookie: str | None, connections: int, seconds: int) -> tuple[float, str]:
    """Return (requests/s, latency note): wrk when installed, else Python threads."""
    wrk = shutil.which("wrk")
    if wrk:
        cmd = [wrk, "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
               "--latency", url]
        if cookie:
            cmd[1:1] = ["-H", f"Cookie: {cookie}"]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
        p50 = re.search(r"^\s*50%\s+(\S+)", out, re.M)
        p99 = re.search(r"^\s*99%\s+(\S+)", out, re.M)
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        errors = re.search(r"Socket errors: (.*)", out)
        note = f"p50 {p50.group(1) if p50 else '?'}, p99 {p99.group(1) if p99 else '?'}"
        if bad or errors:
            note += f"; ERRORS {bad.group(1) if bad else ''} {errors.group(1) if errors else ''}"
        return rate, note
    return _threaded(url, cookie, connections, seconds)


def session_cpu(sid: int) -> float:
    """CPU seconds (user + system) of every live process in session ``sid`` (a server started
    with ``start_new_session``: gunicorn's arbiter and workers, or Datasette)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[3]) == sid:  # fields after the name: state ppid pgrp session ...
            total += int(fields[11]) + int(fields[12])
    return total / tick


@dataclass
class Runs:
    """One server's runs of one format: requests/s and requests per server CPU-second."""

    rates: list[float] = field(default_factory=list)
    per_cpu: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, rate: float, cpu_s: float, seconds: int, note: str) -> None:
        self.rates.append(rate)
        self.per_cpu.append(rate * seconds / cpu_s if cpu_s > 0 else float("nan"))
        self.notes.append(note)

    def rate(self) -> float:
        return sum(self.rates) / len(self.rates)

    def cpu_rate(self) -> float:
        return sum(self.per_cpu) / len(self.per_cpu)


def _threaded(url: str, cookie: str | None, connections: int,
              seconds: int) -> tuple[float, str]:
    """A keep-alive load driver with one thread per connection (when wrk is missing)."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path + ("?" + parts.query if parts.query else "")
    stop_at = time.monotonic() + seconds
    counts, errors = [0] * connections, [0] * connections

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
        while time.monotonic() < stop_at:
            conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            resp = conn.getresponse()
            resp.read()
            counts[i] += 1
            errors[i] += resp.status != 200
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds, f"python threads, {sum(errors)} errors"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=15, help="each run")
    parser.add_argument("--rounds", type=int, default=4,
                        help="rounds of every format on both servers, alternating")
    parser.add_argument("--formats", default="html,json,csv")
    parser.add_argument("--workers", type=int, default=None,
                        help="opal serve --workers (default: its own default)")
    parser.add_argument("--data-dir", type=Path, default=BENCH / "out" / "kreis")
    parser.add_argument("--as-of", default=(date.today() - timedelta(days=1)).isoformat(),
                        help="the generation's data date when it is built (exported the next "
                             "night: never in the future)")
    parser.add_argument("--n-days", type=int, default=90)
    parser.add_argument("--out", type=Path, default=BENCH / "out" / "peer")
    args = parser.parse_args()
    formats = [f for f in args.formats.split(",") if f]
    if not formats or not set(formats) <= set(TARGETS):
        parser.error(f"--formats: some of {', '.join(TARGETS)}")
    if not shutil.which("wrk") and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False,
                       capture_output=True)
    data_dir = args.data_dir.resolve()
    config = bench_http.ensure_data(data_dir, args.as_of)
    accounts_file = data_dir / "bench-accounts.json"
    bench_http.make_accounts(config, accounts_file)
    name, password = json.loads(accounts_file.read_text())["accounts"]["case_manager"][0]
    engine = case_engine(config)
    with engine.connect() as conn:
        as_of_day = int(conn.execute(text("SELECT as_of_day FROM d_meta")).scalar_one())
    engine.dispose()
    from opal.db import app_engine
    from opal.users import get_user

    apps = app_engine(config)
    user = get_user(apps, name)
    apps.dispose()
    assert user is not None and user.staff_id
    viewer = f"S:{user.staff_id}"
    datasette_bin = bench_http.ensure_venv(DATASETTE_VENV, ("datasette",), "datasette")
    args.out.mkdir(parents=True, exist_ok=True)
    metadata = args.out / "metadata.json"
    metadata.write_text(json.dumps({"databases": {"case": {"queries": {"r02": {
        "sql": canned_sql(), "title": "R02 Kunden ohne Kontakt seit N Tagen"}}}}}, indent=1))

    ds_port, port = bench_http.free_port(), bench_http.free_port()
    query = urllib.parse.urlencode({"viewer": viewer, "as_of": as_of_day,
                                    "n_days": args.n_days, "profile_group": ""})
    opal_query = urllib.parse.urlencode({"n_days": args.n_days, "profile_group": ""})
    load_before = os.getloadavg()
    datasette = start([str(datasette_bin / "datasette"), "serve", str(data_dir / "case.db"),
                       "--metadata", str(metadata), "--host", "127.0.0.1", "--port",
                       str(ds_port), "--setting", "sql_time_limit_ms", "30000"],
                      dict(os.environ), args.out / "datasette.log",
                      f"http://127.0.0.1:{ds_port}/-/versions.json")
    portal = None
    try:
        portal = bench_http.start_portal(data_dir, port, args.workers, args.out / "serve.log")
        ds = f"http://127.0.0.1:{ds_port}/case/r02"
        op = f"http://127.0.0.1:{port}"
        cookie = login(op, name, password)
        urls = {"Datasette": {"html": f"{ds}?{query}",
                              "json": f"{ds}.json?_shape=array&{query}",
                              "csv": f"{ds}.csv?{query}"},
                "OPAL": {"html": f"{op}/reports/R02?{opal_query}",
                         "json": f"{op}/reports/R02.json?{opal_query}",
                         "csv": f"{op}/reports/R02.csv?{opal_query}"}}
        cookies = {"Datasette": None, "OPAL": cookie}
        expect = {"html": "<table", "json": "customer_no", "csv": ";"}
        for who, by_format in urls.items():
            for fmt in formats:
                check(by_format[fmt], cookies[who], "customer_no" if who == "Datasette"
                      and fmt == "csv" else expect[fmt])
        rows = {who: row_count(urls[who]["json"], cookies[who]) for who in urls}
        if rows["OPAL"] != rows["Datasette"]:
            raise SystemExit(f"not the same list: {rows}")
        sessions = {"Datasette": datasette.pid, "OPAL": portal.pid}
        runs = {who: {fmt: Runs() for fmt in formats} for who in urls}
        for i in range(args.rounds):
            for fmt in formats:
                order = ["Datasette", "OPAL"] if (i % 2 == 0) else ["OPAL", "Datasette"]
                for who in order:
                    cpu = session_cpu(sessions[who])
                    rate, note = load(urls[who][fmt], cookies[who], args.connections,
                                      args.seconds)
                    runs[who][fmt].add(rate, session_cpu(sessions[who]) - cpu, args.seconds,
                                       note)
                    print(f"round {i + 1} {fmt:4} {who:9} {rate:8.1f} req/s  "
                          f"{runs[who][fmt].per_cpu[-1]:6.0f} per CPU-s  ({note})",
                          file=sys.stderr)
    finally:
        if portal is not None:
            bench_http.stop(portal)
        bench_http.stop(datasette)
    load_after = os.getloadavg()
    print(f"R02 for {viewer} (n_days={args.n_days}, {rows['OPAL']} rows), "
          f"{args.connections} connections, {args.rounds} alternating rounds of {args.seconds} s "
          f"per format and server, {os.cpu_count()} CPUs, opal serve --workers "
          f"{args.workers or default_workers()}, load average before "
          f"{' '.join(f'{x:.1f}' for x in load_before)}, after "
          f"{' '.join(f'{x:.1f}' for x in load_after)}")
    print(f"  {'format':6} {'Datasette req/s':>15} {'OPAL req/s':>10} {'ratio':>6}  "
          f"{'per server CPU-s D / O':>22} {'ratio':>6}  target")
    for fmt in formats:
        d, o = runs["Datasette"][fmt], runs["OPAL"][fmt]
        ratio, cpu_ratio = o.rate() / d.rate(), o.cpu_rate() / d.cpu_rate()
        verdict = "ok" if ratio >= TARGETS[fmt] else "MISSED"
        print(f"  {fmt:6} {d.rate():15.1f} {o.rate():10.1f} {ratio:6.2f}  "
              f"{d.cpu_rate():10.0f} / {o.cpu_rate():9.0f} {cpu_ratio:6.2f}  "
              f">= {TARGETS[fmt]}: {verdict}")
        print(f"         rounds Datasette {', '.join(f'{r:.0f}' for r in d.rates)}; "
              f"OPAL {', '.join(f'{r:.0f}' for r in o.rates)}")


if __name__ == "__main__":
    main()
