"""Local time (OPAL_TIMEZONE, default Europe/Berlin, MEZ/MESZ) on pages and in files, across a
daylight-saving change with an injected clock; JSON keeps UTC ISO timestamps."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from openpyxl import load_workbook

from config import Config, ConfigError
from opal.localtime import format_local
from tests.fixtures.web import Auth, Clock
from tests.test_render_pdf import pdf_text

#: 2027-03-28: clocks go from 02:00 MEZ to 03:00 MESZ at 01:00 UTC
BEFORE_SPRING = datetime(2027, 3, 28, 0, 59, 59, tzinfo=UTC)
AFTER_SPRING = datetime(2027, 3, 28, 1, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("moment,expected", [
    (datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC), "29.03.2026 01:59:59 MEZ"),
    (datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC), "29.03.2026 03:00:00 MESZ"),
    (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "25.10.2026 02:30:00 MESZ"),
    (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "25.10.2026 02:30:00 MEZ"),  # the hour again
    (datetime(2026, 11, 24, 1, 30), "24.11.2026 02:30:00 MEZ"),  # naive: the app DB's UTC
    (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "01.01.2027 00:30:00 MEZ"),
])
def test_berlin_time_with_german_abbreviation(moment: datetime, expected: str) -> None:
    assert format_local(moment, seconds=True) == expected


def test_another_zone_keeps_its_own_abbreviation() -> None:
    assert format_local(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), "UTC") == "01.07.2026 12:00 UTC"
    assert format_local(datetime(2026, 7, 1, 12, 0, tzinfo=UTC),
                        "America/New_York") == "01.07.2026 08:00 EDT"


def test_config_default_and_a_bad_zone_fails_with_one_line() -> None:
    assert Config.from_env({}).timezone == "Europe/Berlin"
    assert Config.from_env({"OPAL_TIMEZONE": "Europe/Vienna"}).timezone == "Europe/Vienna"
    with pytest.raises(ConfigError) as info:
        Config.from_env({"OPAL_TIMEZONE": "Mitteleuropa"})
    assert "OPAL_TIMEZONE" in str(info.value) and "\n" not in str(info.value)


def _made(page: str) -> str:
    found = re.search(r"<dt>Erstellt</dt><dd>([^<]+)</dd>", page)
    assert found, "the page says when the list was made"
    return found.group(1)


@pytest.mark.parametrize("moment,shown,stamp", [
    (BEFORE_SPRING, "28.03.2027 01:59 MEZ", "2027-03-28_015959_MEZ"),
    (AFTER_SPRING, "28.03.2027 03:00 MESZ", "2027-03-28_030000_MESZ"),
])
def test_page_and_files_across_the_spring_change(web_app: Flask, clock: Clock,
                                                 moment: datetime, shown: str,
                                                 stamp: str) -> None:
    client = web_app.test_client()
    clock.now = moment
    Auth(client).login("team_lead")
    page = client.get("/reports/R02").get_data(True)
    assert _made(page) == shown
    assert "(Export vom 24.11.2026 02:30 MEZ)" in page  # exported 01:30 UTC, winter
    pdf = client.get("/reports/R02.pdf").data
    assert f"Erstellt: {shown}" in pdf_text(pdf, mode="-raw")
    xlsx = load_workbook(io.BytesIO(client.get("/reports/R02.xlsx").data))
    cells = {row[0].value: row[1].value for row in xlsx.active.iter_rows(max_row=12)
             if len(row) > 1}
    assert cells["Erstellt"] == shown
    csv = client.get("/reports/R02.csv")
    assert f"_erstellt-{stamp}.csv" in csv.headers["Content-Disposition"]
    doc = client.get("/reports/R02.json").get_json()
    assert doc["generated_at"] == moment.strftime("%Y-%m-%dT%H:%M:%SZ")  # JSON stays UTC


def test_admin_pages_show_local_time(web_app: Flask, clock: Clock) -> None:
    client = web_app.test_client()
    clock.now = AFTER_SPRING
    Auth(client).login("admin")
    audit = client.get("/admin/audit").get_data(True)
    assert "28.03.2027 03:00:00 MESZ" in audit and "UTC" not in audit
    runs = client.get("/admin/refresh").get_data(True)
    assert "24.11.2026 07:12 MEZ" in runs  # the refresh ran at FIXED_NOW (06:12 UTC)
    assert "UTC" not in runs
