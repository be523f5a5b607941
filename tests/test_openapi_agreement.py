"""The OpenAPI description and the server agree on every parameter value they can both judge.

Issue 20, point 8: ``month=0000-01`` matched the schema but was a 400; R15's ``from_date`` alone
was valid per schema but a 400. The schema's patterns now come from ``opal.params`` (the ones the
parsers match with), and a ``[date_range]`` is one exploded object parameter whose schema says
"both or neither". Limits that depend on the live data (not after the data date, a month not yet
complete) cannot be in a static schema: the server is judged here with a data date far ahead.
"""

from __future__ import annotations

import itertools
import re
import warnings
from datetime import date, timedelta
from typing import Any

import pytest

from opal.catalogue import load_catalogue
from opal.errors import ParameterError
from opal.params import PARSERS, Bad, parse_params
from opal.web.openapi import build_spec

with warnings.catch_warnings():
    warnings.simplefilter("default")
    import jsonschema_rs

CATALOGUE = load_catalogue()
FAR = date(9999, 12, 31)  # no data-dependent limit gets in the way
SPEC = build_spec(CATALOGUE, "opal_session")

MONTHS = ["0000-01", "0001-01", "0999-12", "2026-00", "2026-01", "2026-12", "2026-13", "2026-1",
          "02026-01", "2026-011", "9999-12", "1900-02", "2026/01", "2026-01-01", "", "x"]
DAYS = [(date(2023, 12, 25) + timedelta(days=i)).isoformat() for i in range(0, 800, 1)]
DATES = [*DAYS, "0000-01-01", "0001-01-01", "2026-02-29", "2024-02-29", "1900-02-29",
         "2000-02-29", "2100-02-28", "2100-02-29", "2026-04-31", "2026-13-01", "2026-00-10",
         "2026-1-01", "2026-01-1", "20260101", "2026-01-01T00:00", "9999-12-31", "0400-02-29"]
INTS = ["-1", "0", "1", "7", "30", "365", "366", "730", "731", "99999999999", "1.0", "1e3", "x"]


def _validator(schema: dict[str, Any]) -> Any:
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


def _query_value(raw: str, schema: dict[str, Any]) -> Any:
    """What a client following the description sends for ``raw``: integers as numbers."""
    if re.fullmatch(r"-?(0|[1-9][0-9]*)", raw) and "integer" in repr(schema):
        return int(raw)
    return raw


def _server_accepts(param: Any, raw: str) -> bool:
    try:
        PARSERS[param.type](param, raw, FAR)
    except Bad:
        return False
    return True


def _declared() -> list[tuple[str, Any, dict[str, Any]]]:
    """(report code, parameter, its value schema without the empty alternative) of each
    int/date/month parameter."""
    out = []
    for definition in CATALOGUE:
        if "json" not in definition.formats:
            continue
        params = SPEC["paths"][f"/reports/{definition.code}.json"]["get"]["parameters"]
        schemas: dict[str, Any] = {}
        for entry in params:
            if "properties" in entry["schema"]:
                schemas.update(entry["schema"]["properties"])
            else:
                schemas[entry["name"]] = entry["schema"]
        for p in definition.params:
            if p.type in ("int", "date", "month"):
                out.append((definition.code, p, schemas[p.name]["anyOf"][0]))
    return out


@pytest.mark.parametrize("code,param,schema", _declared(),
                         ids=lambda x: x if isinstance(x, str) else getattr(x, "name", ""))
def test_schema_and_parser_accept_the_same_values(code: str, param: Any,
                                                  schema: dict[str, Any]) -> None:
    values = {"int": INTS, "date": DATES, "month": MONTHS}[param.type]
    validator = _validator(schema)
    disagree = [raw for raw in values
                if validator.is_valid(_query_value(raw, schema)) != _server_accepts(param, raw)]
    assert not disagree, (code, param.name, disagree[:10])


def test_year_zero_is_outside_the_schema() -> None:
    r11 = {p["name"]: p["schema"] for p in SPEC["paths"]["/reports/R11.json"]["get"]["parameters"]}
    month = _validator(r11["month"])
    assert not month.is_valid("0000-01") and month.is_valid("0001-01") and month.is_valid("")


def _ranged() -> list[Any]:
    return [d for d in CATALOGUE if d.date_range is not None and "json" in d.formats]


@pytest.mark.parametrize("definition", _ranged(), ids=lambda d: d.code)
def test_both_or_neither_is_in_the_schema(definition: Any) -> None:
    """Every combination of absent, empty, valid and invalid from/to: the schema of the pair
    and the server's whole-query check say the same, except for the span limit (a 400 the
    schema cannot express), which the valid values here keep within."""
    rng = definition.date_range
    assert rng is not None
    params = SPEC["paths"][f"/reports/{definition.code}.json"]["get"]["parameters"]
    (pair,) = [p for p in params if p.get("style") == "form" and p.get("explode")]
    validator = _validator(pair["schema"])
    choices: dict[str, list[str | None]] = {
        rng.from_param: [None, "", "2026-07-01", "2026-07-02", "x"],
        rng.to_param: [None, "", "2026-09-30", "2026-09-29", "x"],
    }
    disagree = []
    for a, b in itertools.product(choices[rng.from_param], choices[rng.to_param]):
        given = {k: v for k, v in ((rng.from_param, a), (rng.to_param, b)) if v is not None}
        schema_ok = validator.is_valid(given)
        try:
            parse_params(definition, given, FAR)
            server_ok = True
        except ParameterError:
            server_ok = False
        if schema_ok != server_ok:
            disagree.append((given, schema_ok, server_ok))
    assert not disagree, disagree
    assert not validator.is_valid({rng.from_param: "2026-07-01"})
    assert not validator.is_valid({rng.to_param: "2026-09-30", rng.from_param: ""})
    assert validator.is_valid({}) and validator.is_valid({rng.from_param: "", rng.to_param: ""})
