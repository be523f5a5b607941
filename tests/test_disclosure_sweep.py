"""Disclosure control on generated data (reports.md, "Disclosure control", the acceptance test):
every controlling report R09-R16 over a sweep of parameters on demo exports (small scale, three
seeds; kreis scale, one seed, marked slow), on SQLite and PostgreSQL. For every output the
independent attacker (tests/fixtures/attacker.py) recovers no suppressed cell, every shown value
equals the unsuppressed run's, and both databases publish the same cells. The same ``*`` cells
appear in HTML, PDF, XLSX, CSV and JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest

import opal.pipeline
from opal import dates
from opal.access import Actor
from opal.catalogue import load_catalogue
from opal.clock import fixed_clock
from opal.context import Context
from opal.pipeline import run_report
from opal.renderers import get_renderer
from opal.renderers.cells import SUPPRESSED_LEGEND, SUPPRESSED_MARK
from opal.result import SUPPRESSED, Result
from tests.fixtures.attack import csv_table, pdf_text, xlsx_values
from tests.fixtures.attacker import attack

AS_OF = date(2026, 11, 23)
NOW_ISO = "2026-11-24T06:12:03+00:00"
CONTROLLING = Actor("controlling.sweep", "controlling", None, None)
CODES = ("R09", "R10", "R11", "R12", "R13", "R14", "R15", "R16")


def _month(back: int) -> str:
    return dates.month_key(dates.latest_complete_month(AS_OF) - back)


def _window(first_back: int, last_back: int) -> dict[str, str]:
    first = dates.latest_complete_month(AS_OF) - first_back
    last = dates.latest_complete_month(AS_OF) - last_back
    return {"from_date": dates.month_first(first).isoformat(),
            "to_date": dates.month_last(last).isoformat()}


#: report -> the parameter sets of the sweep
SWEEP: dict[str, list[dict[str, str]]] = {
    "R09": [{}, {"target_u25": "10", "target_ue25": "500"}],
    "R10": [{"days": d} for d in ("1", "7", "30", "90", "365")],
    "R11": [{}] + [{"month": _month(b)} for b in (1, 3, 12, 30)],
    "R12": [{"month": _month(b), "group_by": g} for b in (0, 6)
            for g in ("office", "sex", "fluchtkontext", "alleinerziehend")],
    "R13": [{"month": _month(b)} for b in (0, 1, 12)],
    "R14": [{"month": _month(b)} for b in (0, 5, 12)],
    "R15": [{}, _window(0, 0), _window(11, 0), _window(5, 3),
            {**_window(2, 0), "legal_basis": "P16_AVGS"},
            {**_window(2, 0), "legal_basis": "P16D_AGH"}],
    "R16": [{}],
}


@dataclass
class Generation:
    """One demo export refreshed into SQLite and PostgreSQL."""

    name: str
    contexts: dict[str, Context]

    def run(self, backend: str, code: str, args: dict[str, str], fmt: str = "json") -> Result:
        return run_report(self.contexts[backend], code, CONTROLLING, args, fmt)


def _build(name: str, scale: str, seed: int, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Generation]:
    from opal.db import app_engine, case_engine, init_app_db
    from opal.demo import generate
    from opal.refresh import refresh
    from tests.conftest import FIXED_NOW, drop_pg_schemas, make_config, pg_unavailable_reason

    tmp = tmp_path_factory.mktemp(name)
    export = tmp / "export"
    generate(export, scale, seed, AS_OF)
    backends = ["sqlite"] + ([] if pg_unavailable_reason() else ["pg"])
    contexts: dict[str, Context] = {}
    prefixes: list[str] = []
    try:
        for backend in backends:
            config, prefix = make_config(tmp / backend, backend)
            (tmp / backend / "var").mkdir(parents=True, exist_ok=True)
            if prefix:
                prefixes.append(prefix)
            apps = app_engine(config)
            init_app_db(apps, config.app_db_schema)
            refresh(config, export, clock=fixed_clock(FIXED_NOW))
            contexts[backend] = Context(config, case_engine(config), apps,
                                              load_catalogue(), fixed_clock(FIXED_NOW))
        yield Generation(name, contexts)
    finally:
        for ctx in contexts.values():
            ctx.case_db.dispose()
            ctx.app_db.dispose()
        for prefix in prefixes:
            drop_pg_schemas(prefix)


@pytest.fixture(scope="module", params=[1, 2, 3], ids=lambda s: f"small-{s}")
def small(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Generation]:
    yield from _build(f"sweep-small-{request.param}", "small", request.param, tmp_path_factory)


@pytest.fixture(scope="module")
def kreis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generation]:
    yield from _build("sweep-kreis-1", "kreis", 1, tmp_path_factory)


def _jsonish(value: Any) -> Any:
    if value is SUPPRESSED:
        return None
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _sweep(gen: Generation, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Run the whole sweep; return outputs and suppressed cells seen (for the summary)."""
    seen = {"outputs": 0, "suppressed": 0}
    for code in CODES:
        for args in SWEEP[code]:
            published: dict[str, list[dict[str, Any]]] = {}
            for backend in gen.contexts:
                result = gen.run(backend, code, args)
                doc = json.loads(get_renderer("json").render(result).body)
                first = result.columns[0].key
                found = attack(code, doc["rows"], first)
                assert found == [], (gen.name, backend, code, args, found)
                published[backend] = [{k: _jsonish(v) for k, v in r.items()}
                                      for r in result.rows]
                assert result.suppressed_cells == sum(v is SUPPRESSED for r in result.rows
                                                      for v in r.values())
                with monkeypatch.context() as m:
                    m.setattr(opal.pipeline, "under_control", lambda role: False)
                    plain = gen.run(backend, code, args)
                for shown, true in zip(result.rows, plain.rows, strict=True):
                    for key, value in shown.items():
                        assert value is SUPPRESSED or value == true[key], (code, args, key)
                        if (value is SUPPRESSED and true[key] in (1, 2)
                                and not isinstance(true[key], bool)):
                            pass  # primary
                    for col in result.columns:
                        if col.count and true[col.key] in (1, 2):
                            assert shown[col.key] is SUPPRESSED, (code, args, col.key)
                seen["outputs"] += 1
                seen["suppressed"] += result.suppressed_cells
            values = list(published.values())
            assert all(v == values[0] for v in values), (gen.name, code, args)
    return seen


def test_sweep_small(small: Generation, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _sweep(small, monkeypatch)
    assert seen["outputs"] > 0 and seen["suppressed"] > 0  # the sweep meets small cells


@pytest.mark.slow
def test_sweep_kreis(kreis: Generation, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _sweep(kreis, monkeypatch)
    assert seen["suppressed"] > 0


# --------------------------------------------------------------------------- five formats


class _Cells(HTMLParser):
    """The text of every ``td`` of every table row."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self._cell: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            self._cell = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(self._cell.strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell += data


def _marks(rows: list[list[Any]], width: int) -> list[list[int]]:
    """Per data row, the column positions that show ``*``."""
    return [[i for i, v in enumerate(r[:width]) if v == SUPPRESSED_MARK] for r in rows]


@pytest.mark.parametrize("code", CODES)
def test_same_marks_in_every_format(small: Generation, code: str) -> None:
    """The ``*`` cells of HTML, PDF, XLSX and CSV are the JSON nulls of suppressed cells; the
    legend stands in HTML, PDF, XLSX and (below the data) CSV whenever a ``*`` does."""
    if small.name != "sweep-small-1":
        pytest.skip("one generation is enough for the formats")
    result = max((small.run("sqlite", code, args) for args in SWEEP[code]),
                 key=lambda r: r.suppressed_cells)  # the sweep's output with most marks
    width = len(result.columns)
    expected = [[i for i, c in enumerate(result.columns) if row[c.key] is SUPPRESSED]
                for row in result.rows]
    body = {fmt: get_renderer(fmt).render(result).body
            for fmt in ("html", "pdf", "xlsx", "csv", "json")}
    marked = any(expected)
    doc = json.loads(body["json"])
    assert doc["suppressed_cells"] == sum(map(len, expected))
    assert [[i for i, c in enumerate(result.columns) if r[c.key] is None and i in e]
            for r, e in zip(doc["rows"], expected, strict=True)] == expected
    header = [c.label for c in result.columns]
    table = csv_table(body["csv"])
    assert table[0] == header
    assert _marks(table[1:1 + len(result.rows)], width) == expected
    assert (table[1 + len(result.rows):] == [[SUPPRESSED_LEGEND]]) is marked
    sheet = xlsx_values(body["xlsx"])
    at = next(i for i, r in enumerate(sheet) if list(r[:width]) == header)
    assert _marks(sheet[at + 1: at + 1 + len(result.rows)], width) == expected
    html = _Cells()
    html.feed(body["html"].decode("utf-8"))
    data = [r for r in html.rows if len(r) == width and r != header]
    assert _marks(data, width) == expected
    text = pdf_text(body["pdf"])
    assert (SUPPRESSED_LEGEND in body["html"].decode("utf-8")) is marked
    assert (SUPPRESSED_LEGEND in text.replace("\n", " ")) is marked
    assert any(SUPPRESSED_LEGEND in r for r in sheet for r in [list(map(str, r))]) is marked
    assert text.count(SUPPRESSED_MARK) - (1 if marked else 0) == sum(map(len, expected))
