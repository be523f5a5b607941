"""The OpenAPI description of the JSON downloads: valid, complete, served to logged-in users only,
and true to what the portal sends (every report's default run, every error status)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from flask.testing import FlaskClient

from opal.catalogue import load_catalogue
from opal.params import ALIGN_PATTERNS, DATE_PATTERN, MONTH_PATTERN
from opal.web.openapi import build_spec

with warnings.catch_warnings():  # third-party imports: only their own import-time deprecations
    warnings.simplefilter("default")
    import jsonschema_rs
    import schemathesis

CATALOGUE = load_catalogue()
CODES = [d.code for d in CATALOGUE if "json" in d.formats]


def _validator(schema: dict[str, Any]) -> Any:
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


def _assert_valid(schema: dict[str, Any], doc: Any) -> None:
    errors = [str(e) for e in _validator(schema).iter_errors(doc)]
    assert not errors, errors[:5]


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return build_spec(CATALOGUE, "opal_session")


def test_spec_is_valid_openapi_31(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    schemathesis.openapi.from_dict(spec).validate()  # the OpenAPI 3.1 meta-schema


def test_spec_names_every_report_with_its_parameters(spec: dict[str, Any]) -> None:
    assert sorted(spec["paths"]) == [f"/reports/{code}.json" for code in CODES]
    for definition in CATALOGUE:
        op = spec["paths"][f"/reports/{definition.code}.json"]["get"]
        assert op["operationId"] == f"{definition.code}_json"
        assert op["x-opal-roles"] == list(definition.roles)
        assert set(op["responses"]) == {"200", "400", "401", "403", "404", "429", "503"}
        by_name = {p["name"]: p for p in op["parameters"]}
        rng = definition.date_range
        pair = f"{rng.from_param}_{rng.to_param}" if rng else ""
        expected = [pair if rng and p.name == rng.from_param else p.name
                    for p in definition.params if not (rng and p.name == rng.to_param)]
        expected += ["sort", "desc"] if definition.sort else []
        assert list(by_name) == expected
        assert all(p["in"] == "query" and not p["required"] for p in op["parameters"])
        for param in definition.params:
            if rng and param.name in (rng.from_param, rng.to_param):
                assert by_name[pair]["style"] == "form" and by_name[pair]["explode"] is True
                schema = by_name[pair]["schema"]["properties"][param.name]
            else:
                schema = by_name[param.name]["schema"]
            if param.type == "int":
                typed = schema["anyOf"][0]
                assert typed == {"type": "integer", "minimum": param.min, "maximum": param.max}
            elif param.type == "date":
                assert schema["anyOf"][0] == {"type": "string", "format": "date", "pattern":
                                              ALIGN_PATTERNS.get(param.align or "", DATE_PATTERN)}
            elif param.type == "month":
                assert schema["anyOf"][0]["pattern"] == MONTH_PATTERN
            elif param.type == "code":
                assert schema["enum"] == ["", *param.choices]
        if definition.sort:
            assert by_name["sort"]["schema"]["enum"] == ["", *definition.sort]
            assert by_name["desc"]["schema"]["enum"] == ["", "0", "1"]
        result = spec["components"]["schemas"][f"{definition.code}Result"]
        row = result["properties"]["rows"]["items"]
        assert row["required"] == [c.key for c in definition.visible_columns]
        assert result["properties"]["report"] == {"const": definition.code}


def test_parameter_schemas_accept_and_reject_as_the_portal_does(spec: dict[str, Any]) -> None:
    r15 = {p["name"]: p["schema"] for p in spec["paths"]["/reports/R15.json"]["get"]["parameters"]}
    window = _validator(r15["from_date_to_date"])
    assert window.is_valid({"from_date": "2026-07-01", "to_date": "2026-09-30"})
    assert window.is_valid({"from_date": "", "to_date": ""}) and window.is_valid({})
    assert not window.is_valid({"from_date": "2026-07-01"})
    assert not window.is_valid({"from_date": "2026-13-01", "to_date": "2026-09-30"})
    r11 = {p["name"]: p["schema"] for p in spec["paths"]["/reports/R11.json"]["get"]["parameters"]}
    assert _validator(r11["month"]).is_valid("2026-10")
    assert not _validator(r11["month"]).is_valid("2026-13")
    r02 = {p["name"]: p["schema"] for p in spec["paths"]["/reports/R02.json"]["get"]["parameters"]}
    assert _validator(r02["n_days"]).is_valid(730)
    assert not _validator(r02["n_days"]).is_valid(731)
    assert not _validator(r02["sort"]).is_valid("name desc")


def test_openapi_json_needs_a_login(shared_web: Any) -> None:
    response = shared_web.test_client().get("/openapi.json")
    assert response.status_code == 401
    assert response.get_json()["ok"] is False


@pytest.mark.parametrize("role", ["case_manager", "team_lead", "controlling", "admin"])
def test_openapi_json_is_served_to_logged_in_users(role: str,
                                                   role_clients: dict[str, FlaskClient]) -> None:
    response = role_clients[role].get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    served = response.get_json()
    assert served == build_spec(CATALOGUE, "opal_session")
    schemathesis.openapi.from_dict(served).validate()


@pytest.mark.parametrize("code", CODES)
def test_every_default_json_download_matches_its_schema(
        code: str, spec: dict[str, Any], role_clients: dict[str, FlaskClient]) -> None:
    definition = CATALOGUE.get(code)
    assert definition is not None
    role = next(r for r in ("case_manager", "team_lead", "controlling") if r in definition.roles)
    response = role_clients[role].get(f"/reports/{code}.json")
    assert response.status_code == 200, response.get_data(True)
    _assert_valid(spec["components"]["schemas"][f"{code}Result"], response.get_json())
    header = spec["paths"][f"/reports/{code}.json"]["get"]["responses"]["200"]["headers"]
    _assert_valid(header["Content-Disposition"]["schema"],
                  response.headers["Content-Disposition"])


def test_error_bodies_match_the_error_schema(spec: dict[str, Any], shared_web: Any,
                                             role_clients: dict[str, FlaskClient]) -> None:
    error = spec["components"]["schemas"]["Error"]
    cases = [
        (shared_web.test_client(), "/reports/R02.json", 401),
        (role_clients["case_manager"], "/reports/R02.json?n_days=0&sort=x", 400),
        (role_clients["case_manager"], "/reports/R12.json", 403),
        (role_clients["controlling"], "/reports/R02.json", 403),
        (role_clients["case_manager"], "/reports/R99.json", 404),
    ]
    for client, url, status in cases:
        response = client.get(url)
        assert response.status_code == status, url
        body = response.get_json()
        _assert_valid(error, body)
        assert body["status"] == status
    bad = role_clients["case_manager"].get("/reports/R02.json?n_days=0&sort=x").get_json()
    assert set(bad["errors"]) == {"n_days", "sort"}
