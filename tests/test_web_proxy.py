"""X-Forwarded-For is believed only from configured proxies (OPAL_TRUSTED_PROXIES)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tests.conftest import make_config
from tests.fixtures.web import Clock, build_portal, csrf_of, dispose


def _failed_logins_from(tmp_path: Path, proxies: int, forwarded: list[str]) -> list[int]:
    """Fail one login per forwarded address (a different unknown user each); return statuses."""
    config, _ = make_config(tmp_path, "sqlite")
    (tmp_path / "var").mkdir(exist_ok=True)
    app = build_portal(dataclasses.replace(config, trusted_proxies=proxies), Clock())
    try:
        client = app.test_client()
        statuses = []
        for i, address in enumerate(forwarded):
            token = csrf_of(client.get("/login"))
            response = client.post(
                "/login", data={"username": f"nobody{i}", "password": "x", "csrf_token": token},
                headers={"X-Forwarded-For": address})
            statuses.append(response.status_code)
        return statuses
    finally:
        dispose(app)


def test_a_forged_header_does_not_escape_the_address_throttle(tmp_path: Path) -> None:
    # no trusted proxy: every attempt counts for the peer address, whatever the header says
    statuses = _failed_logins_from(tmp_path, 0, [f"198.51.100.{i}" for i in range(7)])
    assert statuses[:5] == [401] * 5 and statuses[5:] == [429, 429]


def test_behind_a_trusted_proxy_each_client_address_counts_alone(tmp_path: Path) -> None:
    # one trusted proxy: seven different users behind it are seven addresses, none throttled
    statuses = _failed_logins_from(tmp_path, 1, [f"198.51.100.{i}" for i in range(7)])
    assert statuses == [401] * 7
