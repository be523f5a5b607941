"""Log-in, server-side sessions, CSRF and throttling (security.md §6 tests 11-14)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select

from opal.appdb.schema import audit_log, user_sessions
from opal.users import disable_user, upsert_user
from tests.fixtures.web import PASSWORD, USERS, Auth, Clock, csrf_of

FAILED = "Anmeldung fehlgeschlagen"


def _app_db(app: Flask) -> Engine:
    return app.extensions["opal"].app_db


def _session_count(app: Flask) -> int:
    with _app_db(app).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(user_sessions)).scalar_one())


def test_login_sets_a_fresh_server_side_session(web_app: Flask, client: FlaskClient,
                                                auth: Auth) -> None:
    client.set_cookie("opal_session", "planted-by-attacker")
    response = auth.login()
    assert response.status_code == 302 and response.headers["Location"] == "/reports"
    cookies = response.headers.getlist("Set-Cookie")
    session = next(c for c in cookies if c.startswith("opal_session="))
    assert "HttpOnly" in session and "SameSite=Lax" in session
    token = session.split(";")[0].split("=", 1)[1]
    assert token != "planted-by-attacker" and len(token) >= 40
    with _app_db(web_app).connect() as conn:
        ids = conn.execute(select(user_sessions.c.id)).scalars().all()
    assert len(ids) == 1 and token not in ids[0]  # the DB holds only the sha256
    assert client.get("/reports").status_code == 200


def test_a_flask_session_cookie_is_never_read_nor_written(web_app: Flask, client: FlaskClient,
                                                          auth: Auth) -> None:
    """Sessions are server-side rows only: a Flask session cookie naming a user (signed with
    the portal's own secret, as flask-login would read it) logs nobody in, no response ever
    sets one, and no code can put anything into one."""
    from flask.sessions import SecureCookieSessionInterface

    signer = SecureCookieSessionInterface().get_signing_serializer(web_app)
    assert signer is not None
    with _app_db(web_app).connect() as conn:
        from opal.appdb.schema import users

        user_id = conn.execute(select(users.c.id).where(
            users.c.username == USERS["case_manager"][0])).scalar_one()
    client.set_cookie("session", signer.dumps({"_user_id": str(user_id), "_fresh": True}))
    response = client.get("/reports")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert client.get("/reports/R02.csv").status_code == 401
    set_cookies = response.headers.getlist("Set-Cookie") + auth.login().headers.getlist(
        "Set-Cookie") + client.get("/reports").headers.getlist("Set-Cookie")
    assert not [c for c in set_cookies if c.startswith("session=")], set_cookies
    from flask import session

    with web_app.test_request_context("/reports"), pytest.raises(RuntimeError):
        session["kept"] = "in a cookie"  # nothing can be kept there: Flask's null session


def test_secure_cookie_flag_follows_config(tmp_path: Path, clock: Clock) -> None:
    from tests.conftest import make_config
    from tests.fixtures.web import build_portal, dispose

    cfg, _ = make_config(tmp_path, "sqlite", session_cookie_secure=True)
    (tmp_path / "var").mkdir()
    app = build_portal(cfg, clock)
    client = app.test_client()
    page = client.get("/login", base_url="https://localhost")
    token = csrf_of(page)
    response = client.post("/login", base_url="https://localhost", data={
        "username": USERS["case_manager"][0], "password": PASSWORD, "csrf_token": token})
    cookie = next(c for c in response.headers.getlist("Set-Cookie")
                  if c.startswith("__Host-opal_session="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
    assert response.headers["Strict-Transport-Security"]
    dispose(app)


def test_logout_kills_the_session_and_replay_fails(web_app: Flask, client: FlaskClient,
                                                   auth: Auth) -> None:
    auth.login()
    captured = client.get_cookie("opal_session")
    assert captured is not None
    assert auth.logout().headers["Location"] == "/login?abgemeldet=1"
    assert _session_count(web_app) == 0
    replay = web_app.test_client()
    replay.set_cookie("opal_session", captured.value)
    assert replay.get("/reports").status_code == 302
    assert replay.get("/reports/R02.csv").status_code == 401
    with _app_db(web_app).connect() as conn:
        actions = conn.execute(select(audit_log.c.action, audit_log.c.outcome)
                               .where(audit_log.c.action.in_(["login", "logout"]))
                               .order_by(audit_log.c.id)).all()
    assert [tuple(a) for a in actions] == [("login", "ok"), ("logout", "ok")]


def test_disabled_user_is_out_on_the_next_request(web_app: Flask, client: FlaskClient,
                                                  auth: Auth) -> None:
    auth.login()
    assert client.get("/reports/R02.json").status_code == 200
    disable_user(_app_db(web_app), USERS["case_manager"][0])
    assert client.get("/reports/R02.json").status_code == 401
    assert client.get("/reports").status_code == 302
    assert auth.login().status_code == 401


def test_role_change_ends_the_session(web_app: Flask, client: FlaskClient, auth: Auth) -> None:
    auth.login("team_lead")
    assert client.get("/reports/R02").status_code == 200
    upsert_user(_app_db(web_app), USERS["team_lead"][0], "controlling")
    assert client.get("/reports/R02").status_code == 302
    auth.login("team_lead")
    assert client.get("/reports/R02").status_code == 403


def test_idle_and_absolute_timeouts(web_app: Flask, client: FlaskClient, auth: Auth,
                                    clock: Clock) -> None:
    cfg = web_app.extensions["opal"].config
    auth.login()
    clock.advance(minutes=cfg.session_idle_minutes - 1)
    assert client.get("/reports").status_code == 200
    clock.advance(minutes=cfg.session_idle_minutes + 1)
    assert client.get("/reports").status_code == 302
    auth.login()
    started = clock.now
    while client.get("/reports").status_code == 200:  # active every 29 minutes
        clock.advance(minutes=29)
        assert clock.now - started < timedelta(hours=cfg.session_max_hours, minutes=30)
    assert clock.now - started > timedelta(hours=cfg.session_max_hours)


def test_the_idle_clock_is_written_at_most_once_a_minute(web_app: Flask, client: FlaskClient,
                                                         auth: Auth, clock: Clock) -> None:
    """Requests within a minute do not write the session; the idle timeout counts from a write."""
    from sqlalchemy import select

    from opal.appdb.schema import user_sessions

    def last_seen() -> object:
        with web_app.extensions["opal"].app_db.connect() as conn:
            return conn.execute(select(user_sessions.c.last_seen_at)).scalar_one()

    cfg = web_app.extensions["opal"].config
    auth.login()
    login_time = last_seen()
    clock.advance(seconds=59)
    assert client.get("/reports").status_code == 200
    assert last_seen() == login_time  # no write: less than a minute
    clock.advance(seconds=1)
    assert client.get("/reports").status_code == 200
    touched = last_seen()
    assert touched != login_time  # a minute old: written
    clock.advance(seconds=30)
    assert client.get("/reports").status_code == 200  # not written (30 s)
    clock.advance(minutes=cfg.session_idle_minutes, seconds=-30)
    assert client.get("/reports").status_code == 200  # exactly idle_minutes since the write
    clock.advance(minutes=cfg.session_idle_minutes, seconds=1)
    assert client.get("/reports").status_code == 302


def test_post_without_or_with_wrong_csrf_token_is_400(client: FlaskClient, auth: Auth) -> None:
    client.get("/login")
    data = {"username": USERS["case_manager"][0], "password": PASSWORD}
    assert client.post("/login", data=data).status_code == 400
    assert client.post("/login", data={**data, "csrf_token": "0" * 64}).status_code == 400
    assert web_fresh_post(client) == 400
    auth.login()
    assert client.post("/logout").status_code == 400
    assert client.get("/reports").status_code == 200  # still logged in


def web_fresh_post(client: FlaskClient) -> int:
    """A POST from a browser that never loaded the form (no nonce cookie)."""
    client.delete_cookie("opal_csrf")
    return client.post("/login", data={"csrf_token": "x"}).status_code


def test_every_page_carries_the_csrf_meta_and_forms_the_hidden_field(client: FlaskClient,
                                                                     auth: Auth) -> None:
    login_page = client.get("/login").get_data(True)
    assert 'name="csrf_token"' in login_page and 'name="csrf-token"' in login_page
    auth.login()
    for url in ("/reports", "/reports/R02", "/reports/R02?n_days=30", "/reports/R99"):
        html = client.get(url).get_data(True)
        assert 'name="csrf-token"' in html, url
        assert 'name="csrf_token"' in html, url  # the logout form


def test_brute_force_is_throttled_with_one_generic_message(web_app: Flask, client: FlaskClient,
                                                           auth: Auth) -> None:
    limit = web_app.extensions["opal"].config.login_max_failures
    texts = []
    for _ in range(limit):
        response = auth.login(password="falsch-falsch-falsch")
        assert response.status_code == 401
        texts.append(response.get_data(True))
    assert all(FAILED in t for t in texts)
    throttled = auth.login()  # even the right password now
    assert throttled.status_code == 429 and FAILED in throttled.get_data(True)
    assert client.get("/reports").status_code == 302


def test_unknown_user_gets_the_same_answer(client: FlaskClient) -> None:
    token = csrf_of(client.get("/login"))
    known = client.post("/login", data={"username": USERS["admin"][0], "password": "x" * 20,
                                        "csrf_token": token})
    unknown = client.post("/login", data={"username": "gibt.es.nicht", "password": "x" * 20,
                                          "csrf_token": token})
    assert known.status_code == unknown.status_code == 401
    strip = lambda r: r.get_data(True).replace(USERS["admin"][0], "").replace(  # noqa: E731
        "gibt.es.nicht", "")
    assert strip(known) == strip(unknown)


def test_throttle_per_address_covers_many_accounts(web_app: Flask, client: FlaskClient) -> None:
    limit = web_app.extensions["opal"].config.login_max_failures
    token = csrf_of(client.get("/login"))
    for i in range(limit):
        client.post("/login", data={"username": f"rate{i}", "password": "x" * 20,
                                    "csrf_token": token})
    response = client.post("/login", data={"username": USERS["admin"][0],
                                            "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 429
    other = web_app.test_client()
    token = csrf_of(other.get("/login", environ_base={"REMOTE_ADDR": "10.0.0.9"}))
    ok = other.post("/login", environ_base={"REMOTE_ADDR": "10.0.0.9"}, data={
        "username": USERS["admin"][0], "password": PASSWORD, "csrf_token": token})
    assert ok.status_code == 302


def test_failures_expire_after_15_minutes(web_app: Flask, auth: Auth, clock: Clock) -> None:
    limit = web_app.extensions["opal"].config.login_max_failures
    for _ in range(limit):
        auth.login(password="falsch-falsch-falsch")
    assert auth.login().status_code == 429
    clock.advance(minutes=16)
    assert auth.login().status_code == 302


def test_login_redirects_only_to_local_paths(client: FlaskClient) -> None:
    token = csrf_of(client.get("/login"))
    data = {"username": USERS["case_manager"][0], "password": PASSWORD, "csrf_token": token}
    response = client.post("/login?next=//evil.example/x", data=data)
    assert response.headers["Location"] == "/reports"
    client2 = client.application.test_client()
    token = csrf_of(client2.get("/login"))
    response = client2.post("/login", data={**data, "csrf_token": token,
                                            "next": "/reports/R02?n_days=30"})
    assert response.headers["Location"] == "/reports/R02?n_days=30"
