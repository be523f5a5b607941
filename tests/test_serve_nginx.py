"""The shipped reverse-proxy example (docs/nginx/opal.conf) in front of a real `opal serve`.

Debian's nginx (`make system-deps` installs nginx-light) runs the example file with only its
names, ports and certificate paths replaced, on loopback ports, with a certificate made for the
test. Checked: TLS to the one host name (others refused at the handshake, plain HTTP redirected to
a fixed name), the client's address reaches the audit log (a forged X-Forwarded-For does not),
HSTS over the proxy, and 50 slow clients held by nginx while `/healthz` answers within 1 s and a
logged-in user keeps working. Skipped with a reason without nginx, except under CI=true.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from opal.audit import recent
from opal.db import app_engine
from opal.refresh import refresh
from opal.users import upsert_user
from tests.conftest import FIXED_NOW, IN_CI, make_config, upgrade_app_db
from tests.fixtures.exports import config_env, write_export
from tests.fixtures.web import PASSWORD, Clock

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "nginx" / "opal.conf"
NAME = "opal.test"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Proxied:
    """`opal serve` behind nginx: the ports, the CA file, the OPAL config."""

    https: int
    http: int
    ca: Path
    config: object
    cookies: dict[str, str] = field(default_factory=dict)


def _site(conf: str, opal_port: int, http: int, https: int, cert: Path, key: Path) -> str:
    """The example with this test's names, loopback ports and certificate."""
    out = "\n".join(line for line in conf.splitlines() if not line.lstrip().startswith("#"))
    out = out.replace("opal.kreis.example", NAME)
    out = out.replace("/etc/ssl/opal/fullchain.pem", str(cert))
    out = out.replace("/etc/ssl/opal/privkey.pem", str(key))
    out = out.replace("server 127.0.0.1:5000;", f"server 127.0.0.1:{opal_port};")
    out = re.sub(r"\n\s*listen \[::\]:[^\n]*", "", out)  # loopback IPv4 only
    out = re.sub(r"listen 80\b", f"listen 127.0.0.1:{http}", out)
    out = re.sub(r"listen 443\b", f"listen 127.0.0.1:{https}", out)
    assert "5000" not in out and " 80" not in out and " 443" not in out, out
    return out


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    if not Path(NGINX).exists():
        if IN_CI:
            pytest.fail("nginx is missing (CI=true: the proxy example must be tested)")
        pytest.skip("nginx is missing: install Debian's nginx-light (make system-deps)")
    tmp = tmp_path_factory.mktemp("nginx")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", f"/CN={NAME}", "-addext",
                    f"subjectAltName=DNS:{NAME}"], check=True, capture_output=True)
    config, _ = make_config(tmp, "sqlite", base_url=f"https://{NAME}", allowed_hosts="",
                            trusted_proxies=1, session_cookie_secure=True)
    (tmp / "var").mkdir(exist_ok=True)
    refresh(config, write_export(tmp / "export"), clock=Clock(FIXED_NOW))
    upgrade_app_db(config)
    engine = app_engine(config)
    upsert_user(engine, "fm.arendt", "case_manager", staff_id="S01", password=PASSWORD)
    engine.dispose()
    opal_port, http, https = _free_port(), _free_port(), _free_port()
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / sub).mkdir()
    (tmp / "site.conf").write_text(_site(EXAMPLE.read_text(), opal_port, http, https, cert,
                                         key))
    (tmp / "nginx.conf").write_text(
        "daemon off;\nworker_processes 1;\n"
        + ("user root;\n" if os.geteuid() == 0 else "")
        + f"pid {tmp}/nginx.pid;\nerror_log {tmp}/error.log info;\n"
        "events { worker_connections 512; }\n"
        f"http {{\n  access_log {tmp}/access.log;\n  client_body_temp_path {tmp}/body;\n"
        f"  proxy_temp_path {tmp}/proxy;\n  fastcgi_temp_path {tmp}/fastcgi;\n"
        f"  uwsgi_temp_path {tmp}/uwsgi;\n  scgi_temp_path {tmp}/scgi;\n"
        f"  include {tmp}/site.conf;\n}}\n")
    checked = subprocess.run([NGINX, "-t", "-p", str(tmp), "-c", str(tmp / "nginx.conf")],
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    env = {**os.environ, **config_env(config), "OPAL_STALE_WARN_HOURS": "1000000",
           "OPAL_STALE_ERROR_HOURS": "1000000"}
    opal = _start([str(Path(sys.executable).with_name("opal")), "serve", "--host", "127.0.0.1",
                   "--port", str(opal_port), "--workers", "2"], env, tmp / "serve.log")
    nginx = _start([NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf")], env,
                   tmp / "nginx.out")
    try:
        here = Proxied(https, http, cert, config)
        deadline = time.monotonic() + 90
        while True:
            try:
                if _request(here, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp / "serve.log").read_text()[-2000:]
            assert opal.poll() is None and nginx.poll() is None
            time.sleep(0.3)
        yield here
    finally:
        nginx.terminate()
        opal.terminate()
        nginx.wait(timeout=30)
        opal.wait(timeout=60)


def _tls(proxied: Proxied, sni: str = NAME, timeout: float = 10) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=str(proxied.ca))
    sock = socket.create_connection(("127.0.0.1", proxied.https), timeout=timeout)
    return context.wrap_socket(sock, server_hostname=sni)


def _request(proxied: Proxied, method: str, path: str, *, body: bytes = b"",
             headers: dict[str, str] | None = None, timeout: float = 10
             ) -> tuple[int, dict[str, str], bytes]:
    """One HTTPS request through nginx (cookies kept in ``proxied.cookies``)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {NAME}", "Connection: close"]
    if proxied.cookies:
        lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in proxied.cookies.items()))
    if body:
        lines += ["Content-Type: application/x-www-form-urlencoded",
                  f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    with _tls(proxied, timeout=timeout) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    found: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        found.setdefault(name.strip().lower(), value.strip())
        if name.lower() == "set-cookie":
            cookie = value.strip().split(";", 1)[0]
            k, _, v = cookie.partition("=")
            if v:
                proxied.cookies[k] = v
            else:
                proxied.cookies.pop(k, None)
    return int(status_line.split()[1]), found, rest


def _login(proxied: Proxied, forged_for: str = "10.9.9.9") -> None:
    proxied.cookies.clear()
    _, _, page = _request(proxied, "GET", "/login")
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    assert token, page[:300]
    form = urllib.parse.urlencode({"username": "fm.arendt", "password": PASSWORD,
                                   "csrf_token": token.group(1).decode()}).encode()
    status, headers, _ = _request(proxied, "POST", "/login", body=form,
                                  headers={"X-Forwarded-For": forged_for})
    assert status == 302 and headers["location"] == "/reports", (status, headers)
    assert "__Host-opal_session" in proxied.cookies


def test_tls_for_the_one_name_and_a_fixed_redirect(proxied: Proxied) -> None:
    status, headers, body = _request(proxied, "GET", "/healthz")
    assert status == 200 and b'"status"' in body
    assert headers["strict-transport-security"] == "max-age=31536000"
    assert "server" not in headers or headers["server"] == "nginx"  # no version
    with pytest.raises(ssl.SSLError):
        _tls(proxied, sni="evil.example")
    with socket.create_connection(("127.0.0.1", proxied.http), timeout=10) as sock:
        sock.sendall(f"GET /reports?x=1 HTTP/1.1\r\nHost: {NAME}\r\n\r\n".encode())
        answer = sock.recv(1000).decode()
    assert answer.startswith("HTTP/1.1 301 ")
    assert f"\r\nLocation: https://{NAME}/reports?x=1\r\n" in answer
    with socket.create_connection(("127.0.0.1", proxied.http), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n")
        assert sock.recv(1000) == b""  # 444: closed without an answer
    # a forged Host behind the right SNI reaches OPAL as its own name: nothing reflected
    status, headers, _ = _request(proxied, "GET", "/", headers={"X-Forwarded-Host": "evil"})
    assert status == 302 and headers["location"] == "/reports"


def test_the_audit_sees_the_client_not_a_forged_header(proxied: Proxied) -> None:
    _login(proxied, forged_for="10.9.9.9")
    engine = app_engine(proxied.config)  # type: ignore[arg-type]
    try:
        entry = next(r for r in recent(engine, 20) if r["action"] == "login")
    finally:
        engine.dispose()
    assert (entry["outcome"], entry["client"]) == ("ok", "127.0.0.1")


def test_slow_clients_wait_in_nginx(proxied: Proxied) -> None:
    _login(proxied)
    slow = []
    for i in range(50):
        sock = _tls(proxied)
        if i % 5:
            sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {NAME}\r\nX-Slow: ".encode())
        else:
            sock.sendall(f"POST /login HTTP/1.1\r\nHost: {NAME}\r\nContent-Length: 300\r\n\r\n"
                         "username=fm".encode())
        slow.append(sock)
    work: list[int] = []
    stop = threading.Event()

    def keep_working() -> None:
        while not stop.is_set():
            work.append(_request(proxied, "GET", "/reports/R02.csv?n_days=1", timeout=30)[0])
            time.sleep(0.3)  # not Event.wait: a timed wait hangs under libfaketime

    worker = threading.Thread(target=keep_working)
    worker.start()
    probes = []
    try:
        began = time.monotonic()
        while time.monotonic() - began < 6:
            start = time.monotonic()
            status = _request(proxied, "GET", "/healthz", timeout=1.0)[0]
            probes.append((status, time.monotonic() - start))
            time.sleep(0.2)
    finally:
        stop.set()
        worker.join(timeout=60)
        for sock in slow:
            sock.close()
    assert len(probes) >= 10 and all(s == 200 and t < 1.0 for s, t in probes), probes
    assert work and work == [200] * len(work), work
