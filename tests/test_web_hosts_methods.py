"""Trusted Host names (never a redirect built from Host) and exact ``Allow`` headers on 405.

Issue 20, points 5 and 9: ``GET /reports//R02.json`` with ``Host: evil.example`` redirected to
``http://evil.example/…``; a 405 on a ``.json`` path had no ``Allow``, and GET-only pages listed
POST in theirs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from config import Config, ConfigError
from tests.conftest import drop_pg_schemas, make_config, require_pg
from tests.fixtures.web import Auth, Clock, build_portal, dispose

EVIL = "evil.example"
#: every URL shape of the portal, with the methods it answers (besides OPTIONS)
ROUTES: dict[str, str] = {
    "/": "GET, HEAD",
    "/login": "GET, HEAD, POST",
    "/logout": "POST",
    "/reports": "GET, HEAD",
    "/reports/R02": "GET, HEAD",
    "/reports/R02.json": "GET, HEAD",
    "/reports/R02.csv": "GET, HEAD",
    "/healthz": "GET, HEAD",
    "/openapi.json": "GET, HEAD",
    "/admin/users": "GET, HEAD",
    "/admin/audit": "GET, HEAD",
    "/admin/audit.csv": "GET, HEAD",
    "/admin/refresh": "GET, HEAD",
    "/static/opal.css": "GET, HEAD",
    "/subscriptions": "GET, HEAD, POST",  # a GET view and a POST view on one path
}


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def hosts_app(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The portal reachable as portal.kreis.example (OPAL_BASE_URL) and *.intern.example."""
    if request.param == "pg":
        require_pg()
    tmp = tmp_path_factory.mktemp(f"hosts-{request.param}")
    config, prefix = make_config(tmp, str(request.param), base_url="https://portal.kreis.example",
                                 allowed_hosts=".intern.example,localhost",
                                 downloads_per_minute=100_000)
    (tmp / "var").mkdir(exist_ok=True)
    app = build_portal(config, Clock())
    yield app
    dispose(app)
    if prefix:
        drop_pg_schemas(prefix)


@pytest.fixture(scope="module")
def logged_in(hosts_app: Flask) -> FlaskClient:
    client = hosts_app.test_client()
    assert Auth(client).login().status_code == 302
    return client


def _sample(rule: str) -> str:
    """A concrete path of a URL rule."""
    return (rule.replace("<int:delivery_id>", "1").replace("<int:sub_id>", "1")
            .replace("<name>", "R02").replace("<path:filename>", "opal.css"))


def test_every_rule_answers_with_its_own_allow(hosts_app: Flask,
                                               admin_and_user: tuple[FlaskClient, FlaskClient]
                                               ) -> None:
    """Beyond ROUTES: whatever rules the portal has, a 405 names what its path declares."""
    declared: dict[str, set[str]] = {}
    for rule in hosts_app.url_map.iter_rules():
        declared.setdefault(rule.rule, set()).update(rule.methods or ())
    assert set(ROUTES) <= {_sample(r) for r in declared} | {"/reports/R02.json",
                                                           "/reports/R02.csv"}
    for rule, methods in declared.items():
        allowed = ", ".join(m for m in ("GET", "HEAD", "POST") if m in methods)
        path = _sample(rule)
        client = admin_and_user[1 if path.startswith("/admin") else 0]
        for method in ("PUT", "TRACE", "OPTIONS"):
            response = client.open(path, method=method)
            assert (response.status_code, response.headers.get("Allow")) == (405, allowed), \
                (path, method)


@pytest.mark.parametrize("host", [EVIL, "portal.kreis.example.evil.example", "intern.example.x",
                                  "127.0.0.1", "evil.example:443"])
@pytest.mark.parametrize("path", ["/reports//R02.json", "/reports//R02",
                                  "/login", "/healthz", "/reports/R02.json", "/"])
def test_an_untrusted_host_is_400_and_never_echoed(logged_in: FlaskClient, host: str,
                                                   path: str) -> None:
    response = logged_in.get(path, headers={"Host": host})
    assert response.status_code == 400, (host, path, response.status_code)
    assert "Location" not in response.headers
    body = response.get_data(True)
    assert "evil" not in body and host not in body
    assert response.headers["X-Frame-Options"] == "DENY"
    if path.endswith(".json"):
        assert response.get_json()["status"] == 400


@pytest.mark.parametrize("host", ["portal.kreis.example", "portal.kreis.example:8443",
                                  "a.intern.example", "localhost"])
def test_trusted_hosts_are_served(hosts_app: Flask, logged_in: FlaskClient, host: str) -> None:
    assert logged_in.get("/reports/R02.json").status_code == 200  # the session is on localhost
    anonymous = hosts_app.test_client()
    assert anonymous.get("/healthz", headers={"Host": host}).status_code == 200
    assert anonymous.get("/login", headers={"Host": host}).status_code == 200
    assert anonymous.get("/reports/R02.json", headers={"Host": host}).status_code == 401


@pytest.mark.parametrize("path", ["/reports//R02.json", "/reports//R02",
                                  "/reports/R02/", "/static//opal.css"])
def test_double_slashes_are_404_not_a_redirect(logged_in: FlaskClient, path: str) -> None:
    response = logged_in.get(path, headers={"Host": "localhost"})
    assert response.status_code == 404
    assert "Location" not in response.headers


def test_redirects_are_relative(hosts_app: Flask) -> None:
    """Every redirect the portal makes is a path: Host never reaches a Location header."""
    client = hosts_app.test_client()
    for path in ("/", "/reports", "/reports/R02?n_days=3", "/admin/users"):
        response = client.get(path, headers={"Host": "a.intern.example"})
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/"), response.headers["Location"]
    Auth(client).login()
    assert client.get("/login").headers["Location"] == "/reports"


def test_host_settings_are_checked() -> None:
    base = {"OPAL_SECRET_KEY": "x"}
    config = Config.from_env({**base, "OPAL_ALLOWED_HOSTS": " Portal.Kreis.de , .intern.de"})
    assert config.trusted_hosts == ("127.0.0.1", "localhost", "portal.kreis.de", ".intern.de")
    assert Config.from_env({**base, "OPAL_BASE_URL": "https://opal.kreis-borken.de/"}
                           ).trusted_hosts == ("opal.kreis-borken.de",)
    for bad in ({"OPAL_BASE_URL": "opal.kreis.de"}, {"OPAL_BASE_URL": "ftp://x"},
                {"OPAL_ALLOWED_HOSTS": "evil.example/x"}, {"OPAL_ALLOWED_HOSTS": "a b"}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            Config.from_env({**base, **bad})


# --------------------------------------------------------------------------------------------
# 405 and Allow
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def admin_and_user(hosts_app: Flask, logged_in: FlaskClient) -> tuple[FlaskClient, FlaskClient]:
    admin = hosts_app.test_client()
    assert Auth(admin).login("admin").status_code == 302
    return logged_in, admin


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "TRACE", "OPTIONS", "POST"])
@pytest.mark.parametrize("path", sorted(ROUTES))
def test_405_names_exactly_the_allowed_methods(admin_and_user: tuple[
        FlaskClient, FlaskClient], path: str, method: str) -> None:
    allowed = ROUTES[path]
    if method in allowed:
        return  # not a 405 case for this path
    client = admin_and_user[1 if path.startswith("/admin") else 0]
    response = client.open(path, method=method)
    assert response.status_code == 405, (path, method, response.status_code)
    assert response.headers.get("Allow") == allowed, (path, method)
    if path.endswith(".json"):
        body = response.get_json()
        assert body["ok"] is False and body["status"] == 405


def test_unknown_path_with_an_odd_method_is_404(hosts_app: Flask) -> None:
    client = hosts_app.test_client()
    assert client.open("/nirgendwo", method="TRACE").status_code == 404
    assert client.put("/reports/R02.exe").status_code == 405  # the path exists (any name)
