"""Delivery end to end: subscribe, `opal deliver`, inbox, run history, scope at delivery time.

The web fixtures' export (tests/fixtures/exports.py): fm.arendt is S01 (P001, P002), av.boell is
S02 (P004, P005, P012) and stands in for S01 from 2026-11-01 to 2026-11-30; tl.nord leads T1
(S01, S02). The portal's clock and every `opal deliver` here run on the suite's fixed clock.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from config import Config
from opal.appdb.schema import audit_log, deliveries
from opal.cli import CliState, main
from opal.delivery.deliver import DeliverResult, deliver
from opal.delivery.subscriptions import subscribe as store
from opal.refresh import refresh
from opal.users import disable_user, get_user, upsert_user
from tests.fixtures.exports import base_rows, config_env, write_export
from tests.fixtures.web import USERS, Auth, Clock, csrf_of

S01_PERSONS = {"P001", "P002"}


def subscribe(client: FlaskClient, code: str, params: dict[str, str], fmt: str = "json",
              schedule: str = "refresh", **extra: str) -> Any:
    page = client.get(f"/reports/{code}?" + "&".join(f"{k}={v}" for k, v in params.items()))
    form = {"csrf_token": csrf_of(page), "report": code, "format": fmt, "schedule": schedule,
            **{f"p.{k}": v for k, v in params.items()}, **extra}
    return client.post("/subscriptions", data=form)


def run_deliver(app: Flask, clock: Clock, **kw: Any) -> DeliverResult:
    portal = app.extensions["opal"]
    ctx = replace(portal, clock=clock)
    return deliver(portal.config, clock=clock, ctx=ctx, **kw)


def rows_of(app: Flask, username: str | None = None) -> list[Any]:
    portal = app.extensions["opal"]
    from opal.appdb.schema import users

    query = select(deliveries, users.c.username).join(users, users.c.id == deliveries.c.user_id)
    if username:
        query = query.where(users.c.username == username)
    with portal.app_db.connect() as conn:
        return list(conn.execute(query.order_by(deliveries.c.id)))


def file_json(app: Flask, row: Any) -> dict[str, Any]:
    path = Path(app.extensions["opal"].config.data_dir) / row.path
    doc: dict[str, Any] = json.loads(path.read_bytes())
    return doc


def customers(app: Flask, row: Any) -> set[str]:
    return {r["customer_no"] for r in file_json(app, row)["rows"]}


def login(app: Flask, key: str) -> FlaskClient:
    client = app.test_client()
    assert Auth(client).login(key).status_code == 302
    return client


def audits(app: Flask, **where: str) -> list[Any]:
    query = select(audit_log)
    for key, value in where.items():
        query = query.where(audit_log.c[key] == value)
    with app.extensions["opal"].app_db.connect() as conn:
        return list(conn.execute(query.order_by(audit_log.c.id)))


def test_subscribe_deliver_once_inbox_download(web_app: Flask, clock: Clock) -> None:
    client = login(web_app, "case_manager")
    page = client.get("/reports/R02?n_days=30").get_data(True)
    assert "Abonnieren" in page and 'name="p.n_days" value="30"' in page
    assert "Frühere Ausgaben" not in page
    made = subscribe(client, "R02", {"n_days": "30"}, fmt="csv")
    assert made.status_code == 303 and made.headers["Location"] == "/subscriptions"
    listed = client.get("/subscriptions").get_data(True)
    assert "R02" in listed and "n_days = 30" in listed
    assert "nach jeder Datenaktualisierung" in listed

    result = run_deliver(web_app, clock)
    assert result.summary() == ("deliver: 1 delivered, 0 failed, 0 skipped (recipient disabled "
                                "or not allowed)")
    assert run_deliver(web_app, clock).summary().startswith("deliver: 0 delivered, 0 failed")
    (row,) = rows_of(web_app)
    assert (row.username, row.status, row.report, row.format) == ("fm.arendt", "ok", "R02", "csv")
    assert row.data_as_of == "2026-11-23" and row.due_at == clock.now.replace(tzinfo=None)

    header = client.get("/reports").get_data(True)
    assert 'aria-label="1 neue Einträge">1</span>' in header
    inbox = client.get("/inbox").get_data(True)
    assert "Kunden ohne Kontakt seit N Tagen" in inbox and "23.11.2026" in inbox
    assert f'href="/inbox/{row.id}"' in inbox and "Tage ohne Kontakt (mehr als): 30" in inbox
    assert f"<td class=\"num\">{row.row_count}</td>" in inbox
    assert "neue Einträge" not in client.get("/reports").get_data(True)  # seen now

    got = client.get(f"/inbox/{row.id}")
    body = got.data
    got.close()  # send_file keeps the file open until the response is closed
    assert got.status_code == 200 and got.mimetype == "text/csv"
    assert f'filename={row.file_name}' in got.headers["Content-Disposition"]
    assert hashlib.sha256(body).hexdigest() == row.sha256 and len(body) == row.size_bytes
    live = client.get("/reports/R02.csv?n_days=30")  # same clock: the same file byte for byte
    assert live.data == body
    assert "Frühere Ausgaben" in client.get("/reports/R02?n_days=30").get_data(True)
    history = client.get("/inbox?report=R02").get_data(True)
    assert f'href="/inbox/{row.id}"' in history
    assert f'href="/inbox/{row.id}"' not in client.get("/inbox?report=R03").get_data(True)
    runs = audits(web_app, client="deliver")
    assert [(a.username, a.report, a.outcome, a.format) for a in runs] == [
        ("fm.arendt", "R02", "ok", "csv")]


def test_bad_subscriptions_name_every_field(web_app: Flask) -> None:
    client = login(web_app, "case_manager")
    bad = subscribe(client, "R02", {"n_days": "0", "nope": "1"}, fmt="docx", schedule="weekly",
                    weekday="9")
    assert bad.status_code == 400
    page = bad.get_data(True)
    for field in ("n_days", "nope", "format", "weekday"):
        assert f"<code>{field}</code>" in page
    monthly = subscribe(client, "R02", {}, schedule="monthly", month_day="32")
    assert monthly.status_code == 400 and "<code>month_day</code>" in monthly.get_data(True)
    assert subscribe(client, "R99", {}).status_code == 404
    controlling = login(web_app, "controlling")
    assert subscribe(controlling, "R02", {}).status_code == 403
    assert rows_of(web_app) == []


def test_scope_at_delivery_time_follows_the_stand_in(web_app: Flask, clock: Clock,
                                                     config: Config, tmp_path: Path) -> None:
    """av.boell stands in for S01 until 2026-11-30; once the export says the stand-in ended,
    the next delivery no longer has S01's persons."""
    client = login(web_app, "stand_in")
    assert subscribe(client, "R02", {"n_days": "1"}).status_code == 303
    run_deliver(web_app, clock)
    rows = base_rows()
    for stand_in in rows["stand_in"]:
        if (stand_in["staff_id"], stand_in["covers_staff_id"]) == ("S02", "S01"):
            stand_in["to_date"] = "2026-11-22"
    clock.advance(days=1)
    refresh(config, write_export(tmp_path / "ended", rows, exported_at="2026-11-25T01:30:00Z"),
            clock=clock)
    run_deliver(web_app, clock)
    first, second = rows_of(web_app, "av.boell")
    before, after = customers(web_app, first), customers(web_app, second)
    assert S01_PERSONS <= before
    assert after == before - S01_PERSONS and after


def test_standard_subscriptions_fan_out_under_each_members_scope(web_app: Flask,
                                                                 clock: Clock) -> None:
    admin = login(web_app, "admin")
    page = admin.get("/admin/subscriptions")
    assert page.status_code == 200
    token = csrf_of(page)
    for audience in ({"audience_kind": "role", "role": "case_manager"},
                     {"audience_kind": "team", "team_id": "T1"}):
        made = admin.post("/admin/subscriptions", data={
            "csrf_token": token, "report": "R02", "params": "n_days=1", "format": "json",
            "schedule": "refresh", **audience})
        assert made.status_code == 303, made.get_data(True)
    bad = admin.post("/admin/subscriptions", data={
        "csrf_token": token, "report": "R02", "params": "n_days", "format": "json",
        "schedule": "fortnightly", "audience_kind": "role", "role": "admin"})
    assert bad.status_code == 400
    assert all(f"<code>{f}</code>" in bad.get_data(True) for f in ("params",))
    assert login(web_app, "case_manager").get("/admin/subscriptions").status_code == 403
    result = run_deliver(web_app, clock)
    # role case_manager: fm.arendt, av.boell; team T1: fm.arendt (S01), av.boell (S02), tl.nord
    assert (result.delivered, result.failed, result.skipped) == (5, 0, 0)
    got = {(r.username, r.subscription_id): customers(web_app, r) for r in rows_of(web_app)}
    arendt, boell, lead = got[("fm.arendt", 1)], got[("av.boell", 1)], got[("tl.nord", 2)]
    assert got[("fm.arendt", 2)] == arendt and got[("av.boell", 2)] == boell
    assert arendt == S01_PERSONS  # never the creator's scope, nor a colleague's
    assert boell == S01_PERSONS | {"P005"}  # own P005 and S01's while standing in
    assert "P009" not in lead and arendt | boell <= lead  # protected P009 is not T1's anyway
    member_view = login(web_app, "case_manager").get("/subscriptions").get_data(True)
    assert "Rolle Fallmanagement" in member_view and "Abbestellen" not in member_view
    assert "Team T1" in member_view  # S01 belongs to T1 in the live data
    controlling_view = login(web_app, "controlling").get("/subscriptions").get_data(True)
    assert "Team T1" not in controlling_view and "Rolle Fallmanagement" not in controlling_view


def test_disabled_or_no_longer_allowed_recipients_get_nothing(web_app: Flask,
                                                              clock: Clock) -> None:
    assert subscribe(login(web_app, "case_manager"), "R02", {"n_days": "1"}).status_code == 303
    assert subscribe(login(web_app, "stand_in"), "R02", {"n_days": "1"}).status_code == 303
    engine = web_app.extensions["opal"].app_db
    disable_user(engine, "fm.arendt")
    upsert_user(engine, "av.boell", "controlling")  # controlling never runs a named list
    result = run_deliver(web_app, clock)
    assert (result.delivered, result.failed, result.skipped) == (0, 0, 2)
    assert [r.status for r in rows_of(web_app)] == ["skipped", "skipped"]
    reasons = [(a.username, a.outcome, a.message) for a in audits(web_app, client="deliver")]
    assert reasons == [("fm.arendt", "denied", "Zustellung entfällt: Benutzer deaktiviert"),
                       ("av.boell", "denied", "Rolle nicht berechtigt")]
    assert not list((Path(web_app.extensions["opal"].config.data_dir) / "inbox").glob("*/*"))


def test_too_large_fails_loudly_never_truncated(web_app: Flask, clock: Clock,
                                                config: Config) -> None:
    assert subscribe(login(web_app, "case_manager"), "R02", {"n_days": "1"}).status_code == 303
    env = {**config_env(config), "OPAL_EXPORT_MAX_ROWS": "1"}
    ran = CliRunner().invoke(main, ["deliver"], env=env, obj=CliState(clock))
    assert ran.exit_code == 1, ran.output
    assert ran.stdout == ("deliver: 0 delivered, 1 failed, 0 skipped (recipient disabled or not "
                          "allowed)\n")
    (row,) = rows_of(web_app)
    assert row.status == "failed" and row.path is None and row.row_count == 2
    assert row.message == ("Nicht zugestellt: die Liste hat 2 Zeilen, erlaubt sind höchstens 1. "
                           "Bitte schränken Sie die Parameter des Abonnements ein.")
    client = login(web_app, "case_manager")
    assert "Fehlgeschlagen:</strong> Nicht zugestellt: die Liste hat 2 Zeilen" in \
        client.get("/inbox").get_data(True)
    assert client.get(f"/inbox/{row.id}").status_code == 404


def test_dry_run_makes_nothing(web_app: Flask, clock: Clock, config: Config) -> None:
    assert subscribe(login(web_app, "case_manager"), "R02", {}, fmt="pdf").status_code == 303
    ran = CliRunner().invoke(main, ["deliver", "--dry-run"], env=config_env(config),
                             obj=CliState(clock))
    assert ran.exit_code == 0
    assert ran.stdout == "deliver (dry run): 1 deliveries due, nothing made\n"
    assert "R02 pdf -> fm.arendt (fällig 2026-11-24 06:12 UTC)" in ran.stderr
    assert rows_of(web_app) == []


def test_refresh_runs_deliver_after_publishing(web_app: Flask, clock: Clock, config: Config,
                                               tmp_path: Path) -> None:
    assert subscribe(login(web_app, "case_manager"), "R02", {}).status_code == 303
    clock.advance(days=1)
    export = write_export(tmp_path / "next", exported_at="2026-11-25T01:30:00Z")
    ran = CliRunner().invoke(main, ["refresh", str(export)], env=config_env(config),
                             obj=CliState(clock))
    assert ran.exit_code == 0, ran.output
    assert len(ran.stdout.splitlines()) == 1  # the refresh's own summary line only
    assert "deliver: 1 delivered, 0 failed" in ran.stderr
    (row,) = rows_of(web_app)
    assert row.due_at == clock.now.replace(tzinfo=None) and row.status == "ok"


def test_unsubscribe_only_own(web_app: Flask, clock: Clock) -> None:
    arendt, boell = login(web_app, "case_manager"), login(web_app, "stand_in")
    assert subscribe(arendt, "R02", {}).status_code == 303
    token = csrf_of(boell.get("/subscriptions"))
    assert boell.post("/subscriptions/1/delete", data={"csrf_token": token}).status_code == 404
    assert boell.post("/subscriptions/99/delete", data={"csrf_token": token}).status_code == 404
    token = csrf_of(arendt.get("/subscriptions"))
    assert arendt.post("/subscriptions/1/delete", data={"csrf_token": token}).status_code == 303
    assert "Sie haben keine Abonnements." in arendt.get("/subscriptions").get_data(True)
    assert run_deliver(web_app, clock).delivered == 0


def test_purge_removes_inbox_entries_past_retention(web_app: Flask, clock: Clock,
                                                    config: Config) -> None:
    from opal.clock import fixed_clock
    from opal.retention import purge

    assert subscribe(login(web_app, "case_manager"), "R02", {}).status_code == 303
    run_deliver(web_app, clock)
    (row,) = rows_of(web_app)
    stored = Path(config.data_dir) / row.path
    assert stored.is_file()
    kept = purge(config, 30, clock=fixed_clock(clock.now + timedelta(days=90)))
    assert kept.inbox_entries == 0 and stored.is_file()
    gone = purge(config, 30, clock=fixed_clock(clock.now + timedelta(days=90, seconds=1)))
    assert gone.inbox_entries == 1 and not stored.exists() and rows_of(web_app) == []
    assert gone.summary().endswith(", 1 inbox entries")


@pytest.mark.parametrize("backend", ["sqlite", "pg"], indirect=True)
def test_two_deliver_processes_race_exactly_once(web_app: Flask, config: Config) -> None:
    """Two `opal deliver` at once (two hosts, or a timer and `opal refresh`), one of them with
    two workers: every due delivery is made exactly once, whoever makes it."""
    engine = web_app.extensions["opal"].app_db
    catalogue = web_app.extensions["opal"].catalogue
    for key in ("case_manager", "stand_in", "team_lead"):
        user = get_user(engine, USERS[key][0])
        assert user is not None
        for n_days in range(1, 11):
            for fmt in ("csv", "json"):
                store(engine, catalogue, user.id, user.actor(), "R02", {"n_days": str(n_days)},
                      {"format": fmt, "schedule": "refresh"}, date(2026, 11, 23))
    codes = ["from opal.cli import main; main(['deliver'])",  # and one with two workers
             "from opal.cli import main; main(['deliver', '--jobs', '2'])"]
    env = {**config_env(config), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for code in codes]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    made = [int(o[0].split(" delivered")[0].rsplit(" ", 1)[1]) for o in outs]
    assert sum(made) == 60
    rows = rows_of(web_app)
    assert len(rows) == 60 and {r.status for r in rows} == {"ok"}
    assert len({(r.subscription_id, r.user_id, r.due_at) for r in rows}) == 60
    files = list((Path(config.data_dir) / "inbox").glob("*/*"))
    assert len(files) == 60 and not [f for f in files if f.name.startswith(".")]
    assert len(audits(web_app, client="deliver")) == 60


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_inbox_pages_newest_first(web_app: Flask, clock: Clock) -> None:
    from sqlalchemy import insert

    from opal.delivery.inbox import PAGE

    engine = web_app.extensions["opal"].app_db
    user = get_user(engine, "fm.arendt")
    assert user is not None
    now = clock.now.replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(insert(deliveries), [{
            "subscription_id": i, "user_id": user.id, "due_at": now, "status": "failed",
            "report": "R02", "format": "csv", "message": f"Eintrag {i:03d}", "created_at": now,
            "finished_at": now} for i in range(1, PAGE + 2)])
    client = login(web_app, "case_manager")
    first = client.get("/inbox").get_data(True)
    assert first.count("Fehlgeschlagen:") == PAGE
    assert f"Eintrag {PAGE + 1:03d}" in first and "Eintrag 001" not in first
    assert 'href="/inbox?page=2" rel="next"' in first and 'rel="prev"' not in first
    second = client.get("/inbox?page=2").get_data(True)
    assert second.count("Fehlgeschlagen:") == 1 and "Eintrag 001" in second
    assert 'href="/inbox" rel="prev"' in second and 'rel="next"' not in second


def test_office_lead_gets_the_office_aggregate(web_app: Flask, clock: Clock) -> None:
    """A delivery runs with every link of the recipient (the office lead's office too)."""
    client = login(web_app, "office_lead")
    assert subscribe(client, "R01", {}, fmt="json").status_code == 303
    result = run_deliver(web_app, clock)
    assert (result.delivered, result.skipped) == (1, 0)
    (row,) = rows_of(web_app, "leitung.nord")
    live = client.get("/reports/R01.json").get_json()
    assert file_json(web_app, row)["rows"] == live["rows"] and live["rows"]
