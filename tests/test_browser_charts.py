"""R18's chart and the drill-through from R17 in Debian's headless Chromium against `opal serve`
(the setup of ``tests/test_browser.py``): the inline SVG is shown under the real CSP with its
accessible name, and a click on a figure of R17 lands on R18 for that figure and office."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from opal.db import app_engine, case_engine
from opal.users import upsert_user
from tests.fixtures.exports import config_env
from tests.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    Portal,
    _free_port,
    _prepare,
    _require_chromium,
    _wait_until_up,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def controlling_portal(tmp_path: Path) -> Iterator[tuple[Portal, str]]:
    """`opal serve` on the small demo export with a controlling user; the first office's id."""
    _require_chromium()
    config, _ = _prepare(tmp_path)
    app_db = app_engine(config)
    upsert_user(app_db, "ctrl.browser", "controlling", password=PASSWORD)
    app_db.dispose()
    engine = case_engine(config)
    with engine.connect() as conn:
        office = str(conn.execute(text("SELECT MIN(office_id) FROM office")).scalar_one())
    engine.dispose()
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
        yield Portal(url, "ctrl.browser", shots, env), office
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        finally:
            log.close()
    assert proc.returncode == 0, (tmp_path / "serve.log").read_text()[-2000:]


def test_r17_drills_through_to_r18_and_its_chart(
        controlling_portal: tuple[Portal, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    served, office = controlling_portal
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
            problems: list[str] = []
            page.on("console", lambda msg: problems.append(msg.text)
                    if msg.type in ("error", "warning") else None)
            page.goto(served.url + "/login")
            page.fill("#username", served.username)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            expect(page).to_have_url(served.url + "/reports")

            page.goto(served.url + f"/reports/R17?office={office}")
            expect(page.locator("table.list")).to_be_visible()
            page.locator("table.list td a", has_text="K2").first.click()
            expect(page).to_have_url(re.compile(
                re.escape(served.url) + r"/reports/R18\?figure=K2&month=[0-9]{4}-[0-9]{2}&office="
                + re.escape(office) + "$"))
            expect(page.locator("#p-figure")).to_have_value("K2")
            expect(page.locator("#p-office")).to_have_value(office)

            chart = page.get_by_role("img", name="K2 – Integrationsquote im Zeitverlauf")
            expect(chart).to_be_visible()
            box = chart.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100
            assert chart.evaluate("e => e.tagName") == "svg"
            expect(page.locator("svg.chart desc")).to_contain_text("Liniendiagramm")
            # the chart stands above the table
            table_box = page.locator("table.list").bounding_box()
            assert table_box is not None and box["y"] + box["height"] <= table_box["y"]
            page.screenshot(path=str(served.shots / "r18-chart.png"), full_page=False)
            assert not [p for p in problems if "Content Security Policy" in p], problems
        finally:
            browser.close()
