"""R18 Kennzahl im Zeitverlauf on the hand-made export ``tests/data/kennzahlen`` (as_of
2026-11-23, M = 2026-10): a figure for month m is exactly R17's figure for month m, with its
numerator, denominator, suppression and target of m's year.

The hand-derived month stocks and flows are in ``tests/test_reports_kennzahlen.py``.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from config import Config
from opal.access import Actor
from opal.catalogue import load_and_check
from opal.context import Context
from opal.errors import AccessDenied, ParameterError
from opal.pipeline import RunRequest, run_file, run_report
from opal.query import shape_rows, suppress_rows
from opal.result import SUPPRESSED
from opal.targets import FIGURES, save
from tests.conftest import FIXED_NOW
from tests.test_reports_kennzahlen import CTRL, M, _ctx, _dispose, _export, figures, kz_engine

__all__ = ["_dispose", "kz_engine"]  # fixtures used here

#: the months R18 = R17 is checked over: from before the data's history (zeros, null rates)
#: through the fixture's flows to M
SPAN = 30


def trend(engine: Engine, figure: str, *, month: int = M, months: int = SPAN, office: str = "",
          sex: str = "", suppress: bool = False) -> list[dict[str, Any]]:
    """R18's rows as the engine shapes them (unsuppressed unless asked), hidden ones dropped."""
    defn = load_and_check().get("R18")
    assert defn is not None
    binds = {"figure": figure, "month": month, "months": months, "office": office, "sex": sex}
    with engine.connect() as conn:
        raw = [dict(r) for r in conn.execute(text(defn.sql), binds).mappings()]
    rows, _ = suppress_rows(defn, shape_rows(defn, raw), suppress)
    return rows


def _month(idx: int) -> str:
    return f"{idx // 12:04d}-{idx % 12 + 1:02d}"


@pytest.mark.parametrize(("office", "sex", "suppress"), [
    ("", "", False), ("", "", True), ("O2", "", True), ("", "W", False), ("O1", "M", True)])
def test_r18_equals_r17_for_every_figure_and_month(kz_engine: Engine, office: str, sex: str,
                                                    suppress: bool) -> None:
    """For each of the 15 figures and each month of 2024-05 .. 2026-10, R18's value, numerator
    and denominator (and their suppression) are R17's for that month as the reference month."""
    r17 = {m: figures(kz_engine, office=office, sex=sex, month=m, suppress=suppress)
           for m in range(M - SPAN + 1, M + 1)}
    for code in FIGURES:
        rows = trend(kz_engine, code, office=office, sex=sex, suppress=suppress)
        assert [r["month"] for r in rows] == [_month(m) for m in range(M - SPAN + 1, M + 1)]
        for m, row in zip(range(M - SPAN + 1, M + 1), rows, strict=True):
            want = r17[m][code]
            got = tuple(row[k] for k in ("value", "numerator", "denominator"))
            assert got == tuple(want[k] for k in ("value", "numerator", "denominator")), (
                code, _month(m))


def test_r18_k2_by_hand(kz_engine: Engine) -> None:
    """K2 over 2025-11 .. 2026-10 from the month-end table of the R17 tests: integrations P09
    2025-03, P06 2026-01, P04 2026-03, P05 2026-05 (P08 2024-11 is before every window)."""
    rows = trend(kz_engine, "K2", months=12)
    got = [(r["month"], r["numerator"], r["denominator"], r["value"]) for r in rows]
    # 2025-11: P09; eLb at the ends of 2024-11 .. 2025-10: 7 + 6 + 3 x 7 + 2 x 6 + 5 x 7 = 81
    assert got[0] == ("2025-11", 1, Decimal("6.8"), Decimal("14.8"))  # 100 / 6.75
    assert got[-1] == ("2026-10", 3, Decimal("6.4"), Decimal("46.8"))  # as R17
    assert [g[1] for g in got] == [1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3]


def test_r18_suppressed_months(kz_engine: Engine) -> None:
    """Under disclosure control a month whose numerator is 1 or 2 shows ``*`` for it and the
    value; the denominator (a mean of about 6.8) stays."""
    rows = trend(kz_engine, "K2", months=12, suppress=True)
    assert [r["month"] for r in rows if r["value"] is SUPPRESSED] == [
        "2025-11", "2025-12", "2026-01", "2026-02", "2026-03", "2026-04"]
    assert all(r["denominator"] is not SUPPRESSED for r in rows)
    assert rows[-1]["value"] == Decimal("46.8")


# --------------------------------------------------------------------------- the real path


def _doc(ctx: Context, actor: Actor, args: dict[str, str]) -> dict[str, Any]:
    rendered = run_file(ctx, RunRequest("R18", actor, args, "json"))
    return dict(json.loads(b"".join(rendered.chunks())))


@pytest.fixture
def trend_ctx(config: Config, tmp_path: Path) -> Iterator[Context]:
    yield _ctx(config, _export(tmp_path, "v2"))


def test_r18_defaults_and_targets_of_each_months_year(trend_ctx: Context) -> None:
    """Default K2 over 24 months ending with the latest full month; each month shows the
    target of its own year (office's, else county's)."""
    now = FIXED_NOW
    for year, office, value in ((2025, "", 300), (2026, "", 400), (2026, "O1", 450)):
        save(trend_ctx.app_db, {"year": year, "figure": "K2", "office": office,
                                "value_e1": value}, "admin", now)
    doc = _doc(trend_ctx, CTRL, {})
    assert doc["params"] == {"figure": "K2", "month": "2026-10", "months": 24, "office": None,
                             "sex": None}
    assert list(doc["rows"][0]) == ["month", "value", "numerator", "denominator", "target"]
    assert [r["month"] for r in doc["rows"]] == [_month(m) for m in range(M - 23, M + 1)]
    targets = {r["month"][:4]: set() for r in doc["rows"]}
    for r in doc["rows"]:
        targets[r["month"][:4]].add(r["target"])
    assert targets == {"2024": {None}, "2025": {30.0}, "2026": {40.0}}
    office = _doc(trend_ctx, CTRL, {"office": "O1", "months": "12"})
    assert {r["target"] for r in office["rows"] if r["month"] >= "2026"} == {45.0}
    assert {r["target"] for r in office["rows"] if r["month"] < "2026"} == {30.0}


def test_r18_parameter_edges(trend_ctx: Context) -> None:
    for months, ok in (("11", False), ("12", True), ("60", True), ("61", False)):
        if ok:
            assert len(_doc(trend_ctx, CTRL, {"months": months})["rows"]) == int(months)
        else:
            with pytest.raises(ParameterError) as info:
                run_report(trend_ctx, "R18", CTRL, {"months": months}, "json")
            assert set(info.value.errors) == {"months"}
    with pytest.raises(ParameterError) as info:
        run_report(trend_ctx, "R18", CTRL, {"figure": "K9", "months": "x", "month": "2026-11",
                                            "office": "O9", "sex": "X"}, "json")
    assert set(info.value.errors) == {"figure", "months", "month", "office", "sex"}
    with pytest.raises(ParameterError) as info:
        run_report(trend_ctx, "R18", CTRL, {"_office_id": "O1"}, "json")
    assert set(info.value.errors) == {"_office_id"}


def test_r18_access(trend_ctx: Context) -> None:
    """Access first: case manager, team lead and admin are denied whatever they ask; the
    office lead gets controlling's run for their office, the office fixed (400 if given)."""
    for role, staff, team in (("case_manager", "S01", None), ("team_lead", None, "T1"),
                              ("admin", None, None), (None, None, None)):
        with pytest.raises(AccessDenied):
            run_report(trend_ctx, "R18", Actor("x", role, staff, team), {"figure": "K9"},
                       "json")
    lead = Actor("ol", "office_lead", office_id="O2")
    mine = run_report(trend_ctx, "R18", lead, {"figure": "K1E2"}, "json")
    county = run_report(trend_ctx, "R18", CTRL, {"figure": "K1E2", "office": "O2"}, "json")
    assert mine.rows == county.rows and mine.suppressed_cells == county.suppressed_cells
    assert mine.suppressed_cells > 0
    assert [p.name for p in mine.params] == ["figure", "month", "months", "sex"]
    with pytest.raises(ParameterError) as info:
        run_report(trend_ctx, "R18", lead, {"office": "O2"}, "json")
    assert set(info.value.errors) == {"office"}


def test_r18_format_1_export_notes_empty_money(config: Config, tmp_path: Path) -> None:
    ctx = _ctx(config, _export(tmp_path, "v1", format_version=1))
    doc = _doc(ctx, CTRL, {"figure": "K1", "months": "12"})
    assert doc["notes"] == ["keine Zahlungsdaten im Export"]
    assert {r["value"] for r in doc["rows"]} == {None}


def test_r18_every_format_carries_the_same_numbers(trend_ctx: Context, tmp_path: Path) -> None:
    args = {"figure": "K2", "months": "12"}
    doc = _doc(trend_ctx, CTRL, args)
    shown = [(r["month"], r["value"], r["numerator"], r["denominator"]) for r in doc["rows"]]
    assert shown[-1] == ("2026-10", 46.8, 3, 6.4) and shown[0][1:3] == (None, None)

    def body(fmt: str) -> bytes:
        return b"".join(run_file(trend_ctx, RunRequest("R18", CTRL, args, fmt)).chunks())

    lines = list(csv.reader(io.StringIO(body("csv").decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == ["Monat", "Wert %", "Zähler", "Nenner", "Zielwert %"]
    assert lines[1] == ["2025-11", "*", "*", "6,8", ""]
    assert lines[12] == ["2026-10", "46,8", "3", "6,4", ""]
    assert lines[-1] == ["* anonymisiert (Werte 1 oder 2 oder daraus errechenbar)"]
    path = tmp_path / "r18.xlsx"
    path.write_bytes(body("xlsx"))
    cells = [tuple(c.value for c in row) for row in load_workbook(path).active.iter_rows()]
    assert ("2026-10", 46.8, 3, 6.4, None) in cells
    html = body("html").decode("utf-8")
    assert "Kennzahl im Zeitverlauf" in html and "46,8" in html and "K2 – Integrationsquote" in html
    pdf = tmp_path / "r18.pdf"
    pdf.write_bytes(body("pdf"))
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                         text=True, check=True).stdout
    assert "Kennzahl im Zeitverlauf" in out and "2026-10" in out and "46,8" in out
    assert "Seite 1 von" in out


def test_r18_sql_is_r17s_rewritten() -> None:
    """sql/R18.sql is what ``opal.trend_sql`` makes of sql/R17.sql: a change to R17's rules
    must be carried over (``python -m opal.trend_sql``)."""
    from opal.resources import resource_dir
    from opal.trend_sql import r18_from_r17

    sql = resource_dir("sql")
    assert r18_from_r17((sql / "R17.sql").read_text(encoding="utf-8")) == (
        sql / "R18.sql").read_text(encoding="utf-8")


def test_r18_figure_choices_are_the_15_figures_with_their_labels() -> None:
    from opal.labels import FIGURE

    defn = load_and_check().get("R18")
    assert defn is not None
    figure = next(p for p in defn.params if p.name == "figure")
    assert figure.choices == FIGURES and figure.default == "K2"
    assert figure.labels == tuple(FIGURE[c] for c in FIGURES)
