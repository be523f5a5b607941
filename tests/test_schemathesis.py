"""Schemathesis against the real portal (Flask WSGI in-process) and its /openapi.json.

Every JSON download is fuzzed from the OpenAPI description, positive and negative data, as a
logged-in user who may run the report (case manager; controlling for the controlling reports),
over the hand-made export on SQLite. Bounded and deterministic: at most ``MAX_EXAMPLES`` per
operation and mode, ``derandomize=True``, no example database. Checks: no 5xx, the status code,
content type, headers and body conform to the description, invalid data is rejected (4xx).
Each operation must have produced a 200 at least once (the session really was used).

The pytest plugin's lazy loader (``schemathesis.pytest.from_fixture``) does not run under
pytest 9.2 (``Function._nodeid``), so the cases come from ``APIOperation.as_strategy`` under
Hypothesis' own ``@given``.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

with warnings.catch_warnings():  # third-party import-time deprecations only; none expected here
    warnings.simplefilter("default")
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.generation.modes import GenerationMode
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        negative_data_rejection,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

from opal.catalogue import load_catalogue
from tests.conftest import make_config
from tests.fixtures.web import Auth, Clock, build_portal, dispose

MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
NEGATIVE_CHECKS = [*CHECKS, negative_data_rejection]
SESSION_COOKIE = "opal_session"  # the test config sends cookies over http: no __Host- prefix
CODES = [d.code for d in load_catalogue() if "json" in d.formats]


@pytest.fixture(scope="module")
def st_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The portal over the hand-made export (SQLite) without a practical download limit."""
    tmp = tmp_path_factory.mktemp("schemathesis")
    cfg, _ = make_config(tmp, "sqlite", downloads_per_minute=1_000_000)
    (tmp / "var").mkdir(exist_ok=True)
    app = build_portal(cfg, Clock())
    yield app
    dispose(app)


@pytest.fixture(scope="module")
def sessions(st_portal: Flask) -> dict[str, str]:
    """Session cookie values of a logged-in case manager and a controlling user."""
    out: dict[str, str] = {}
    for key in ("case_manager", "controlling"):
        client = st_portal.test_client()
        assert Auth(client).login(key).status_code == 302
        cookie = client.get_cookie(SESSION_COOKIE)
        assert cookie is not None
        out[key] = cookie.value
    return out


@pytest.fixture(scope="module")
def api_schema(st_portal: Flask, sessions: dict[str, str]) -> Any:
    """The description as the portal serves it, loaded by schemathesis, calls go to the app."""
    client = st_portal.test_client()
    client.set_cookie(SESSION_COOKIE, sessions["case_manager"])
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    schemathesis.openapi.from_dict(document).validate()
    # The session is sent by the test itself: without the security requirement schemathesis
    # neither invents cookie values nor counts a dropped cookie as "invalid data accepted".
    del document["security"]
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = st_portal
    return loaded


@pytest.mark.parametrize("code", CODES)
def test_json_download_conforms(code: str, api_schema: Any, sessions: dict[str, str]) -> None:
    operation = api_schema[f"/reports/{code}.json"]["GET"]
    roles = operation.definition.raw["x-opal-roles"]
    cookies = {SESSION_COOKIE: sessions["case_manager" if "case_manager" in roles
                                        else "controlling"]}
    seen: Counter[tuple[str, int]] = Counter()
    _fuzz(operation, GenerationMode.POSITIVE, CHECKS, cookies, seen)
    if operation.definition.raw.get("parameters"):
        _fuzz(operation, GenerationMode.NEGATIVE, NEGATIVE_CHECKS, cookies, seen)
    assert seen[("positive", 200)] > 0, f"{code}: no 200 in the positive run: {dict(seen)}"
    assert not any(status >= 500 for _, status in seen), dict(seen)


def _fuzz(operation: Any, mode: GenerationMode, checks: list[Any], cookies: dict[str, str],
          seen: Counter[tuple[str, int]]) -> None:
    """Run up to MAX_EXAMPLES deterministic cases of ``mode`` through every check."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        response = case.call_and_validate(cookies=cookies, checks=checks)
        seen[(mode.value, response.status_code)] += 1

    run()
