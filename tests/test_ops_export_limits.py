"""Export limits through the web (security.md §6 test 19): the row cap (OPAL_EXPORT_MAX_ROWS) is a
clear German 400 for every download format while the HTML page still pages through all rows; the
per-user download limit (OPAL_DOWNLOADS_PER_MINUTE) is a clear German 429 that lifts after a
minute on the injected clock, per user, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from opal.audit import recent
from tests.conftest import drop_pg_schemas, make_config
from tests.fixtures.exports import base_rows
from tests.fixtures.web import Auth, Clock, build_portal, dispose

EXTRA_PERSONS = 70


def many_persons() -> dict[str, Any]:
    """The hand-made export plus 70 persons of case manager S01, all without a contact."""
    rows = base_rows()
    template = next(p for p in rows["person"] if p["customer_no"] == "P001")
    spell = next(s for s in rows["benefit_spell"] if s["customer_no"] == "P001")
    for i in range(EXTRA_PERSONS):
        no = f"Q{i:04d}"
        rows["person"].append({**template, "customer_no": no, "last_name": f"Test{i}"})
        rows["benefit_spell"].append({**spell, "spell_id": f"X{i:04d}", "customer_no": no})
    return rows


def portal(tmp_path: Path, backend: str, clock: Clock, rows: dict[str, Any] | None = None,
           **overrides: Any) -> Iterator[Flask]:
    cfg, prefix = make_config(tmp_path, backend, **overrides)
    (tmp_path / "var").mkdir(exist_ok=True)
    app = build_portal(cfg, clock, rows)
    try:
        yield app
    finally:
        dispose(app)
        if prefix:
            drop_pg_schemas(prefix)


@pytest.fixture
def capped(tmp_path: Path, backend: str, clock: Clock) -> Iterator[Flask]:
    yield from portal(tmp_path, backend, clock, many_persons(), export_max_rows=60)


def test_download_over_the_row_cap_is_a_clear_400_and_the_page_still_pages(
        capped: Flask) -> None:
    client = capped.test_client()
    Auth(client).login("case_manager")
    first = client.get("/reports/R02?n_days=30")
    assert first.status_code == 200
    html = first.get_data(True)
    found = re.search(r"<dt>Zeilen</dt><dd>(\d+)</dd>", html)
    assert found is not None
    total = int(found.group(1))
    assert total > 60
    assert "Seite 1 von 2" in html
    last = client.get("/reports/R02?n_days=30&page=2")
    assert last.status_code == 200 and "Seite 2 von 2" in last.get_data(True)
    message = (f"Der Export umfasst {total} Zeilen, erlaubt sind höchstens 60. "
               "Bitte schränken Sie die Parameter ein.")
    for fmt in ("csv", "xlsx", "pdf"):
        response = client.get(f"/reports/R02.{fmt}?n_days=30")
        assert response.status_code == 400, fmt
        assert "attachment" not in response.headers.get("Content-Disposition", "")
        assert message in response.get_data(True)
    as_json = client.get("/reports/R02.json?n_days=30")
    assert as_json.status_code == 400
    assert as_json.get_json() == {"ok": False, "status": 400, "error": message, "errors": {}}
    entry = recent(capped.extensions["opal"].app_db, 1)[0]
    assert (entry["outcome"], entry["row_count"], entry["message"], entry["format"]) == \
        ("invalid", total, "Exportgrenze überschritten", "json")
    # a narrower selection under the cap downloads fine
    small = client.get("/reports/R02.csv?n_days=30&profile_group=A")
    assert small.status_code == 200, small.get_data(True)


@pytest.fixture
def limited(tmp_path: Path, backend: str, clock: Clock) -> Iterator[Flask]:
    yield from portal(tmp_path, backend, clock, downloads_per_minute=3)


def test_download_rate_limit_is_per_user_and_lifts_after_a_minute(limited: Flask,
                                                                  clock: Clock) -> None:
    first, other = limited.test_client(), limited.test_client()
    Auth(first).login("case_manager")
    Auth(other).login("team_lead")
    assert [first.get(f"/reports/R02.{f}").status_code for f in ("csv", "json", "xlsx")] == \
        [200, 200, 200]
    clock.advance(seconds=30)
    refused = first.get("/reports/R02.csv")
    assert refused.status_code == 429
    assert ("Sie haben in der letzten Minute zu viele Dateien abgerufen. Bitte warten Sie eine "
            "Minute und versuchen Sie es dann erneut.") in refused.get_data(True)
    assert first.get("/reports/R02.json").get_json()["status"] == 429
    assert other.get("/reports/R02.csv").status_code == 200  # another user has their own quota
    assert first.get("/reports/R02?n_days=5").status_code == 200  # pages are not downloads
    clock.advance(seconds=29)  # 59 s after the three downloads: still limited
    assert first.get("/reports/R02.csv").status_code == 429
    clock.advance(seconds=1)  # a full minute: the refused attempts did not count
    assert [first.get("/reports/R02.csv").status_code for _ in range(4)] == [200, 200, 200, 429]
