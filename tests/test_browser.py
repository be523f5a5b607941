"""The portal in a real browser: gunicorn (`opal serve`) plus Debian's headless Chromium.

Skipped with a reason when /usr/bin/chromium is missing, except under CI=true.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from config import Config
from opal.clock import system_clock
from opal.demo.writer import latest_exported_as_of
from opal.users import upsert_user
from tests.conftest import IN_CI, make_config
from tests.fixtures.exports import config_env

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "browser-Passwort-123"

pytestmark = pytest.mark.browser


@dataclass
class Portal:
    """A running `opal serve` and what the test needs to log in."""

    url: str
    username: str
    shots: Path
    env: dict[str, str] = field(default_factory=dict)


def _require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing (CI=true: the browser test must run)")
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (make system-deps)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"opal serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # 503 is an answer too
        except OSError:
            time.sleep(0.2)
    raise AssertionError("opal serve did not answer within a minute")


def _prepare(tmp_path: Path) -> tuple[Config, str]:
    """A small-scale demo export refreshed into SQLite, one case manager with a case load."""
    from opal.db import app_engine, case_engine, init_app_db
    from opal.demo import generate
    from opal.demo.setup import find_links
    from opal.refresh import refresh

    config, _ = make_config(tmp_path, "sqlite")
    as_of = latest_exported_as_of(system_clock())  # the server runs on the real clock
    export = tmp_path / "export"
    generate(export, "small", 1, as_of, hostile_names=True)
    refresh(config, export)
    engine = case_engine(config)
    links = find_links(engine, as_of)
    engine.dispose()
    app_db = app_engine(config)
    init_app_db(app_db, config.app_db_schema)
    upsert_user(app_db, "fm.browser", "case_manager", staff_id=links.case_manager,
                password=PASSWORD)
    app_db.dispose()
    return config, "fm.browser"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Portal]:
    """Run `opal serve` on a free loopback port until the test is done (then SIGTERM)."""
    _require_chromium()
    config, username = _prepare(tmp_path)
    port = _free_port()
    env = {**os.environ, **config_env(config), "OPAL_SESSION_COOKIE_SECURE": "0"}
    opal = str(Path(sys.executable).with_name("opal"))
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([opal, "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(url, proc)
        shots = Path(os.environ.get("OPAL_SCREENSHOTS", tmp_path / "shots"))
        shots.mkdir(parents=True, exist_ok=True)
        yield Portal(url, username, shots, env)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        finally:
            log.close()
    assert proc.returncode == 0, (tmp_path / "serve.log").read_text()[-2000:]


def test_case_manager_session_in_chromium(served: Portal) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(accept_downloads=True,
                                       viewport={"width": 1360, "height": 900}).new_page()
            first = page.goto(served.url + "/reports")
            assert first is not None and "server" not in first.headers
            expect(page).to_have_url(served.url + "/login?next=/reports")
            page.fill("#username", served.username)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            expect(page).to_have_url(served.url + "/reports")
            expect(page.locator("h1")).to_have_text("Berichte")
            page.screenshot(path=str(served.shots / "catalogue.png"), full_page=True)

            page.click("a[href='/reports/R02']")
            page.fill("#p-n_days", "30")
            page.click("form.params button[type=submit]")
            expect(page).to_have_url(
                served.url + "/reports/R02?n_days=30&profile_group=&case_manager=")
            expect(page.locator("table.list")).to_be_visible()

            page.click("th >> text=Kundennummer")
            expect(page).to_have_url(
                served.url + "/reports/R02?n_days=30&profile_group=&case_manager=&sort=customer_no"
                "&desc=0")
            expect(page.locator("th.sorted-asc")).to_have_count(1)
            page.screenshot(path=str(served.shots / "report.png"), full_page=False)

            with page.expect_download() as download_info:
                page.click("a.button >> text=PDF")
            download = download_info.value
            assert download.suggested_filename.startswith("OPAL_R02_")
            assert Path(download.path()).read_bytes().startswith(b"%PDF")

            page.click("button >> text=Abmelden")
            expect(page).to_have_url(served.url + "/login?abgemeldet=1")
            expect(page.get_by_role("status")).to_contain_text("Sie haben sich abgemeldet")
            page.goto(served.url + "/reports/R02")
            expect(page).to_have_url(served.url + "/login?next=/reports/R02")
        finally:
            browser.close()


def test_subscribe_deliver_and_download_from_the_inbox(served: Portal) -> None:
    """Subscribe from R02, run `opal deliver`, see the entry in the inbox and download it."""
    import hashlib

    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(accept_downloads=True,
                                       viewport={"width": 1360, "height": 900}).new_page()
            page.goto(served.url + "/login")
            page.fill("#username", served.username)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            expect(page).to_have_url(served.url + "/reports")
            page.goto(served.url + "/reports/R02?n_days=30")
            page.click("details.subscribe summary")
            form = page.locator("form.subscribe-form")
            form.locator("select[name=format]").select_option("csv")
            form.locator("input[name=schedule][value=refresh]").check()
            form.locator("button[type=submit]").click()
            expect(page).to_have_url(served.url + "/subscriptions")
            expect(page.locator("table.list")).to_contain_text("n_days = 30")
            expect(page.locator("table.list")).to_contain_text("nach jeder Datenaktualisierung")

            opal = str(Path(sys.executable).with_name("opal"))
            done = subprocess.run([opal, "deliver"], env={**os.environ, **served.env},
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
            assert done.stdout.startswith("deliver: 1 delivered, 0 failed")

            page.goto(served.url + "/reports")
            expect(page.locator("nav.mainnav a[href='/inbox'] .badge")).to_have_text("1")
            page.click("nav.mainnav a[href='/inbox']")
            expect(page.locator("h1")).to_have_text("Postfach")
            entry = page.locator("table.inbox tbody tr").first
            expect(entry).to_contain_text("R02")
            expect(entry).to_contain_text("Tage ohne Kontakt (mehr als): 30")
            page.screenshot(path=str(served.shots / "inbox.png"), full_page=True)
            with page.expect_download() as download_info:
                entry.locator("a.button").click()
            download = download_info.value
            assert download.suggested_filename.startswith("OPAL_R02_")
            assert download.suggested_filename.endswith(".csv")
            body = Path(download.path()).read_bytes()
            assert body.startswith("\ufeff".encode()) and b"Kundennummer" in body
            shown = entry.locator("small").inner_text()
            assert shown.startswith("SHA-256 " + hashlib.sha256(body).hexdigest()[:16])
            page.goto(served.url + "/reports")
            expect(page.locator("nav.mainnav a[href='/inbox'] .badge")).to_have_count(0)
        finally:
            browser.close()
