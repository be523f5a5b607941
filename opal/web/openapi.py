"""The OpenAPI 3.1 description of the JSON downloads, generated from the report catalogue.

One operation per report: ``GET /reports/{CODE}.json`` with the report's declared parameters
(types, ranges, choices, date and month formats) plus ``sort``/``desc``; the 200 body is the JSON
output of interface.md with the report's own column keys and types; 400/401/403/404/429/503 carry
the error body ``{ok, status, error, errors}``. Served at ``GET /openapi.json`` to logged-in users
(anonymous: 401). The document depends on the catalogue and the cookie name only, not on the data.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify
from flask_login import current_user

import opal
from opal.catalogue import Catalogue, ParamDef, ReportDefinition
from opal.params import ALIGN_PATTERNS, DATE_PATTERN, MONTH_PATTERN
from opal.web.cookies import cookie_names
from opal.web.portal import portal

bp = Blueprint("openapi", __name__)

OPENAPI_VERSION = "3.1.0"
#: JSON Schema of a row value by column type; every cell may be null (missing or suppressed)
COLUMN_SCHEMAS: dict[str, dict[str, Any]] = {
    "text": {"type": ["string", "null"]},
    "int": {"type": ["integer", "null"]},
    "decimal": {"type": ["number", "null"]},
    "date": {"type": ["string", "null"], "format": "date"},
    "bool": {"type": ["boolean", "null"]},
}
BOOL_VALUES = ["ja", "nein", "1", "0", "true", "false"]
ERROR_STATUSES = {
    "400": "Ungültige Parameter: `errors` nennt jedes fehlerhafte Feld (auch Exporte über "
           "der Zeilengrenze).",
    "401": "Nicht angemeldet.",
    "403": "Die Rolle darf diesen Bericht nicht abrufen, oder Fallbestand/Team fehlt im "
           "aktuellen Datenstand.",
    "404": "Unbekannter Bericht.",
    "429": "Zu viele Downloads in der letzten Minute.",
    "503": "Kein Datenstand veröffentlicht.",
}


#: an empty query value means the parameter's default (interface.md)
EMPTY: dict[str, Any] = {"type": "string", "maxLength": 0}


def value_schema(param: ParamDef) -> dict[str, Any]:
    """The JSON Schema of a non-empty value of one declared parameter: the patterns, ranges and
    choices ``opal.params`` validates with (what depends on the data, such as "not after the
    data date", is in the description and a 400)."""
    if param.type == "int":
        schema: dict[str, Any] = {"type": "integer"}
        if param.min is not None:
            schema["minimum"] = param.min
        if param.max is not None:
            schema["maximum"] = param.max
        return schema
    if param.type == "date":
        pattern = ALIGN_PATTERNS.get(param.align or "", DATE_PATTERN)
        return {"type": "string", "format": "date", "pattern": pattern}
    if param.type == "month":
        return {"type": "string", "pattern": MONTH_PATTERN}
    if param.type == "code":
        return {"type": "string", "enum": list(param.choices)}
    if param.type == "bool":
        return {"type": "string", "enum": list(BOOL_VALUES)}
    if param.type == "office":
        return {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,40}$"}
    return {"type": "string"}  # the catalogue check admits no other type


def param_schema(param: Any) -> dict[str, Any]:
    """The JSON Schema of one declared report parameter as a query value (empty = default)."""
    schema = value_schema(param)
    if "enum" in schema:
        return {"type": "string", "enum": ["", *schema["enum"]]}
    return {"anyOf": [schema, EMPTY]}


def range_parameter(definition: ReportDefinition) -> dict[str, Any]:
    """The two dates of a ``[date_range]`` as one exploded object parameter (each stays its own
    query argument), so that "both or neither" is part of the schema: both given, or each
    absent or empty (empty = the default). The span limit is a 400 the schema cannot state."""
    rng = definition.date_range
    assert rng is not None  # asked only for a report that declares one
    pair = {p.name: p for p in definition.params if p.name in (rng.from_param, rng.to_param)}
    names = [rng.from_param, rng.to_param]
    return {
        "name": f"{rng.from_param}_{rng.to_param}", "in": "query", "required": False,
        "style": "form", "explode": True,
        "description": (f"{pair[names[0]].label} und {pair[names[1]].label}: beide angeben oder "
                        "beide weglassen (dann: " + ", ".join(
                            _param_description(pair[n]) for n in names) +
                        f"); höchstens {rng.max_days} Tage"),
        "schema": {
            "type": "object",
            "properties": {n: param_schema(pair[n]) for n in names},
            "anyOf": [
                {"required": names, "properties": {n: value_schema(pair[n]) for n in names}},
                {"properties": {n: EMPTY for n in names}},
            ],
        },
    }


def _param_description(param: ParamDef) -> str:
    text = param.label
    if param.default is not None:
        text += f" (Vorgabe: {param.default})"
    if param.optional:
        text += " (optional: leer = alle)"
    if param.max_date == "as_of":
        text += "; nicht nach dem Datenstand"
    if param.type == "month":
        text += "; nur abgeschlossene Monate (letzter Tag bis zum Datenstand)"
    if param.align == "month_start":
        text += "; ein Monatserster"
    if param.align == "month_end":
        text += "; ein Monatsletzter"
    if param.type == "code" and param.labels:
        pairs = zip(param.choices, param.labels, strict=False)
        text += "; " + ", ".join(f"{c} = {label}" for c, label in pairs)
    return str(text)


def _param_value_schema(param: ParamDef) -> dict[str, Any]:
    """The schema of a parameter as echoed in the output's ``params``."""
    if param.type == "int":
        schema: dict[str, Any] = {"type": "integer"}
    elif param.type == "date":
        schema = {"type": "string", "format": "date"}
    elif param.type == "month":
        schema = {"type": "string", "pattern": MONTH_PATTERN}
    elif param.type == "code":
        schema = {"type": "string", "enum": list(param.choices)}
    elif param.type == "bool":
        schema = {"type": "boolean"}
    else:
        schema = {"type": "string"}
    if param.optional or param.default is None:
        return {"anyOf": [schema, {"type": "null"}]}
    return schema


def parameters(definition: ReportDefinition) -> list[dict[str, Any]]:
    """The query parameters of one report's JSON download (declared ones, sort, desc)."""
    out: list[dict[str, Any]] = []
    rng = definition.date_range
    for p in definition.params:
        if rng is not None and p.name == rng.from_param:
            out.append(range_parameter(definition))
            continue
        if rng is not None and p.name == rng.to_param:
            continue
        out.append({"name": p.name, "in": "query", "required": False,
                    "description": _param_description(p), "schema": param_schema(p)})
    if definition.sort:
        out.append({"name": "sort", "in": "query", "required": False,
                    "description": "Sortierspalte (sonst die Reihenfolge der Spezifikation)",
                    "schema": {"type": "string", "enum": ["", *definition.sort]}})
        out.append({"name": "desc", "in": "query", "required": False,
                    "description": "absteigend sortieren (1) oder aufsteigend (0)",
                    "schema": {"type": "string", "enum": ["", "0", "1"]}})
    return out


def result_schema(definition: ReportDefinition) -> dict[str, Any]:
    """The JSON Schema of a 200 body (interface.md's JSON output) for one report."""
    visible = definition.visible_columns
    keys = [c.key for c in visible]
    row = {"type": "object", "additionalProperties": False, "required": keys,
           "properties": {c.key: dict(COLUMN_SCHEMAS.get(c.type, {})) for c in visible}}
    columns = {
        "type": "array", "minItems": len(visible), "maxItems": len(visible),
        "items": {"type": "object", "additionalProperties": False, "required": ["key", "label"],
                  "properties": {"key": {"type": "string", "enum": keys},
                                 "label": {"type": "string"}}}}
    params = {"type": "object", "additionalProperties": False,
              "required": [p.name for p in definition.params],
              "properties": {p.name: _param_value_schema(p) for p in definition.params}}
    return {
        "type": "object", "additionalProperties": False,
        "required": ["report", "title", "params", "as_of", "generated_at", "columns", "rows",
                     "row_count", "suppressed_cells"],
        "properties": {
            "report": {"const": definition.code},
            "title": {"const": definition.title},
            "params": params,
            "as_of": {"type": "string", "format": "date"},
            "generated_at": {"type": "string", "format": "date-time",
                             "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"},
            "columns": columns,
            "rows": {"type": "array", "items": row},
            "row_count": {"type": "integer", "minimum": 0},
            "suppressed_cells": {"type": "integer", "minimum": 0},
            **({"notes": {"type": "array", "items": {"type": "string"}}}
               if definition.notes_from else {}),
        },
    }


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["ok", "status", "error", "errors"],
    "properties": {
        "ok": {"const": False},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "error": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "string"}},
        "incident_id": {"type": "string"},
    },
    "additionalProperties": False,
}


def operation(definition: ReportDefinition) -> dict[str, Any]:
    """The OpenAPI operation of ``GET /reports/<CODE>.json``."""
    responses: dict[str, Any] = {
        "200": {
            "description": "Alle Zeilen des Berichts (ohne Seitenteilung) als JSON-Datei.",
            "headers": {"Content-Disposition": {
                "required": True, "description": "attachment; vom Server gebildeter Dateiname",
                "schema": {"type": "string", "pattern": "^attachment; filename=\"OPAL_R"}}},
            "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{definition.code}Result"}}},
        },
    }
    for status, text in ERROR_STATUSES.items():
        responses[status] = {"description": text, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}}}}
    roles = ", ".join(definition.roles)
    return {
        "operationId": f"{definition.code}_json",
        "summary": f"{definition.code}: {definition.title}",
        "description": f"Art: {definition.kind}; Rollen: {roles}.\n\n{definition.help.strip()}",
        "tags": [definition.group],
        "x-opal-roles": list(definition.roles),
        "parameters": parameters(definition),
        "responses": responses,
    }


def build_spec(catalogue: Catalogue, cookie_name: str = "__Host-opal_session") -> dict[str, Any]:
    """The whole OpenAPI document for ``catalogue`` (deterministic: sorted by report code)."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for definition in catalogue:
        if "json" not in definition.formats:
            continue
        paths[f"/reports/{definition.code}.json"] = {"get": operation(definition)}
        schemas[f"{definition.code}Result"] = result_schema(definition)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "OPAL JSON-Downloads",
            "version": getattr(opal, "__version__", "0.1.0"),
            "description": (
                "Die JSON-Ausgabe jedes Berichts. Anmeldung über das Formular /login; die "
                "Sitzung steckt im Cookie. Jeder Abruf wird protokolliert; Zugriff, Sichtbereich "
                "und Parameterprüfung sind dieselben wie auf der Berichtsseite. Weitere "
                "Abfrageargumente (außer `page`, das ignoriert wird) ergeben 400."),
        },
        "servers": [{"url": "/"}],
        "security": [{"session": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie",
                                            "name": cookie_name}},
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> Any:
    """Serve the description to logged-in users; anonymous requests get the JSON 401."""
    if not current_user.is_authenticated:
        abort(401)
    cache = current_app.extensions.setdefault("opal_openapi", {})
    name = cookie_names()[0]
    if name not in cache:
        cache[name] = build_spec(portal().catalogue, name)
    response: Response = jsonify(cache[name])
    return response
