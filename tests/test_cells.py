"""The presentation shared by HTML, PDF and XLSX: the header block and the "Summe" row."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from opal.renderers.cells import Header, header, totals
from opal.result import SUPPRESSED, ColumnDef, ParamValue, Result

COLUMNS = (ColumnDef("office", "Standort"), ColumnDef("n", "Anzahl", "int", total=True),
           ColumnDef("cost", "Kosten", "decimal", decimals=2, total=True),
           ColumnDef("rate", "Quote", "decimal", decimals=1))


def result(rows: list[dict[str, object]], columns: tuple[ColumnDef, ...] = COLUMNS) -> Result:
    return Result(code="R99", title="Probe", kind="list", orientation="portrait",
                  params=(ParamValue("n_days", "Tage", 30), ParamValue("group", "Gruppe", None)),
                  columns=columns, rows=rows, as_of=date(2026, 11, 23),
                  generated_at=datetime(2026, 11, 24, 6, 12, 3, tzinfo=UTC), unit="Team Eins")


def test_the_header_block() -> None:
    assert header(result([])) == Header("R99", "Probe", "Team Eins",
                                        (("Tage", "30"), ("Gruppe", "alle")), "23.11.2026",
                                        "24.11.2026 07:12 MEZ")


def test_the_sum_row() -> None:
    rows = [{"office": "Nord", "n": 2, "cost": Decimal("1.50"), "rate": Decimal("0.5")},
            {"office": "Süd", "n": 3, "cost": Decimal("2.25"), "rate": None}]
    assert totals(result(rows)) == ["Summe", 5, Decimal("3.75"), ""]
    rows[1]["cost"] = SUPPRESSED
    assert totals(result(rows)) == ["Summe", 5, SUPPRESSED, ""]
    assert totals(result([])) == ["Summe", 0, Decimal("0"), ""]
    assert totals(result(rows, COLUMNS[:1] + COLUMNS[3:])) is None  # nothing summed
