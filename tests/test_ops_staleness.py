"""Staleness (security.md §6 test 23) with the thresholds from configuration and an injected
clock: past OPAL_STALE_WARN_HOURS the warning banner, past OPAL_STALE_ERROR_HOURS the error banner
on every page (anonymous, user, admin, error pages) and /healthz 503; the data date stays on every
page and download throughout."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import drop_pg_schemas, make_config
from tests.fixtures.web import Auth, Clock, build_portal, dispose

EXPORTED = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)  # exported_at of the hand-made export
WARN = "Hinweis: Die Daten sind älter als üblich"
ERROR = "Achtung: Die Daten sind veraltet"
USER_PAGES = ("/reports", "/reports/R02", "/reports/R02?n_days=30", "/reports/R99",
              "/reports/R02?n_days=x")
ADMIN_PAGES = ("/admin/users", "/admin/audit", "/admin/refresh", "/admin/audit?from=x")


@pytest.fixture
def stale_app(tmp_path: Path, backend: str, clock: Clock) -> Iterator[Flask]:
    """Thresholds 2 h / 5 h; sessions that outlive the clock jumps."""
    cfg, prefix = make_config(tmp_path, backend, stale_warn_hours=2.0, stale_error_hours=5.0,
                              session_idle_minutes=10**6, session_max_hours=10**5)
    (tmp_path / "var").mkdir(exist_ok=True)
    app = build_portal(cfg, clock)
    yield app
    dispose(app)
    if prefix:
        drop_pg_schemas(prefix)


#: (data age in hours, banner, /healthz status code and state)
AGES = [
    (1.9, None, 200, "ok"),
    (2.0, None, 200, "ok"),  # "older than" the threshold: exactly 2 h is still fine
    (2.1, WARN, 200, "stale_warning"),
    (5.0, WARN, 200, "stale_warning"),
    (5.1, ERROR, 503, "stale"),
    (55.0, ERROR, 503, "stale"),
]


def test_banner_on_every_page_and_healthz_follow_the_configured_thresholds(
        stale_app: Flask, clock: Clock) -> None:
    user, admin, anonymous = (stale_app.test_client() for _ in range(3))
    Auth(user).login("team_lead")
    Auth(admin).login("admin")
    for age, level, status, state in AGES:
        check_age(clock, user, admin, anonymous, age, level, status, state)


def check_age(clock: Clock, user: FlaskClient, admin: FlaskClient, anonymous: FlaskClient,
              age: float, level: str | None, status: int, state: str) -> None:
    clock.now = EXPORTED + timedelta(hours=age)
    health = anonymous.get("/healthz")
    assert health.status_code == status, age
    assert health.get_json()["status"] == state
    assert health.get_json()["age_hours"] == age
    pages = [(anonymous, "/login"), (anonymous, "/nirgendwo")]
    pages += [(user, url) for url in USER_PAGES] + [(admin, url) for url in ADMIN_PAGES]
    for client, url in pages:
        html = client.get(url).get_data(True)
        assert "Datenstand: <strong>23.11.2026</strong>" in html, url
        for banner in (WARN, ERROR):
            assert (banner in html) == (banner == level), (url, banner)
        if level is None:
            assert 'class="banner' not in html, url
    # stale data is still served, and every download names its data date
    download = user.get("/reports/R02.csv?n_days=30")
    assert "_Datenstand-2026-11-23_" in download.headers["Content-Disposition"]
    assert user.get("/reports/R02.json?n_days=30").get_json()["as_of"] == "2026-11-23"
