"""Every page of every role (the office lead too) in Chromium at 390 px and 1366 px: no
horizontal page scroll, every column of R05 reachable, "Abmelden" on screen, and axe-core finds
no WCAG 2.1 A/AA violation.

Real parts: `opal serve` (gunicorn) over a small demo export (with --hostile-names), Debian's
Chromium via Playwright, axe-core from the npm registry (``make`` installs it into
``node_modules`` when missing). Skipped with a reason when Chromium or axe-core is missing,
except under CI=true. Screenshots go to ``$OPAL_SCREENSHOTS`` (default: the test's tmp dir).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI, make_config
from tests.fixtures.exports import config_env
from tests.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    _free_port,
    _require_chromium,
    _wait_until_up,
)

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "browser-Passwort-123"
WIDTHS = (390, 1366)
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: role key -> (username, role)
ROLES = {"case_manager": "fm.layout", "stand_in": "fm.vertretung", "team_lead": "tl.layout",
         "office_lead": "leitung.layout", "controlling": "controlling.layout",
         "admin": "admin.layout"}


@dataclass
class Site:
    url: str
    shots: Path
    pages: dict[str, list[str]]  # role key -> paths to visit


def _require_axe() -> None:
    if not AXE.exists():
        if IN_CI:
            pytest.fail(f"{AXE} is missing (CI=true: run make, which installs axe-core)")
        pytest.skip(f"{AXE} is missing: `npm install --prefix . axe-core` (make does it)")


def _prepare(tmp_path: Path) -> tuple[Any, dict[str, list[str]]]:
    from sqlalchemy import text

    from opal.catalogue import load_and_check
    from opal.db import app_engine, case_engine
    from opal.demo import generate
    from opal.demo.setup import find_links
    from opal.refresh import refresh
    from opal.users import upsert_user
    from tests.conftest import upgrade_app_db

    config, _ = make_config(tmp_path, "sqlite")
    from opal.clock import system_clock
    from opal.demo.writer import latest_exported_as_of

    # the refresh runs on the real clock: a data date whose export has already run (before
    # 01:30 UTC yesterday's export would lie in the future, which the refresh refuses)
    as_of = latest_exported_as_of(system_clock())
    export = tmp_path / "export"
    generate(export, "small", 1, as_of, hostile_names=True)
    refresh(config, export)
    engine = case_engine(config)
    links = find_links(engine, as_of)
    with engine.connect() as conn:  # the office lead leads the team lead's office
        office = conn.execute(text("SELECT office_id FROM team WHERE team_id = :t"),
                              {"t": links.team}).scalar_one()
    engine.dispose()
    upgrade_app_db(config)
    app_db = app_engine(config)
    links_of = {"case_manager": {"staff_id": links.case_manager},
                "stand_in": {"staff_id": links.stand_in}, "team_lead": {"team_id": links.team},
                "office_lead": {"office_id": office}, "controlling": {}, "admin": {}}
    role_of = {"stand_in": "case_manager"}
    for key, username in ROLES.items():
        upsert_user(app_db, username, role_of.get(key, key), password=PASSWORD,
                    **links_of[key])
    app_db.dispose()
    catalogue = load_and_check()
    pages: dict[str, list[str]] = {}
    for key in ROLES:
        role = role_of.get(key, key)
        reports = [d.code for d in catalogue if role in d.roles
                   and (role != "controlling" or d.kind == "aggregate")]
        pages[key] = ["/reports"] + [f"/reports/{c}" for c in reports]
        if role == "admin":
            pages[key] += ["/admin/users", "/admin/audit", "/admin/refresh",
                           "/admin/subscriptions"]
        else:
            pages[key] += ["/inbox", "/subscriptions"]
        if role == "team_lead":  # R01's drill-through: the lists of one case manager
            pages[key] += [f"/reports?case_manager={links.case_manager}"]
        if "R02" in reports:
            pages[key] += ["/reports/R02?n_days=0", "/reports/R02?sort=name&desc=1"]
    return config, pages


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    _require_chromium()
    _require_axe()
    tmp_path = tmp_path_factory.mktemp("layout")
    config, pages = _prepare(tmp_path)
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
        yield Site(url, shots, pages)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        finally:
            log.close()


def _axe(page: Any) -> list[dict[str, Any]]:
    """Run axe-core on the page; return the WCAG 2.1 A/AA violations (id, nodes' targets)."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
        ".violations.map(v => ({id: v.id, help: v.help, "
        "nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))", WCAG)
    return list(found)


def _page_width(page: Any) -> tuple[int, int]:
    return tuple(page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"))  # type: ignore


def _login(page: Any, url: str, username: str) -> None:
    page.goto(url + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(url + "/reports")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("key", list(ROLES))
def test_every_page_fits_and_passes_axe(site: Site, key: str, width: int) -> None:
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # axe is injected as an inline script: the test context alone bypasses the CSP
            context = browser.new_context(viewport={"width": width, "height": 900},
                                          bypass_csp=True)
            page = context.new_page()
            page.goto(site.url + "/login")
            for violation in _axe(page):
                problems.append(f"/login: {violation}")
            _login(page, site.url, ROLES[key])
            for path in site.pages[key]:
                page.goto(site.url + path)
                scroll, inner = _page_width(page)
                if scroll > inner:
                    problems.append(f"{path}: page {scroll} px wide in a {inner} px window")
                logout = page.locator("button", has_text="Abmelden")
                box = logout.bounding_box()
                if box is None or box["x"] < 0 or box["x"] + box["width"] > inner:
                    problems.append(f"{path}: Abmelden off screen ({box})")
                for violation in _axe(page):
                    problems.append(f"{path}: {violation}")
                name = path.strip("/").replace("/", "_").replace("?", "_") or "root"
                page.screenshot(path=str(site.shots / f"{key}-{width}-{name}.png"))
            page.click("button >> text=Abmelden")
            page.wait_for_url(site.url + "/login?abgemeldet=1")
            assert "abgemeldet" in page.locator("p.notice").inner_text()
            for violation in _axe(page):
                problems.append(f"logout: {violation}")
        finally:
            browser.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("width", (320, *WIDTHS))
def test_every_column_of_r05_is_reachable(site: Site, width: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": width, "height": 800}).new_page()
            _login(page, site.url, ROLES["team_lead"])
            page.goto(site.url + "/reports/R05?n_days=180")
            headers = page.locator("table.list thead th")
            labels = headers.all_inner_texts()
            assert {"Geplantes Ende", "Anschluss"} <= {t.strip() for t in labels}, labels
            wrap = page.locator(".table-wrap")
            scroll, inner = _page_width(page)
            assert scroll <= inner  # the page itself never scrolls sideways
            overflowing = wrap.evaluate("el => el.scrollWidth > el.clientWidth")
            hint = page.locator(".scroll-hint")
            assert hint.is_visible() == overflowing  # a visible hint exactly when needed
            if width <= 390:
                assert overflowing
            first = headers.nth(0)
            for i in range(headers.count()):
                th = headers.nth(i)
                th.evaluate("el => el.scrollIntoView({inline: 'end', block: 'nearest'})")
                box, frame = th.bounding_box(), wrap.bounding_box()
                assert box is not None and frame is not None
                assert frame["x"] - 1 <= box["x"] and box["x"] + box["width"] <= \
                    frame["x"] + frame["width"] + 1, (labels[i], box, frame)
                sticky = first.bounding_box()
                assert sticky is not None and abs(sticky["x"] - frame["x"]) <= 2  # stays put
            page.screenshot(path=str(site.shots / f"r05-{width}-scrolled.png"))
        finally:
            browser.close()


def test_print_shows_only_the_table_with_its_heading(site: Site) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
            _login(page, site.url, ROLES["team_lead"])
            page.goto(site.url + "/reports/R05?n_days=180")
            page.emulate_media(media="print")
            for hidden in ("header.topbar", "form.params", ".downloads", "footer.footer",
                           ".help-box"):
                assert not page.locator(hidden).is_visible(), hidden
            for shown in ("h1", "dl.meta", "table.list"):
                assert page.locator(shown).is_visible(), shown
            assert page.locator("table.list thead").evaluate(
                "el => getComputedStyle(el).display") == "table-header-group"
            pdf = page.pdf(format="A4", landscape=True)
            (site.shots / "r05-print.pdf").write_bytes(pdf)
        finally:
            browser.close()
