"""Benchmark OPAL against a peer: the case manager's R02 list from Datasette and from OPAL.

Usage: .venv/bin/python bench/peer.py [--connections 10] [--seconds 20] [--workers N]
       [--data-dir bench/out/kreis] [--n-days 90]

Both serve the same list over the same SQLite case file (the kreis-scale generation that
``bench/http_load.py`` builds): R02 "Kunden ohne Kontakt seit N Tagen" for the largest case load.

* Datasette (installed by this script into ``bench/.venv-datasette``) serves the report's SQL as a
  canned query from a metadata file, the reserved parameters renamed (``:_viewer`` -> ``:viewer``,
  ``:_as_of`` -> ``:as_of``: Datasette keeps ``_``-names for itself). Anonymous, no audit, the
  whole list on one page (up to 1,000 rows).
* OPAL: ``opal serve`` with a logged-in case manager: session lookup, access check, parameter
  parsing, the audit row, the first page of 50 rows.

Load: ``wrk`` (``apt-get install -y wrk`` when missing and root; else a small thread-based driver)
with the same connections and duration against each, 127.0.0.1 only, one after the other.
Target: OPAL's requests/s >= Datasette's. The HTML page is the comparison; JSON is shown too.
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
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=None,
                        help="opal serve --workers (default: its own default)")
    parser.add_argument("--data-dir", type=Path, default=BENCH / "out" / "kreis")
    parser.add_argument("--n-days", type=int, default=90)
    parser.add_argument("--out", type=Path, default=BENCH / "out" / "peer")
    args = parser.parse_args()
    if not shutil.which("wrk") and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False,
                       capture_output=True)
    data_dir = args.data_dir.resolve()
    config = bench_http.ensure_data(data_dir, bench_http.date.today().isoformat())
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
    results: dict[str, dict[str, tuple[float, str]]] = {}
    rows: dict[str, int] = {}

    ds_port = bench_http.free_port()
    query = urllib.parse.urlencode({"viewer": viewer, "as_of": as_of_day,
                                    "n_days": args.n_days, "profile_group": ""})
    datasette = start([str(datasette_bin / "datasette"), "serve", str(data_dir / "case.db"),
                       "--metadata", str(metadata), "--host", "127.0.0.1", "--port",
                       str(ds_port), "--setting", "sql_time_limit_ms", "30000"],
                      dict(os.environ), args.out / "datasette.log",
                      f"http://127.0.0.1:{ds_port}/-/versions.json")
    try:
        base = f"http://127.0.0.1:{ds_port}/case/r02"
        sizes = {"html": check(f"{base}?{query}", None, "<table"),
                 "json": check(f"{base}.json?_shape=array&{query}", None, "customer_no")}
        rows["Datasette"] = row_count(f"{base}.json?_shape=array&{query}", None)
        results["Datasette"] = {
            "html": load(f"{base}?{query}", None, args.connections, args.seconds),
            "json": load(f"{base}.json?_shape=array&{query}", None, args.connections,
                         args.seconds)}
        print(f"Datasette page sizes: {sizes}", file=sys.stderr)
    finally:
        bench_http.stop(datasette)

    port = bench_http.free_port()
    portal = bench_http.start_portal(data_dir, port, args.workers,
                                     args.out / "serve.log")
    try:
        base = f"http://127.0.0.1:{port}"
        cookie = login(base, name, password)
        opal_query = urllib.parse.urlencode({"n_days": args.n_days, "profile_group": ""})
        sizes = {"html": check(f"{base}/reports/R02?{opal_query}", cookie, "<table"),
                 "json": check(f"{base}/reports/R02.json?{opal_query}", cookie, "customer_no")}
        rows["OPAL"] = row_count(f"{base}/reports/R02.json?{opal_query}", cookie)
        results["OPAL"] = {
            "html": load(f"{base}/reports/R02?{opal_query}", cookie, args.connections,
                         args.seconds),
            "json": load(f"{base}/reports/R02.json?{opal_query}", cookie, args.connections,
                         args.seconds)}
        print(f"OPAL page sizes: {sizes}", file=sys.stderr)
    finally:
        bench_http.stop(portal)

    if rows["OPAL"] != rows["Datasette"]:
        raise SystemExit(f"not the same list: {rows}")
    print(f"R02 for {viewer} (n_days={args.n_days}, {rows['OPAL']} rows), "
          f"{args.connections} connections, "
          f"{args.seconds} s each, {os.cpu_count()} CPUs, opal serve --workers "
          f"{args.workers or default_workers()}")
    for fmt in ("html", "json"):
        for who in ("Datasette", "OPAL"):
            rate, note = results[who][fmt]
            print(f"  {fmt:4} {who:9} {rate:8.1f} req/s  ({note})")
        ratio = results["OPAL"][fmt][0] / results["Datasette"][fmt][0]
        print(f"  {fmt:4} OPAL/Datasette {ratio:.2f}" + ("" if fmt != "html" else
              "  (target >= 1: " + ("ok" if ratio >= 1 else "MISSED") + ")"))


if __name__ == "__main__":
    main()
