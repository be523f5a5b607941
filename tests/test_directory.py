"""Sign-in against the county's directory: a real slapd (tests/fixtures/slapd.py), the real portal.

Every name below is an entry of the test directory; expected roles, links and messages are
written out by hand from that directory and from the hand-made export (tests/fixtures/exports).
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from config import Config
from opal.appdb.schema import audit_log, users
from opal.signin import (
    DISABLED_HERE,
    LOCAL_OFF,
    NO_LINK,
    NO_ROLE,
    NOT_LIVE,
    TWO_ROLES,
    UNAVAILABLE,
)
from opal.users import disable_user
from opal.web.auth import LOGIN_FAILED, THROTTLED
from tests.conftest import drop_pg_schemas, make_config
from tests.fixtures.slapd import (
    FALLMANAGEMENT,
    PEOPLE,
    PEOPLE_BASE,
    SERVICE_PASSWORD,
    SPECIAL_NAME,
    TEAM_NORD,
    TWIN,
    TWIN_PASSWORD,
    Slapd,
    free_port,
)
from tests.fixtures.web import PASSWORD, USERS, Clock, build_portal, csrf_of, dispose


def with_directory(config: Config, env: dict[str, str]) -> Config:
    """``config`` with the ``OPAL_LDAP_*`` settings parsed from ``env`` (the real parsers)."""
    parsed = Config.from_env(env, secret_key="x", data_dir=config.data_dir)
    return dataclasses.replace(config, **{f.name: getattr(parsed, f.name)
                                          for f in dataclasses.fields(Config)
                                          if f.name.startswith("ldap_")})


def portal_on(config: Config, slapd: Slapd, **changes: str) -> Flask:
    return build_portal(with_directory(config, slapd.env(**changes)), Clock())


def login(client: FlaskClient, username: str, password: str) -> Any:
    page = client.get("/login")
    if page.status_code == 302:  # signed in already: the token of the session
        page = client.get("/reports")
    token = csrf_of(page)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})


def error_of(response: Any) -> str:
    """The alert text of the login form (the one line the user reads)."""
    html = response.get_data(True)
    start = html.index('<p class="alert" role="alert">') + len('<p class="alert" role="alert">')
    return html[start:html.index("</p>", start)]


def escaped(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def stored(app: Flask, username: str) -> dict[str, Any] | None:
    with app.extensions["opal"].app_db.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == username)).mappings().first()
    return dict(row) if row else None


def last_audit(app: Flask) -> dict[str, Any]:
    with app.extensions["opal"].app_db.connect() as conn:
        row = conn.execute(select(audit_log).order_by(audit_log.c.id.desc()).limit(1)
                           ).mappings().first()
    assert row is not None
    return dict(row)


def password_of(name: str) -> str:
    return PEOPLE[name][0]


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def dir_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            slapd: Slapd) -> Iterator[Flask]:
    """One portal per backend on the test directory; a high throttle (tested on its own)."""
    tmp = tmp_path_factory.mktemp(f"dir-{request.param}")
    cfg, prefix = make_config(tmp, str(request.param), login_max_failures=10000)
    (tmp / "var").mkdir(exist_ok=True)
    app = portal_on(cfg, slapd)
    yield app
    dispose(app)
    if prefix:
        drop_pg_schemas(prefix)


@pytest.fixture
def dir_client(dir_app: Flask) -> FlaskClient:
    return dir_app.test_client()


@pytest.fixture
def one_app(sqlite_config: Config, slapd: Slapd) -> Iterator[Flask]:
    """A fresh SQLite portal on the test directory, default throttle (tests that change state)."""
    app = portal_on(sqlite_config, slapd)
    yield app
    dispose(app)


# --- sign-in per role --------------------------------------------------------------------------

ROLE_CASES = [  # login name, role, staff_id, team_id, office_id
    ("anna.arendt", "case_manager", "S01", None, None),  # direct member of OPAL-Fallmanagement
    ("bernd.boell", "case_manager", "S02", None, None),  # via Team-Nord-Vermittlung (nested)
    (SPECIAL_NAME, "case_manager", "S03", None, None),  # *()\ in login name and DN, nested
    ("dieter.dress", "team_lead", None, "T1", None),
    ("lena.leitung", "office_lead", None, None, "O1"),  # physicalDeliveryOfficeName
    ("clara.controlling", "controlling", None, None, None),
    ("ida.admin", "admin", None, None, None),
]


@pytest.mark.parametrize(("name", "role", "staff", "team", "office"), ROLE_CASES)
def test_each_role_signs_in_with_the_directory_password(dir_app: Flask, dir_client: FlaskClient,
                                                         name: str, role: str, staff: str | None,
                                                         team: str | None,
                                                         office: str | None) -> None:
    response = login(dir_client, name, password_of(name))
    assert response.status_code == 302, response.get_data(True)[-400:]
    assert response.headers["Location"] == "/reports"
    row = stored(dir_app, name)
    assert row is not None and row["office_id"] == office
    assert row is not None
    assert (row["role"], row["staff_id"], row["team_id"], row["source"], row["password_hash"],
            row["active"]) == (role, staff, team, "directory", None, True)
    entry = last_audit(dir_app)
    assert (entry["action"], entry["outcome"], entry["username"], entry["role"]) == (
        "login", "ok", name, role)
    assert dir_client.get("/reports").status_code == 200


def test_login_name_is_case_insensitive_as_in_the_directory(dir_app: Flask,
                                                             dir_client: FlaskClient) -> None:
    response = login(dir_client, "Anna.ARENDT", password_of("anna.arendt"))
    assert response.status_code == 302
    assert last_audit(dir_app)["username"] == "anna.arendt"
    assert stored(dir_app, "Anna.ARENDT") is None  # one record per directory account


# --- wrong password, unknown name, disabled, ambiguous: one answer ---------------------------

FAILED_CASES = [  # name, password, audit reason
    ("anna.arendt", "falsch-aber-lang-genug", "falsches Passwort"),
    ("anna.arendt", "", "leeres Passwort"),  # an empty simple bind would be anonymous: success
    ("niemand.da", "falsch-aber-lang-genug", "unbekannter Name"),
    ("gesperrt", PEOPLE["gesperrt"][0], "Verzeichniskonto deaktiviert"),
    (TWIN, TWIN_PASSWORD, "Name im Verzeichnis mehrdeutig"),
]


@pytest.mark.parametrize(("name", "password", "reason"), FAILED_CASES)
def test_every_failed_sign_in_gets_the_same_answer(dir_app: Flask, dir_client: FlaskClient,
                                                    name: str, password: str,
                                                    reason: str) -> None:
    response = login(dir_client, name, password)
    assert response.status_code == 401
    assert error_of(response) == escaped(LOGIN_FAILED)
    entry = last_audit(dir_app)
    assert (entry["action"], entry["outcome"], entry["message"]) == ("login", "denied", reason)
    assert dir_client.get("/reports").status_code == 302  # no session


# --- LDAP injection ------------------------------------------------------------------------

INJECTIONS = [  # (name typed, whose password): unescaped, each filter would find that user
    ("anna.arend*", "anna.arendt"),
    ("*", "anna.arendt"),
    ("stern*", SPECIAL_NAME),
    ("anna.arendt)(uid=*", "anna.arendt"),
    ("*)(|(uid=anna.arendt", "anna.arendt"),
    ("anna.arendt)(|(objectClass=*", "anna.arendt"),
    ("anna.arendt\\00", "anna.arendt"),
    ("stern\\2a\\28x\\29\\5cy", SPECIAL_NAME),  # the escaped form typed in: literal, no match
    (f"uid=anna.arendt,{PEOPLE_BASE}", "anna.arendt"),
]


@pytest.mark.parametrize(("name", "owner"), INJECTIONS)
def test_filter_metacharacters_in_the_name_match_nobody(dir_app: Flask, dir_client: FlaskClient,
                                                         name: str, owner: str) -> None:
    response = login(dir_client, name, password_of(owner))
    assert response.status_code == 401
    assert error_of(response) == escaped(LOGIN_FAILED)
    assert last_audit(dir_app)["message"] in ("unbekannter Name", "ungültiger Name")
    assert dir_client.get("/reports").status_code == 302


def test_filters_escape_every_value() -> None:
    from opal.directory import IN_CHAIN, group_filter, user_filter

    cfg = Config.from_env({}, secret_key="x")
    assert user_filter(cfg, SPECIAL_NAME) == "(uid=stern\\2a\\28x\\29\\5cy)"
    assert user_filter(cfg, "a\x00b") == "(uid=a\\00b)"
    dn = "cn=Stern *(Klammer)\\5C Test,ou=people,dc=kreis,dc=example"
    esc = "cn=Stern \\2a\\28Klammer\\29\\5c5C Test,ou=people,dc=kreis,dc=example"
    groups = cfg.ldap_group_filter
    assert group_filter(cfg, [dn]) == f"(&{groups}(member={esc}))"
    assert group_filter(cfg, [dn, "cn=b"]) == f"(&{groups}(|(member={esc})(member=cn=b)))"
    # Active Directory resolves nested groups itself (OpenLDAP has no such matching rule)
    assert IN_CHAIN == "1.2.840.113556.1.4.1941"
    assert group_filter(cfg, [dn], in_chain=True) == (
        f"(&{groups}(member:1.2.840.113556.1.4.1941:={esc}))")


# --- no access: the reason is told, audited, and the stored role cleared ---------------------

DENIED_CASES = [  # name, message, audit reason
    ("ohne.gruppe", NO_ROLE, "keine OPAL-Gruppe im Verzeichnis"),  # only in a cycle of groups
    ("doppelt", TWO_ROLES.format(roles="Fallmanagement, Controlling"),
     "mehrere Rollen im Verzeichnis: case_manager, controlling"),
    ("geist", NOT_LIVE.format(label="Personalnummer", value="S99"),
     "case_manager: staff_id S99 nicht in den Live-Daten"),
    ("ohne.nummer", NO_LINK.format(label="Personalnummer"),
     "case_manager: Attribut employeeNumber fehlt oder ungültig"),
]


@pytest.mark.parametrize(("name", "message", "reason"), DENIED_CASES)
def test_no_mapped_group_two_roles_or_a_missing_link_is_no_access(
        dir_app: Flask, dir_client: FlaskClient, name: str, message: str, reason: str) -> None:
    response = login(dir_client, name, password_of(name))
    assert response.status_code == 403
    assert error_of(response) == escaped(message)
    entry = last_audit(dir_app)
    assert (entry["outcome"], entry["username"], entry["role"], entry["message"]) == (
        "denied", name, None, reason)
    row = stored(dir_app, name)
    assert row is not None and row["role"] is None and row["staff_id"] is None
    assert dir_client.get("/reports").status_code == 302


def test_removed_from_the_group_loses_access_at_next_login(one_app: Flask, slapd: Slapd) -> None:
    import ldap

    first, second = one_app.test_client(), one_app.test_client()
    assert login(first, "wechsel", password_of("wechsel")).status_code == 302
    assert first.get("/reports").status_code == 200
    member = [f"uid=wechsel,{PEOPLE_BASE}".encode()]
    slapd.modify(FALLMANAGEMENT, [(ldap.MOD_DELETE, "member", member)])
    try:
        assert first.get("/reports").status_code == 200  # the directory is asked at login
        response = login(second, "wechsel", password_of("wechsel"))
        assert response.status_code == 403
        assert error_of(response) == escaped(NO_ROLE)
        assert first.get("/reports").status_code == 302  # the stored role changed: session ends
    finally:
        slapd.modify(FALLMANAGEMENT, [(ldap.MOD_ADD, "member", member)])
    assert login(second, "wechsel", password_of("wechsel")).status_code == 302


def test_role_and_link_are_read_again_at_every_login(one_app: Flask, slapd: Slapd) -> None:
    import ldap

    client = one_app.test_client()
    dn = f"uid=wechsel,{PEOPLE_BASE}"
    assert login(client, "wechsel", password_of("wechsel")).status_code == 302
    assert stored(one_app, "wechsel")["staff_id"] == "S01"  # type: ignore[index]
    slapd.modify(dn, [(ldap.MOD_REPLACE, "employeeNumber", [b"S02"])])
    try:
        assert login(client, "wechsel", password_of("wechsel")).status_code == 302
        assert stored(one_app, "wechsel")["staff_id"] == "S02"  # type: ignore[index]
    finally:
        slapd.modify(dn, [(ldap.MOD_REPLACE, "employeeNumber", [b"S01"])])


def test_disabled_in_the_directory_after_signing_in_ends_the_session(one_app: Flask,
                                                                     slapd: Slapd) -> None:
    import ldap

    first, second = one_app.test_client(), one_app.test_client()
    dn = f"uid=wechsel,{PEOPLE_BASE}"
    assert login(first, "wechsel", password_of("wechsel")).status_code == 302
    slapd.modify(dn, [(ldap.MOD_ADD, "pwdAccountLockedTime", [b"000001010000Z"])])
    try:
        response = login(second, "wechsel", password_of("wechsel"))
        assert (response.status_code, error_of(response)) == (401, escaped(LOGIN_FAILED))
        assert last_audit(one_app)["message"] == "Verzeichniskonto deaktiviert"
        assert first.get("/reports").status_code == 302
    finally:
        slapd.modify(dn, [(ldap.MOD_DELETE, "pwdAccountLockedTime", None)])


def test_an_operators_disable_holds_against_the_directory(one_app: Flask) -> None:
    client = one_app.test_client()
    assert login(client, "anna.arendt", password_of("anna.arendt")).status_code == 302
    assert disable_user(one_app.extensions["opal"].app_db, "anna.arendt")
    assert client.get("/reports").status_code == 302
    response = login(client, "anna.arendt", password_of("anna.arendt"))
    assert (response.status_code, error_of(response)) == (403, escaped(DISABLED_HERE))


def test_the_login_throttle_covers_directory_logins(one_app: Flask) -> None:
    client = one_app.test_client()
    for _ in range(5):  # OPAL_LOGIN_MAX_FAILURES default
        assert login(client, "anna.arendt", "falsch-aber-lang-genug").status_code == 401
    response = login(client, "anna.arendt", password_of("anna.arendt"))
    assert (response.status_code, error_of(response)) == (429, escaped(THROTTLED))


# --- local accounts: break-glass admin, demo, switched off -----------------------------------

def test_local_accounts_sign_in_beside_the_directory(dir_client: FlaskClient) -> None:
    assert login(dir_client, USERS["case_manager"][0], PASSWORD).status_code == 302
    wrong = login(dir_client, USERS["admin"][0], "falsch-aber-lang-genug")
    assert (wrong.status_code, error_of(wrong)) == (401, escaped(LOGIN_FAILED))


def test_admin_only_switches_local_login_off_for_other_roles(sqlite_config: Config,
                                                             slapd: Slapd) -> None:
    app = portal_on(sqlite_config, slapd, local_login="admin-only")
    try:
        client = app.test_client()
        response = login(client, USERS["case_manager"][0], PASSWORD)
        assert (response.status_code, error_of(response)) == (403, escaped(LOCAL_OFF))
        assert last_audit(app)["message"] == "lokale Anmeldung abgeschaltet"
        assert login(client, USERS["admin"][0], PASSWORD).status_code == 302
        assert login(app.test_client(), "anna.arendt",
                     password_of("anna.arendt")).status_code == 302
    finally:
        dispose(app)


def test_directory_down_local_admin_still_works(sqlite_config: Config, slapd: Slapd) -> None:
    app = portal_on(sqlite_config, slapd, url=f"ldap://127.0.0.1:{free_port()}")
    try:
        client = app.test_client()
        response = login(client, "anna.arendt", password_of("anna.arendt"))
        assert (response.status_code, error_of(response)) == (503, escaped(UNAVAILABLE))
        entry = last_audit(app)
        assert entry["outcome"] == "error"
        assert entry["message"].startswith("Verzeichnis nicht erreichbar: SERVER_DOWN")
        assert login(client, USERS["admin"][0], PASSWORD).status_code == 302
        assert client.get("/admin/audit").status_code == 200
    finally:
        dispose(app)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never answers (a hung directory)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield int(sock.getsockname()[1])
    sock.close()


@pytest.mark.timed_wait
@pytest.mark.parametrize("scheme", ["ldap", "ldap+starttls", "ldaps"])
def test_a_hung_directory_is_given_up_after_the_timeout(sqlite_config: Config, slapd: Slapd,
                                                        silent_server: int, scheme: str) -> None:
    changes = {"url": f"{scheme.split('+')[0]}://127.0.0.1:{silent_server}", "timeout": "1",
               "starttls": "1" if scheme != "ldap" else "0", "ca_file": str(slapd.ca_file)}
    app = portal_on(sqlite_config, slapd, **changes)
    answer: list[Any] = []
    try:
        client = app.test_client()
        token = csrf_of(client.get("/login"))
        worker = threading.Thread(target=lambda: answer.append(client.post(
            "/login", data={"username": "anna.arendt", "password": password_of("anna.arendt"),
                            "csrf_token": token})), daemon=True)
        worker.start()
        worker.join(30)  # a bound on correctness (it returns at all), not a speed measurement
        assert answer, "the sign-in waited on a silent directory without limit"
        assert (answer[0].status_code, error_of(answer[0])) == (503, escaped(UNAVAILABLE))
    finally:
        dispose(app)


# --- TLS ---------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["starttls", "ldaps"])
def test_tls_with_the_test_ca(sqlite_config: Config, slapd: Slapd, how: str) -> None:
    url = slapd.ldaps_url if how == "ldaps" else f"ldap://127.0.0.1:{slapd.port}"
    app = portal_on(sqlite_config, slapd, url=url, starttls="1", ca_file=str(slapd.ca_file))
    try:
        assert login(app.test_client(), "anna.arendt",
                     password_of("anna.arendt")).status_code == 302
    finally:
        dispose(app)


@pytest.mark.parametrize("how", ["starttls", "ldaps"])
def test_tls_with_another_ca_is_refused(sqlite_config: Config, slapd: Slapd, how: str) -> None:
    url = slapd.ldaps_url if how == "ldaps" else f"ldap://127.0.0.1:{slapd.port}"
    app = portal_on(sqlite_config, slapd, url=url, starttls="1",
                    ca_file=str(slapd.other_ca_file))
    try:
        response = login(app.test_client(), "anna.arendt", password_of("anna.arendt"))
        assert (response.status_code, error_of(response)) == (503, escaped(UNAVAILABLE))
        assert stored(app, "anna.arendt") is None
    finally:
        dispose(app)


def test_tls_to_a_name_the_certificate_does_not_carry_is_refused(sqlite_config: Config,
                                                                   slapd: Slapd) -> None:
    app = portal_on(sqlite_config, slapd, url=f"ldaps://127.0.0.2:{slapd.ldaps_port}",
                    ca_file=str(slapd.ca_file))
    try:
        response = login(app.test_client(), "anna.arendt", password_of("anna.arendt"))
        assert (response.status_code, error_of(response)) == (503, escaped(UNAVAILABLE))
    finally:
        dispose(app)


def test_the_service_password_is_read_from_its_file_and_never_logged(
        sqlite_config: Config, slapd: Slapd, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    wrong = tmp_path / "wrong-password"
    wrong.write_text("nicht-das-Dienstpasswort\n")
    app = portal_on(sqlite_config, slapd, bind_password_file=str(wrong))
    try:
        with caplog.at_level(logging.DEBUG):
            response = login(app.test_client(), "anna.arendt", password_of("anna.arendt"))
        assert response.status_code == 503
        entry = last_audit(app)
        assert entry["message"] == ("Verzeichnis nicht erreichbar: Dienstkonto abgewiesen "
                                    "(OPAL_LDAP_BIND_DN / Passwortdatei)")
        with app.extensions["opal"].app_db.connect() as conn:
            audit_text = " ".join(str(v) for row in conn.execute(select(audit_log))
                                  for v in row)
        for secret in ("nicht-das-Dienstpasswort", SERVICE_PASSWORD,
                       password_of("anna.arendt")):
            assert secret not in caplog.text and secret not in audit_text
    finally:
        dispose(app)


# --- end to end: a case manager sees exactly their case load --------------------------------

def test_a_case_manager_from_the_directory_sees_exactly_their_case_load(
        dir_client: FlaskClient) -> None:
    assert login(dir_client, "anna.arendt", password_of("anna.arendt")).status_code == 302
    r01 = dir_client.get("/reports/R01.json").get_json()
    assert [row["staff_id"] for row in r01["rows"]] == ["S01"]
    # S01's persons (tests/fixtures/exports.py): P001, P002; P003 has no case manager; S01
    # covers S02 only in June, so none of S02's persons
    r02 = dir_client.get("/reports/R02.json", query_string={"n_days": "1"}).get_json()
    assert sorted(row["customer_no"] for row in r02["rows"]) == ["P001", "P002"]
    assert dir_client.get("/reports/R09").status_code == 403  # a team/controlling report


def test_a_stand_in_from_a_nested_group_sees_the_covered_case_load(
        dir_client: FlaskClient) -> None:
    # S02 covers S01 from 2026-11-01 to 2026-11-30 (as_of 2026-11-23): S01's non-protected
    # persons and S02's own (P004, P005, P012)
    assert login(dir_client, "bernd.boell", password_of("bernd.boell")).status_code == 302
    r02 = dir_client.get("/reports/R02.json", query_string={"n_days": "1"}).get_json()
    assert {row["customer_no"] for row in r02["rows"]} <= {"P001", "P002", "P004", "P005",
                                                           "P012"}


# --- configuration -------------------------------------------------------------------------

BASE_ENV = {"OPAL_LDAP_URL": "ldaps://dc1.kreis.example", "OPAL_LDAP_USER_BASE": "dc=kreis",
            "OPAL_LDAP_ROLE_GROUPS": "admin=cn=opal-admin,dc=kreis"}

CONFIG_FAULTS = [
    ({"OPAL_LDAP_URL": "http://dc1"}, "OPAL_LDAP_URL='http://dc1' is invalid"),
    ({"OPAL_LDAP_USER_BASE": ""}, "OPAL_LDAP_URL is set but OPAL_LDAP_USER_BASE is not"),
    ({"OPAL_LDAP_ROLE_GROUPS": "chef=cn=x,dc=kreis"}, "unknown role 'chef'"),
    ({"OPAL_LDAP_ROLE_GROUPS": "admin"}, "expected key=value"),
    ({"OPAL_LDAP_ROLE_GROUPS": "admin=cn=x,,=y"}, "is not a distinguished name"),
    ({"OPAL_LDAP_LINK_ATTRS": "personal=employeeNumber"}, "unknown link 'personal'"),
    ({"OPAL_LDAP_USER_FILTER": "(uid=*)"}, "with {username} once"),
    ({"OPAL_LDAP_BIND_DN": "cn=svc,dc=kreis"}, "OPAL_LDAP_BIND_DN and "
     "OPAL_LDAP_BIND_PASSWORD_FILE go together"),
    ({"OPAL_LDAP_BIND_PASSWORD_FILE": "/nonexistent/pw"}, "no readable file"),
    ({"OPAL_LDAP_CA_FILE": "/nonexistent/ca.pem"}, "no readable file"),
    ({"OPAL_LDAP_URL": "ldap://dc1.kreis.example", "OPAL_LDAP_STARTTLS": "0"},
     "would send passwords in clear text"),
    ({"OPAL_LDAP_NESTED_GROUPS": "deep"}, "expected one of walk, in_chain, off"),
    ({"OPAL_LDAP_LOCAL_LOGIN": "none"}, "expected one of all, admin-only"),
    ({"OPAL_LDAP_TIMEOUT": "0"}, "must be greater than 0"),
]


@pytest.mark.parametrize(("change", "message"), CONFIG_FAULTS)
def test_directory_settings_fail_fast_with_one_line(change: dict[str, str], message: str,
                                                    ) -> None:
    from config import ConfigError

    with pytest.raises(ConfigError) as info:
        Config.from_env({**BASE_ENV, **change}, secret_key="x")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_plain_ldap_is_allowed_on_loopback_only_and_the_defaults() -> None:
    cfg = Config.from_env({**BASE_ENV, "OPAL_LDAP_URL": "ldap://127.0.0.1:3890",
                           "OPAL_LDAP_STARTTLS": "0"}, secret_key="x")
    assert cfg.directory and cfg.ldap_url == "ldap://127.0.0.1:3890"
    assert cfg.ldap_role_groups == (("admin", "cn=opal-admin,dc=kreis"),)
    assert cfg.ldap_link_attrs == (("staff_id", "employeeNumber"), ("team_id", "departmentNumber"),
                                   ("office_id", "physicalDeliveryOfficeName"))
    assert (cfg.ldap_nested_groups, cfg.ldap_local_login) == ("walk", "all")
    assert not Config.from_env({}, secret_key="x").directory


def test_the_office_lead_group_maps_to_the_role_and_its_office(monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    """office_lead (issue 21) linked to an office_id: configuration and the role table only."""
    from opal.directory import Verdict, normalise_dn
    from opal.signin import _grant

    cfg = Config.from_env({**BASE_ENV, "OPAL_LDAP_ROLE_GROUPS": "office_lead=cn=Leitung,dc=kreis",
                           "OPAL_LDAP_LINK_ATTRS": "office_id=physicalDeliveryOfficeName"},
                          secret_key="x")
    verdict = Verdict("ok", "Verzeichnis", "uid=l,dc=kreis",
                      frozenset({normalise_dn("CN=Leitung,DC=Kreis")}),
                      {"physicalDeliveryOfficeName": ["O1"]})
    asked: list[Any] = []

    def linked(actor: Any) -> bool:
        asked.append(actor)
        return True

    monkeypatch.setattr("opal.signin.Actor", lambda name, role, **links: (name, role, links))
    assert _grant(cfg, verdict, "l", linked) == ("office_lead", {"office_id": "O1"}, None)
    assert asked == [("l", "office_lead", {"office_id": "O1"})]


def test_nested_walk_is_bounded_and_terminates_on_cycles(slapd: Slapd) -> None:
    from opal.directory import authenticate, normalise_dn

    cfg = with_directory(Config.from_env({}, secret_key="x"), slapd.env())
    verdict = authenticate(cfg, "ohne.gruppe", password_of("ohne.gruppe"))
    assert verdict.kind == "ok"
    assert verdict.groups == {normalise_dn("cn=Zyklus-A,ou=groups,dc=kreis,dc=example"),
                              normalise_dn("cn=Zyklus-B,ou=groups,dc=kreis,dc=example")}
    off = dataclasses.replace(cfg, ldap_nested_groups="off")
    assert authenticate(off, "bernd.boell", password_of("bernd.boell")).groups == {
        normalise_dn(TEAM_NORD)}
    walk = authenticate(cfg, "bernd.boell", password_of("bernd.boell"))
    assert walk.groups == {normalise_dn(TEAM_NORD), normalise_dn(FALLMANAGEMENT)}


def test_upgrade_makes_every_existing_account_local(config: Config) -> None:
    from sqlalchemy import inspect, text

    from opal.appdb import migrate
    from opal.db import app_engine

    engine = app_engine(config)
    # the app database as the release before migrations made it: revision 0001's tables
    # (users without ``source``, an audit log with its guard), no ``alembic_version``
    migrate.upgrade(engine, config.app_db_schema, target="0001")
    pg = engine.dialect.name == "postgresql"
    version_table = f'"{config.app_db_schema}".alembic_version' if pg else "alembic_version"
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {version_table}"))
        conn.execute(text("INSERT INTO users VALUES (7, 'alt', NULL, 'admin', NULL, NULL, TRUE, "
                          "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"))
    try:
        assert migrate.upgrade(engine, config.app_db_schema).stamped_legacy
        names = [c["name"] for c in inspect(engine).get_columns(
            "users", schema=config.app_db_schema if pg else None)]
        assert "source" in names and names[-1] == "office_id"  # 0002 ... then 0004
        with engine.connect() as conn:
            assert conn.execute(text("SELECT id, source FROM users")).all() == [(7, "local")]
    finally:
        engine.dispose()


def test_directory_settings_round_trip_through_the_environment(slapd: Slapd) -> None:
    from tests.fixtures.exports import config_env

    cfg = with_directory(Config.from_env({}, secret_key="x"), slapd.env(nested_groups="off"))
    assert Config.from_env(config_env(cfg)) == cfg


def test_opal_users_add_with_a_password_takes_a_directory_account_over(one_app: Flask) -> None:
    from opal.users import UserError, get_user, sync_directory_user, upsert_user

    engine = one_app.extensions["opal"].app_db
    assert login(one_app.test_client(), "anna.arendt",
                 password_of("anna.arendt")).status_code == 302
    upsert_user(engine, "anna.arendt", "case_manager", staff_id="S01")  # no password: stays
    assert get_user(engine, "anna.arendt").source == "directory"  # type: ignore[union-attr]
    upsert_user(engine, "anna.arendt", "case_manager", staff_id="S01",
                password="lokales-Passwort-lang")
    assert get_user(engine, "anna.arendt").source == "local"  # type: ignore[union-attr]
    with pytest.raises(UserError):  # the directory never takes over a local account
        sync_directory_user(engine, "anna.arendt", "admin", {})
    response = login(one_app.test_client(), "anna.arendt", password_of("anna.arendt"))
    assert response.status_code == 401  # now only the local password counts
    assert login(one_app.test_client(), "anna.arendt",
                 "lokales-Passwort-lang").status_code == 302


def test_with_every_waiting_slot_held_a_sign_in_answers_at_once(slapd: Slapd) -> None:
    from opal import directory

    cfg = with_directory(Config.from_env({}, secret_key="x"), slapd.env())
    held = 0
    try:
        while directory._SLOTS.acquire(blocking=False):  # workers stuck on a silent server
            held += 1
        assert 0 < held <= directory.MAX_WAITING  # a worker of an earlier test may hold one
        verdict = directory.authenticate(cfg, "anna.arendt", password_of("anna.arendt"))
        assert (verdict.kind, verdict.reason) == (
            "unavailable", "Verzeichnis nicht erreichbar: zu viele offene Anfragen")
    finally:
        for _ in range(held):
            directory._SLOTS.release()
    assert directory.authenticate(cfg, "anna.arendt", password_of("anna.arendt")).kind == "ok"
