"""R17 Kennzahlen nach § 48a SGB II on the hand-made export ``tests/data/kennzahlen``.

Every expected number is derived by hand from reports.md ("The key figures of § 48a SGB II");
M = 2026-10 (the latest month whose last day is on or before as_of 2026-11-23), M-12 = 2025-10.

The export (a person's office is that of their BG; every BG SINGLE unless said):
- O1 Nordstadt: P01 M (ELB 2020-01-01 open; AGH measure from 2026-09-01, activating),
  P02 W (ELB 2020-01-01 open; GERINGFUEGIG from 2025-03-10; EGZ measure, not activating),
  P03 W born 2000-02-29 (ELB from 2024-02-29: 638 eLb days on 2025-11-27, LZB from 2025-11),
  P05 W (ALLEINERZIEHEND BG B05 with child P05K (NEF); ELB 2023-01-01 open, LZB from
  2024-09-29; AUSBILDUNG 2026-05-01: integration, LZB on s-1, alleinerziehend on s),
  P08 M (ELB 2024-01-01 .. 2024-11-30; SVB 2024-11-15 open: integration 2024-11, continued);
- O2 Südheim: P04 M (ELB 2025-06-15 .. 2026-03-10; SVB 2026-03-11: integration, eLb on s-1),
  P06 M (ELB 2019-01-01 .. 2025-12-31, LZB; GERINGFUEGIG 2025-11-01; SVB 2026-01-01:
  integration, LZB on s-1), P07 D (ELB from 2026-01-15; OEFF_GEFOERDERT 2026-02-01),
  P09 W (ELB 2024-05-01 .. 2025-03-31; SVB 2025-03-01 .. 2025-08-31: integration 2025-03, not
  continued: no job at the end of 2025-09), P10 M (ELB from 2025-01-01: LZB from 2026-09-30).

| end of | eLb | in | out | LZB | LZB in | LZB out | ae eLb |
|---|---|---|---|---|---|---|---|
| 2024-10 .. 2024-11 | 7 | 0 | 0 | 4 | 0 | 0 | 1 |
| 2024-12 | 6 | 0 | 1 (P08) | 4 | | | 1 |
| 2025-01 .. 2025-03 | 7 | 1 in Jan (P10) | 0 | 4 | | | 1 |
| 2025-04 .. 2025-05 | 6 | 0 | 1 in Apr (P09) | 4 | | | 1 |
| 2025-06 .. 2025-10 | 7 | 1 in Jun (P04) | 0 | 4 | | | 1 |
| 2025-11 .. 2025-12 | 7 | 0 | 0 | 5 | 1 in Nov (P03) | | 1 |
| 2026-01 .. 2026-02 | 7 | 1 in Jan (P07) | 1 in Jan (P06) | 4 | | 1 in Jan (P06) | 1 |
| 2026-03 .. 2026-08 | 6 | 0 | 1 in Mar (P04) | 4 | | | 1 |
| 2026-09 .. 2026-10 | 6 | 0 | 0 | 5 | 1 in Sep (P10) | | 1 |

Money (benefit_payment, EUR llu/luh): 2024-10 B01 502/480, B02 502/450 (2 BG); 2025-10 B01
563/500, B02 563/450, B03 563/480, B04 400/300, B05 1000/700, B06 563/400, B10 563/450 (7 BG,
4215.00/3280.00); 2026-10 B01 563/520, B02 563/450, B03 563/480, B05 1100/700, B07 0/0 (paid in
M, not in M-12; counts), B10 563/450 (6 BG, 3352.00/2600.00).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from config import Config
from opal.access import Actor
from opal.catalogue import load_and_check
from opal.compute import round_half_up
from opal.context import Context
from opal.errors import AccessDenied, ParameterError
from opal.pipeline import run_report
from opal.query import shape_rows, suppress_rows
from opal.renderers import get_renderer
from opal.result import SUPPRESSED
from tests.conftest import FIXED_NOW
from tests.fixtures.kennzahlen import KENNZAHLEN_DIR, MANIFEST_HEAD
from tests.fixtures.steering import build_case_db, manifest_for

M = 2026 * 12 + 9  # 2026-10
CTRL = Actor("ctrl", "controlling", None, None)


def r1(x: Fraction | int) -> float:
    """A hand-computed value as JSON shows it: one decimal, half away from zero."""
    return float(round_half_up(Fraction(x), 1))


def rate(num: int, den: Fraction | int) -> Fraction:
    return Fraction(num) / Fraction(den) * 100


def change(num: Fraction | int, den: Fraction | int) -> Fraction:
    return (Fraction(num) / Fraction(den) - 1) * 100


# value, numerator, denominator, value_prev_year (unrounded Fractions; None: empty)
K1 = change(335200, 421500)
K1_PREV = change(421500, 100400)
K1E1 = change(260000, 328000)
K1E1_PREV = change(328000, 93000)
K1E3 = rate(1, 7) / 12  # only January 2026 has an inflow (P07), over its stock 7
K1E3_PREV = (rate(1, 7) + rate(1, 7)) / 12  # P10 (2025-01, stock 7), P04 (2025-06, stock 7)
K1E4 = (rate(1, 7) + rate(1, 7)) / 12  # P06 out in 2026-01 (stock of 2025-12: 7), P04 2026-03
K1E4_PREV = (rate(1, 7) + rate(1, 7)) / 12  # P08 2024-12 (of 7), P09 2025-04 (of 7)
ELB_MEAN, ELB_MEAN_PREV = Fraction(77, 12), Fraction(81, 12)  # 2025-10..2026-09; a year before
LZB_MEAN, LZB_MEAN_PREV = Fraction(51, 12), Fraction(48, 12)
EXPECTED: dict[str, tuple[Any, Any, Any, Any]] = {
    "K1": (K1, Decimal("3352.00"), Decimal("4215.00"), K1_PREV),
    "K1E1": (K1E1, Decimal("2600.00"), Decimal("3280.00"), K1E1_PREV),
    "K1E2": (change(6, 7), 6, 7, change(7, 7)),
    "K1E3": (K1E3, 1, 76, K1E3_PREV),  # 76 = 4 x 7 + 8 x 6 (2025-11 .. 2026-10)
    "K1E4": (K1E4, 2, 77, K1E4_PREV),  # 77 = the stocks of 2025-10 .. 2026-09
    "K2": (rate(3, ELB_MEAN), 3, ELB_MEAN, rate(2, ELB_MEAN_PREV)),  # P06 P04 P05; P08 P09
    "K2E1": (rate(1, ELB_MEAN), 1, ELB_MEAN, rate(1, ELB_MEAN_PREV)),  # P06; P02
    "K2E2": (rate(1, ELB_MEAN), 1, ELB_MEAN, rate(0, ELB_MEAN_PREV)),  # P07
    # integrations 2024-11 .. 2025-10: P08 continued, P09 not; a year before: none (null)
    "K2E3": (rate(1, 2), 1, 2, None),
    "K2E4": (rate(1, 1), 1, Fraction(1), rate(0, 1)),  # P05; the ae stock is B05's P05 (12/12)
    "K3": (change(5, 4), 5, 4, change(4, 4)),
    "K3E1": (rate(2, LZB_MEAN), 2, LZB_MEAN, rate(0, LZB_MEAN_PREV)),  # P06 P05
    "K3E2": (rate(1, 5), 1, 5, rate(0, 4)),  # P01 (AGH); P02's EGZ does not count
    "K3E3": ((rate(1, 5) + rate(1, 5)) / 12, 2, 52, Fraction(0)),  # P03 (of 5), P10 (of 5)
    "K3E4": (rate(1, 5) / 12, 1, 51, Fraction(0)),  # P06 in 2026-01, of 5 at 2025-12
}


def _shown(x: Any, places: int) -> Decimal | None:
    if x is None:
        return None
    if isinstance(x, Decimal):
        return x
    return round_half_up(Fraction(x), places)


@pytest.fixture
def kz_engine(backend: str) -> Iterator[Engine]:
    """A case DB with the export loaded directly and the derived layer built."""
    if backend == "sqlite":
        engine = create_engine("sqlite://")
        build_case_db(engine, KENNZAHLEN_DIR)
        yield engine
        engine.dispose()
        return
    import uuid

    from tests.conftest import PG_URL, drop_pg_schemas

    prefix = "kz" + uuid.uuid4().hex[:10]
    schema = prefix + "_case"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        build_case_db(engine, KENNZAHLEN_DIR)
        yield engine
    finally:
        engine.dispose()
        drop_pg_schemas(prefix)


def figures(engine: Engine, office: str = "", sex: str = "", month: int = M,
            suppress: bool = False) -> dict[str, dict[str, Any]]:
    """R17's rows by figure, as the engine shapes them (unsuppressed unless asked)."""
    defn = load_and_check().get("R17")
    assert defn is not None
    with engine.connect() as conn:
        raw = [dict(r) for r in conn.execute(
            text(defn.sql), {"month": month, "office": office, "sex": sex}).mappings()]
    rows, _ = suppress_rows(defn, shape_rows(defn, raw), suppress)
    return {r["figure"]: r for r in rows}


def test_kennzahlen_manifest_is_current() -> None:
    on_disk = json.loads((KENNZAHLEN_DIR / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk == manifest_for(KENNZAHLEN_DIR, MANIFEST_HEAD)


def test_r17_all_15_figures_by_hand(kz_engine: Engine) -> None:
    rows = figures(kz_engine)
    assert list(rows) == list(EXPECTED)
    for code, (value, num, den, prev) in EXPECTED.items():
        row = rows[code]
        num_places = 2 if code in ("K1", "K1E1") else 0
        den_places = 1 if isinstance(den, Fraction) else num_places
        got = (row["value"], row["numerator"], row["denominator"], row["value_prev_year"],
               row["change_pp"])
        change_pp = None if prev is None else value - prev
        assert got == (_shown(value, 1), _shown(num, num_places), _shown(den, den_places),
                       _shown(prev, 1), _shown(change_pp, 1)), code
        assert row["target"] is None and row["target_gap_pp"] is None


def test_r17_values_as_printed(kz_engine: Engine) -> None:
    """The same figures written out, so a reader sees what the Fractions above come to."""
    rows = figures(kz_engine)
    shown = {k: (float(r["value"]) if r["value"] is not None else None,
                 float(r["value_prev_year"]) if r["value_prev_year"] is not None else None,
                 float(r["change_pp"]) if r["change_pp"] is not None else None)
             for k, r in rows.items()}
    assert shown == {
        "K1": (-20.5, 319.8, -340.3), "K1E1": (-20.7, 252.7, -273.4),
        "K1E2": (-14.3, 0.0, -14.3), "K1E3": (1.2, 2.4, -1.2), "K1E4": (2.4, 2.4, 0.0),
        "K2": (46.8, 29.6, 17.1), "K2E1": (15.6, 14.8, 0.8), "K2E2": (15.6, 0.0, 15.6),
        "K2E3": (50.0, None, None), "K2E4": (100.0, 0.0, 100.0), "K3": (25.0, 0.0, 25.0),
        "K3E1": (47.1, 0.0, 47.1), "K3E2": (20.0, 0.0, 20.0), "K3E3": (3.3, 0.0, 3.3),
        "K3E4": (1.7, 0.0, 1.7)}
    # change_pp comes from the unrounded values: K1E3 1.190 - 2.381 = -1.190 (not 1.2 - 2.4)
    assert rows["K2"]["denominator"] == Decimal("6.4") and rows["K3E1"]["denominator"] == \
        Decimal("4.3")  # 51 / 12 = 4.25: half away from zero


def test_r17_sex_narrows_every_count_and_the_money(kz_engine: Engine) -> None:
    w = figures(kz_engine, sex="W")  # P02 P03 P05 (P09 gone); money of B02 B03 B05 (HP W)
    assert (w["K1E2"]["numerator"], w["K1E2"]["denominator"], w["K1E2"]["value"]) == (
        3, 3, Decimal("0.0"))
    assert (w["K2"]["numerator"], w["K2"]["denominator"], w["K2"]["value"]) == (
        1, Decimal("3.0"), Decimal("33.3"))  # P05; 36 / 12; 100 / 3
    assert (w["K1"]["numerator"], w["K1"]["denominator"], w["K1"]["value"]) == (
        Decimal("2226.00"), Decimal("2126.00"), _shown(change(2226, 2126), 1))  # 4.7
    # D: only P07, eLb from 2026-01-15: the stocks at the ends of 2025-11 and 2025-12 are 0,
    # so the 12-month means of monthly rates are empty although the sums are shown
    d = figures(kz_engine, sex="D")
    assert (d["K1E3"]["numerator"], d["K1E3"]["denominator"], d["K1E3"]["value"]) == (1, 10, None)
    assert d["K1E4"]["value"] is None and d["K1E2"]["value"] is None  # 1 against 0
    assert (d["K1"]["numerator"], d["K1"]["denominator"]) == (Decimal("0.00"), Decimal("0.00"))


def test_r17_office_counts_the_persons_and_bg_of_that_office(kz_engine: Engine) -> None:
    o1, o2 = figures(kz_engine, office="O1"), figures(kz_engine, office="O2")
    assert (o1["K1E2"]["numerator"], o1["K1E2"]["denominator"]) == (4, 4)  # P01 P02 P03 P05
    assert (o2["K1E2"]["numerator"], o2["K1E2"]["denominator"]) == (2, 3)  # P07 P10; P04 P06 P10
    assert (o2["K1"]["numerator"], o2["K1"]["denominator"]) == (
        Decimal("563.00"), Decimal("1526.00"))  # B07 0 + B10; B04 + B06 + B10
    assert o1["K2E4"]["numerator"] == 1 and o2["K2E4"]["numerator"] == 0


def test_r17_controlling_suppression(kz_engine: Engine) -> None:
    """Counts of 1 or 2, money behind 1 or 2 BG and means in (0, 3) are `*`, and so is what is
    built on them; the previous year's value by the same rules for M-12."""
    rows = figures(kz_engine, suppress=True)
    hidden = {code: [k for k in ("value", "numerator", "denominator", "value_prev_year",
                                 "change_pp") if rows[code][k] is SUPPRESSED] for code in rows}
    assert hidden == {
        "K1": ["value_prev_year", "change_pp"],  # 2024-10: 2 BG behind the sums
        "K1E1": ["value_prev_year", "change_pp"],
        "K1E2": [],
        "K1E3": ["value", "numerator", "value_prev_year", "change_pp"],  # 1 inflow; 2 before
        "K1E4": ["value", "numerator", "value_prev_year", "change_pp"],  # 2 outflows each year
        "K2": ["value_prev_year", "change_pp"],  # 2 integrations a year before
        "K2E1": ["value", "numerator", "value_prev_year", "change_pp"],
        "K2E2": ["value", "numerator", "change_pp"],
        "K2E3": ["value", "numerator", "denominator", "change_pp"],  # prev: empty anyway
        "K2E4": ["value", "numerator", "denominator", "value_prev_year", "change_pp"],  # Ø 1.0
        "K3": [],
        "K3E1": ["value", "numerator", "change_pp"],
        "K3E2": ["value", "numerator", "change_pp"],
        "K3E3": ["value", "numerator", "change_pp"],
        "K3E4": ["value", "numerator", "change_pp"],
    }
    assert rows["K2E3"]["value_prev_year"] is None  # empty (no integrations), not suppressed
    o2 = figures(kz_engine, office="O2", suppress=True)
    assert o2["K1"]["numerator"] is SUPPRESSED and o2["K1"]["value"] is SUPPRESSED  # 2 BG
    assert o2["K1"]["denominator"] == Decimal("1526.00")  # 3 BG


# --------------------------------------------------------------------------- the real path


def _export(tmp: Path, name: str, *, format_version: int = 2,
            move_b10_to: str | None = None) -> Path:
    target = tmp / name
    shutil.copytree(KENNZAHLEN_DIR, target)
    if format_version == 1:
        (target / "benefit_payment.csv").unlink()
    if move_b10_to:
        path = target / "benefit_unit.csv"
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
        for r in rows:
            if r["bg_id"] == "B10":
                r["office_id"] = move_b10_to
        out = io.StringIO()
        w = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        path.write_text(out.getvalue(), encoding="utf-8")
    head = {**MANIFEST_HEAD, "format_version": format_version}
    if move_b10_to:
        head["exported_at"] = "2026-11-24T02:30:00Z"
    (target / "manifest.json").unlink()
    text_ = json.dumps(manifest_for(target, head), indent=2)
    (target / "manifest.json").write_text(text_, encoding="utf-8")
    return target


_OPEN: list[Context] = []


@pytest.fixture(autouse=True)
def _dispose() -> Iterator[None]:
    """Close the engines of every context a test built."""
    yield
    while _OPEN:
        ctx = _OPEN.pop()
        ctx.case_db.dispose()
        ctx.app_db.dispose()


def _ctx(config: Config, export: Path) -> Context:
    from opal.clock import fixed_clock
    from opal.refresh import refresh
    from tests.conftest import upgrade_app_db

    refresh(config, export, clock=fixed_clock(FIXED_NOW))
    upgrade_app_db(config)
    ctx = Context.build(config, clock=fixed_clock(FIXED_NOW))
    _OPEN.append(ctx)
    return ctx


def _json(ctx: Context, args: dict[str, str]) -> dict[str, Any]:
    result = run_report(ctx, "R17", CTRL, args, "json")
    body = get_renderer("json").render(result).body
    if not isinstance(body, bytes | str):
        body = "".join(c if isinstance(c, str) else c.decode("utf-8") for c in body)
    doc: dict[str, Any] = json.loads(body)
    return doc


def test_r17_format_1_has_no_money_and_says_so(config: Config, tmp_path: Path) -> None:
    ctx = _ctx(config, _export(tmp_path, "v1", format_version=1))
    doc = _json(ctx, {})
    assert doc["notes"] == ["keine Zahlungsdaten im Export"]
    rows = {r["figure"]: r for r in doc["rows"]}
    for code in ("K1", "K1E1"):
        assert [rows[code][k] for k in ("value", "numerator", "denominator",
                                        "value_prev_year")] == [None] * 4
    assert rows["K1E2"]["value"] == -14.3  # everything else as with format 2
    html = run_report(ctx, "R17", CTRL, {}, "html")
    assert html.notes == ("keine Zahlungsdaten im Export",)


def _rendered_text(ctx: Context, fmt: str) -> str:
    """The text a reader of R17 (county, defaults) sees in ``fmt``, read back by its own tool."""
    from openpyxl import load_workbook

    from tests.test_render_pdf import pdf_text

    body = get_renderer(fmt).render(run_report(ctx, "R17", CTRL, {}, fmt)).body
    if not isinstance(body, bytes | str):
        body = "".join(c if isinstance(c, str) else c.decode("utf-8") for c in body)
    if fmt == "pdf":
        assert isinstance(body, bytes)
        return pdf_text(body, mode="-raw")
    if fmt == "xlsx":
        assert isinstance(body, bytes)
        ws = load_workbook(io.BytesIO(body), read_only=True).active
        assert ws is not None
        return "\n".join(" ".join(str(v) for v in row if v is not None)
                         for row in ws.iter_rows(values_only=True))
    return body if isinstance(body, str) else body.decode("utf-8-sig")


@pytest.mark.parametrize("fmt", ["pdf", "xlsx", "csv"])
def test_r17_note_under_the_table_in_every_format(config: Config, tmp_path: Path,
                                                  fmt: str) -> None:
    """The note stands below the last figure (K3E4) with format 1, and nowhere with format 2."""
    note = "keine Zahlungsdaten im Export"
    v1 = _rendered_text(_ctx(config, _export(tmp_path, "v1", format_version=1)), fmt)
    assert v1.count(note) == 1
    assert v1.rindex("K3E4") < v1.index(note)
    if fmt == "csv":  # the header row stays first: the note is the last line
        assert v1.rstrip("\r\n").splitlines()[-1] == note
    v2 = _rendered_text(_ctx(config, _export(tmp_path, "v2")), fmt)
    assert note not in v2


def test_r17_format_2_has_money_and_no_note(config: Config, tmp_path: Path) -> None:
    ctx = _ctx(config, _export(tmp_path, "v2"))
    doc = _json(ctx, {"month": "2026-10"})
    assert "notes" not in doc
    rows = {r["figure"]: r for r in doc["rows"]}
    assert (rows["K1"]["value"], rows["K1"]["numerator"], rows["K1"]["denominator"]) == (
        -20.5, 3352.0, 4215.0)
    assert doc["params"] == {"month": "2026-10", "office": None, "sex": None}


def test_r17_names_the_office_as_run_and_keeps_its_id_in_json(config: Config,
                                                               tmp_path: Path) -> None:
    """People read the office by name in the parameters as run; machines get its id."""
    from tests.test_render_pdf import pdf_text

    ctx = _ctx(config, _export(tmp_path, "v2"))
    assert _json(ctx, {"office": "O2"})["params"]["office"] == "O2"
    result = run_report(ctx, "R17", CTRL, {"office": "O2"}, "pdf")
    assert [(p.label, p.value, p.text) for p in result.params if p.name == "office"] == [
        ("Dienststelle", "O2", "Südheim")]
    body = get_renderer("pdf").render(result).body
    assert isinstance(body, bytes)
    assert "Dienststelle: Südheim" in pdf_text(body, 1, mode="-raw")
    county = run_report(ctx, "R17", CTRL, {}, "pdf")
    assert [p.text for p in county.params if p.name == "office"] == [None]


def test_r17_parameters_and_access(config: Config, tmp_path: Path) -> None:
    ctx = _ctx(config, _export(tmp_path, "v2"))
    with pytest.raises(ParameterError) as info:
        run_report(ctx, "R17", CTRL, {"office": "O9", "sex": "X"}, "json")
    assert set(info.value.errors) == {"office", "sex"}
    with pytest.raises(ParameterError) as info:
        run_report(ctx, "R17", CTRL, {"office": "O1'; --"}, "json")
    assert set(info.value.errors) == {"office"}
    with pytest.raises(ParameterError):
        run_report(ctx, "R17", CTRL, {"month": "2026-11"}, "json")  # last day after as_of
    for role, staff, team in (("case_manager", "S01", None), ("team_lead", None, "T1"),
                              ("admin", None, None)):
        with pytest.raises(AccessDenied):
            run_report(ctx, "R17", Actor("x", role, staff, team), {}, "json")


def test_r17_office_lead_gets_their_office_fixed(config: Config, tmp_path: Path) -> None:
    """An office lead's R17 is controlling's run for their office (the same suppression); the
    ``office`` field is not theirs to give: a 400 naming it, whatever office it names."""
    ctx = _ctx(config, _export(tmp_path, "v2"))
    lead = Actor("ol", "office_lead", office_id="O2")
    mine = run_report(ctx, "R17", lead, {"month": "2026-10"}, "json")
    county = run_report(ctx, "R17", CTRL, {"month": "2026-10", "office": "O2"}, "json")
    assert mine.rows == county.rows and mine.suppressed_cells == county.suppressed_cells
    assert [p.name for p in mine.params] == ["month", "sex"]
    for office in ("O1", "O2"):
        with pytest.raises(ParameterError) as info:
            run_report(ctx, "R17", lead, {"office": office}, "json")
        assert set(info.value.errors) == {"office"}


def test_r17_a_bg_moving_office_restates_its_history(config: Config, tmp_path: Path) -> None:
    """A person's office is their BG's office: when the next export has P10's BG in O1, all
    of P10's months count in O1 (the export carries one BG per person)."""
    ctx = _ctx(config, _export(tmp_path, "day1"))
    before = {o: {r["figure"]: r for r in _json(ctx, {"office": o})["rows"]} for o in ("O1", "O2")}
    assert (before["O1"]["K1E2"]["numerator"], before["O1"]["K1E2"]["denominator"]) == (4, 4)
    ctx = _ctx(config, _export(tmp_path, "day2", move_b10_to="O1"))
    after = {o: {r["figure"]: r for r in _json(ctx, {"office": o})["rows"]} for o in ("O1", "O2")}
    assert (after["O1"]["K1E2"]["numerator"], after["O1"]["K1E2"]["denominator"]) == (5, 5)
    assert after["O1"]["K1E2"]["value"] == 0.0
    assert after["O2"]["K1E2"]["numerator"] is None  # P07 alone: 1, suppressed
    assert after["O2"]["K1E2"]["denominator"] is None  # P04 P06: 2, suppressed
    assert before["O1"]["K1"]["numerator"] == 2789.0  # B01 B02 B03 B05
    assert after["O1"]["K1"]["numerator"] == 3352.0  # and B10 (563.00)
