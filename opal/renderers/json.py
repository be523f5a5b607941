"""The JSON renderer: the shape interface.md fixes, values unchanged (no neutralisation)."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, date
from decimal import Decimal
from functools import partial
from typing import Any

from opal.renderers.base import BATCH, Format, Rendered, utf8_stream
from opal.result import SUPPRESSED, Result

#: a Decimal's placeholder: ``"@<token>:<index>@"`` (the token is random per document)
_PLACEHOLDER = re.compile(r'"@([0-9a-f]{16}):([0-9]+)@"')


def _value(value: Any, numbers: list[str], token: str) -> Any:
    """What the encoder writes for a value it has no JSON type for (its ``default``)."""
    if type(value) is date:  # the common one
        return value.isoformat()
    if value is SUPPRESSED:
        return None
    if isinstance(value, Decimal):
        numbers.append(f"{value:f}")
        return f"@{token}:{len(numbers) - 1}@"
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"no JSON value for {type(value).__name__}")


def json_chunks(result: Result, batch: int = BATCH) -> Iterator[str]:
    """The JSON text in pieces of ``batch`` rows; joined, they are ``json.dumps`` of the whole
    document. A Decimal keeps its places (``12.50``), never passing through a float."""
    token = secrets.token_hex(8)
    marker = f'"@{token}:rows@"'
    doc = {
        "report": result.code,
        "title": result.title,
        "params": result.params_json(),
        "as_of": result.as_of.isoformat(),
        "generated_at": result.generated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "columns": [{"key": c.key, "label": c.label} for c in result.columns],
        "rows": marker[1:-1],
        "row_count": result.row_count,
        "suppressed_cells": result.suppressed_cells,
    }
    if result.notes:  # R17 on a format-1 export: why K1/K1E1 are empty
        doc["notes"] = list(result.notes)
    head, _, tail = json.dumps(doc, ensure_ascii=False).partition(marker)
    lead = head + "["  # the first chunk carries the head and the first batch
    for start in range(0, len(result.rows), batch):
        yield lead + _rows_text(result, result.rows[start:start + batch], token)
        lead = ", "
    yield ("]" if result.rows else lead + "]") + tail + "\n"


def _rows_text(result: Result, rows: list[dict[str, Any]], token: str) -> str:
    """The rows as JSON array items (no brackets), each Decimal spliced in as its digits.

    A row that holds exactly the columns, in their order (what the pipeline makes), goes to
    the C encoder as it is: only a suppressed cell, a date or a Decimal calls back into Python."""
    numbers: list[str] = []
    keys = [c.key for c in result.columns]
    if all(list(row) == keys for row in rows):
        items = rows
    else:  # another shape: the columns only, in their order
        items = [{k: row.get(k) for k in keys} for row in rows]
    text = json.dumps(items, ensure_ascii=False, default=partial(_value, numbers=numbers,
                                                                  token=token))[1:-1]
    if not numbers:  # no Decimal in these rows: nothing to splice
        return text
    # one pattern for every token (compiled once, not per call); only this run's token counts
    return _PLACEHOLDER.sub(lambda m: numbers[int(m[2])] if m[1] == token else m[0], text)


FORMAT = Format("json", "JSON", "application/json", download=True, streams=True)


class JsonRenderer:
    format = FORMAT
    batch = BATCH  # rows per chunk (tests make it small)

    def render(self, result: Result) -> Rendered:
        """Render ``result`` as UTF-8 JSON with a final newline, streamed in chunks."""
        chunks = utf8_stream(partial(json_chunks, result, self.batch))
        return FORMAT.rendered(result, chunks)
