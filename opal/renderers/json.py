"""The JSON renderer: the shape interface.md fixes, values unchanged (no neutralisation)."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date
from decimal import Decimal
from typing import Any

from opal.renderers import Rendered, register
from opal.result import SUPPRESSED, Result


def _value(value: Any, numbers: dict[str, str], token: str) -> Any:
    if value is SUPPRESSED or value is None:
        return None
    if isinstance(value, Decimal):
        marker = f"@{token}:{len(numbers)}@"
        numbers[marker] = f"{value:f}"
        return marker
    if isinstance(value, date):
        return value.isoformat()
    return value


def result_dict(result: Result) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON document, with Decimals as markers to splice in as exact numbers."""
    numbers: dict[str, str] = {}
    token = secrets.token_hex(8)
    rows = [{c.key: _value(row.get(c.key), numbers, token) for c in result.columns}
            for row in result.rows]
    doc = {
        "report": result.code,
        "title": result.title,
        "params": result.params_json(),
        "as_of": result.as_of.isoformat(),
        "generated_at": result.generated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "columns": [{"key": c.key, "label": c.label} for c in result.columns],
        "rows": rows,
        "row_count": result.row_count,
        "suppressed_cells": result.suppressed_cells,
    }
    return doc, numbers


def render_json(result: Result) -> str:
    """The JSON text; a Decimal keeps its places (``12.50``), never passing through a float."""
    doc, numbers = result_dict(result)
    body = json.dumps(doc, ensure_ascii=False)
    for marker, number in numbers.items():
        body = body.replace(f'"{marker}"', number, 1)
    return body


class JsonRenderer:
    fmt = "json"
    mimetype = "application/json"

    def render(self, result: Result) -> Rendered:
        """Render ``result`` as UTF-8 JSON with a final newline."""
        body = (render_json(result) + "\n").encode("utf-8")
        return Rendered(result.file_stem() + ".json", self.mimetype, body)


register(JsonRenderer())
