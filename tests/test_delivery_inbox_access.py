"""The inbox's access checks as a truth table: a delivered file only for its recipient, and only
while their role may still run the report; every other id is 404 (never 403: no oracle) and
audited; anonymous is 401 (a download), the page itself sends anonymous users to the login."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from opal.users import upsert_user
from tests.fixtures.web import Auth, Clock
from tests.test_delivery import audits, login, rows_of, subscribe

# (who asks, which entry, status, audit message or None)
TABLE = [
    ("case_manager", "own", 200, "Postfacheintrag {own} abgerufen"),
    ("case_manager", "own_failed", 404, "Postfacheintrag ohne Datei {own_failed}"),
    ("case_manager", "unknown", 404, "unbekannter Postfacheintrag {unknown}"),
    ("stand_in", "own", 404, "fremder Postfacheintrag {own}"),
    ("team_lead", "own", 404, "fremder Postfacheintrag {own}"),
    ("admin", "own", 404, "fremder Postfacheintrag {own}"),
    ("no_role", "own", 404, "fremder Postfacheintrag {own}"),
    ("anonymous", "own", 401, None),
    ("now_controlling", "own", 404, "Postfacheintrag {own}: Rolle nicht mehr berechtigt"),
]


@pytest.fixture
def entries(web_app: Flask, clock: Clock) -> dict[str, int]:
    from dataclasses import replace

    from opal.delivery.deliver import deliver

    client = login(web_app, "case_manager")
    portal = web_app.extensions["opal"]
    assert subscribe(client, "R02", {"n_days": "30"}, fmt="csv").status_code == 303
    deliver(portal.config, clock=clock, ctx=replace(portal, clock=clock))
    assert subscribe(client, "R02", {"n_days": "1"}, fmt="json").status_code == 303
    small = replace(portal.config, export_max_rows=1)  # the second one fails: too large
    deliver(small, clock=clock, ctx=replace(portal, clock=clock, config=small))
    ok, failed = rows_of(web_app)
    assert (ok.status, failed.status) == ("ok", "failed")
    return {"own": ok.id, "own_failed": failed.id, "unknown": failed.id + 100}


@pytest.mark.parametrize(("who", "which", "status", "audit"), TABLE)
def test_inbox_file_truth_table(web_app: Flask, entries: dict[str, int], who: str, which: str,
                                status: int, audit: str | None) -> None:
    delivery_id = entries[which]
    if who == "anonymous":
        client = web_app.test_client()
    elif who == "now_controlling":
        client = login(web_app, "case_manager")
        upsert_user(web_app.extensions["opal"].app_db, "fm.arendt", "controlling")
        Auth(client).login("case_manager")  # the role change ended the session
    else:
        client = login(web_app, who)
    before = len(audits(web_app, action="inbox"))
    got = client.get(f"/inbox/{delivery_id}")
    got.close()
    assert got.status_code == status
    logged: list[Any] = audits(web_app, action="inbox")[before:]
    if audit is None:
        assert logged == []
    else:
        (entry,) = logged
        assert entry.message == audit.format(**entries)
        assert entry.outcome == ("ok" if status == 200 else "denied")


@pytest.mark.parametrize("who", ["case_manager", "stand_in", "admin"])
def test_inbox_page_lists_only_own_entries(web_app: Flask, entries: dict[str, int],
                                           who: str) -> None:
    page = login(web_app, who).get("/inbox")
    assert page.status_code == 200
    mine = who == "case_manager"
    assert (f'href="/inbox/{entries["own"]}"' in page.get_data(True)) is mine
    assert ("Fehlgeschlagen:" in page.get_data(True)) is mine


def test_inbox_page_anonymous_and_bad_arguments(web_app: Flask) -> None:
    assert web_app.test_client().get("/inbox").status_code == 302
    client = login(web_app, "case_manager")
    assert client.get("/inbox?report=R02'--").status_code == 400
    assert client.get("/inbox?x=1").status_code == 400
    assert client.get("/inbox?report=R02&report=R03").status_code == 400
    assert client.get("/inbox/abc").status_code == 404
    for bad in ("0", "-1", "x", "10001", "²"):
        assert client.get(f"/inbox?page={bad}").status_code == 400, bad
    assert client.get("/inbox?page=2").status_code == 200
