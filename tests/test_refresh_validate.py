"""A broken export is rejected with file, line, column and value, and the live data stays as it was.

Every test first publishes the valid hand-made export, then breaks exactly one thing (or a few)
and checks the message an operator reads and that the live generation is unchanged.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from config import Config
from opal.refresh import RefreshRejected, refresh
from tests.fixtures.exports import (
    base_rows,
    live_snapshot,
    read_rows,
    set_cell,
    update_manifest,
    write_export,
    write_manifest,
    write_raw,
    write_table,
)


@pytest.fixture
def live(config: Config, tmp_path: Path) -> tuple[Any, ...]:
    """Publish the valid export; return the snapshot every rejection must leave untouched."""
    refresh(config, write_export(tmp_path / "good"))
    snap = live_snapshot(config)
    assert snap is not None
    return snap


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    """A valid export for the test to break."""
    return write_export(tmp_path / "bad")


def rejected(config: Config, directory: Path, live: tuple[Any, ...]) -> str:
    """Refresh ``directory``, expect a rejection, check the live data; return the message."""
    with pytest.raises(RefreshRejected) as info:
        refresh(config, directory)
    assert live_snapshot(config) == live
    assert info.value.problems
    return str(info.value)


CELL_CASES = [
    # (table, row index, column, value, expected message)
    ("person", 3, "birth_date", "2026-13-01",
     "person.csv line 5, column birth_date: '2026-13-01' is not a date (YYYY-MM-DD)"),
    ("person", 0, "birth_date", "1970-2-28",
     "person.csv line 2, column birth_date: '1970-2-28' is not a date (YYYY-MM-DD)"),
    ("person", 0, "birth_date", "2023-02-29",
     "person.csv line 2, column birth_date: '2023-02-29' is not a date (YYYY-MM-DD)"),
    ("person", 1, "sex", "X", "person.csv line 3, column sex: 'X' is not a valid code (M, W, D)"),
    ("person", 1, "citizenship", "de",
     "person.csv line 3, column citizenship: 'de' is not a country code"),
    ("person", 1, "severely_disabled", "ja",
     "person.csv line 3, column severely_disabled: 'ja' is not a boolean (0 or 1)"),
    ("person", 2, "bg_id", "B99",
     "person.csv line 4, column bg_id: 'B99' not found in benefit_unit.bg_id"),
    ("person", 2, "case_manager_id", "S99",
     "person.csv line 4, column case_manager_id: 'S99' not found in staff.staff_id"),
    ("person", 4, "residence_status", "", "person.csv line 6, column residence_status: leer"),
    ("team", 0, "office_id", "O9", "team.csv line 2, column office_id: 'O9' not found in office"),
    ("staff", 0, "fte", "1.5", "staff.csv line 2, column fte: '1.5' is above the maximum 1"),
    ("staff", 0, "fte", "0.05", "staff.csv line 2, column fte: '0.05' is below the minimum 0.1"),
    ("staff", 0, "fte", "0.12345", "staff.csv line 2, column fte: '0.12345' has more than 4"),
    ("staff", 0, "fte", "1,0", "staff.csv line 2, column fte: '1,0' is not a decimal number"),
    ("measure_participation", 0, "cost", "-1",
     "measure_participation.csv line 2, column cost: '-1' is below the minimum 0"),
    ("measure_participation", 0, "cost", "12.345",
     "measure_participation.csv line 2, column cost: '12.345' has more than 2 decimals"),
    ("measure_participation", 0, "measure_code", "M99",
     "measure_participation.csv line 2, column measure_code: 'M99' not found in measure_type"),
    ("contact", 0, "staff_id", "S99", "contact.csv line 2, column staff_id: 'S99' not found"),
    ("stand_in", 0, "covers_staff_id", "S99",
     "stand_in.csv line 2, column covers_staff_id: 'S99' not found in staff.staff_id"),
    ("contact", 1, "contact_id", "C01",
     "contact.csv line 3, column contact_id: duplicate key (contact_id='C01')"),
    ("profile", 2, "valid_from", "2019-08-01",
     "profile.csv line 4, column customer_no: duplicate key (customer_no='P002', "
     "valid_from='2019-08-01')"),
    # a period may not end before it starts
    ("benefit_spell", 5, "to_date", "2020-01-01",
     "benefit_spell.csv line 7, column to_date: '2020-01-01' is before from_date '2021-01-01'"),
    ("unemployment_spell", 1, "to_date", "2019-07-14",
     "unemployment_spell.csv line 3, column to_date: '2019-07-14' is before from_date"),
    ("benefit_unit", 3, "end_date", "2023-04-30",
     "benefit_unit.csv line 5, column end_date: '2023-04-30' is before start_date '2023-05-01'"),
    ("stand_in", 0, "to_date", "2026-10-01",
     "stand_in.csv line 2, column to_date: '2026-10-01' is before from_date '2026-11-01'"),
    ("employment_spell", 1, "end_date", "2025-06-30",
     "employment_spell.csv line 3, column end_date: '2025-06-30' is before start_date"),
    ("integration_plan", 0, "end_date", "2021-01-01",
     "integration_plan.csv line 2, column end_date: '2021-01-01' is before signed_date"),
    ("measure_participation", 3, "exit_date", "2025-12-31",
     "measure_participation.csv line 5, column exit_date: '2025-12-31' is before entry_date"),
    # things that happened are not after as_of
    ("benefit_spell", 0, "from_date", "2026-11-24",
     "benefit_spell.csv line 2, column from_date: '2026-11-24' is after as_of 2026-11-23"),
    ("unemployment_spell", 0, "from_date", "2027-01-01",
     "unemployment_spell.csv line 2, column from_date: '2027-01-01' is after as_of 2026-11-23"),
    ("employment_spell", 0, "start_date", "2026-12-01",
     "employment_spell.csv line 2, column start_date: '2026-12-01' is after as_of"),
    ("measure_participation", 0, "entry_date", "2026-11-24",
     "measure_participation.csv line 2, column entry_date: '2026-11-24' is after as_of"),
    ("measure_participation", 0, "exit_date", "2026-11-30",
     "measure_participation.csv line 2, column exit_date: '2026-11-30' is after as_of"),
    ("integration_plan", 1, "signed_date", "2026-11-24",
     "integration_plan.csv line 3, column signed_date: '2026-11-24' is after as_of"),
    ("contact", 0, "contact_date", "2026-11-24",
     "contact.csv line 2, column contact_date: '2026-11-24' is after as_of 2026-11-23"),
    ("integration_plan", 1, "next_review_date", "",
     "integration_plan.csv line 3, column next_review_date: leer, but required for an AKTIV"),
    # benefit_payment (format 2): key, reference, month, amounts
    ("benefit_payment", 1, "month", "2026-10",
     "benefit_payment.csv line 3, column bg_id: duplicate key (bg_id='B01', month='2026-10')"),
    ("benefit_payment", 0, "bg_id", "B99",
     "benefit_payment.csv line 2, column bg_id: 'B99' not found in benefit_unit.bg_id"),
    ("benefit_payment", 0, "month", "2026-12",
     "benefit_payment.csv line 2, column month: '2026-12' is after the month of as_of 2026-11-23"),
    ("benefit_payment", 0, "month", "2026-13",
     "benefit_payment.csv line 2, column month: '2026-13' is not a month (YYYY-MM)"),
    ("benefit_payment", 0, "month", "2026-10-01",
     "benefit_payment.csv line 2, column month: '2026-10-01' is not a month (YYYY-MM)"),
    ("benefit_payment", 2, "llu", "-0.01",
     "benefit_payment.csv line 4, column llu: '-0.01' is below the minimum 0"),
    ("benefit_payment", 2, "luh", "12.345",
     "benefit_payment.csv line 4, column luh: '12.345' has more than 2 decimals"),
    ("benefit_payment", 3, "luh", "", "benefit_payment.csv line 5, column luh: leer"),
]


@pytest.mark.parametrize(("table", "index", "column", "value", "expected"), CELL_CASES,
                         ids=[f"{c[0]}.{c[2]}={c[3]!s}" for c in CELL_CASES])
def test_bad_cell_is_rejected_with_file_line_column_value(
        config: Config, live: tuple[Any, ...], bad: Path, table: str, index: int, column: str,
        value: str, expected: str) -> None:
    set_cell(bad, table, index, column, value)
    assert expected in rejected(config, bad, live)


def test_booked_open_contact_and_planned_dates_may_lie_ahead(config: Config, bad: Path) -> None:
    set_cell(bad, "contact", 0, "outcome", "OFFEN")
    set_cell(bad, "contact", 0, "contact_date", "2027-02-01")
    set_cell(bad, "measure_participation", 0, "planned_end_date", "2030-01-01")
    result = refresh(config, bad)
    assert result.counts["contact"] == 14


def test_names_are_never_echoed(config: Config, live: tuple[Any, ...], bad: Path) -> None:
    rows = read_rows(bad, "person")
    rows[0]["last_name"] = ""
    rows[1]["first_name"] = "Geheimname" * 30
    rows[2]["last_name"] = "Vertraulich"
    rows[2]["sex"] = "Q"
    write_table(bad, "person", rows)
    staff = read_rows(bad, "staff")
    staff[0]["display_name"] = "Sachbearbeiterin Xy" * 20
    write_table(bad, "staff", staff)
    message = rejected(config, bad, live)
    assert "person.csv line 2, column last_name: leer" in message
    assert "person.csv line 3, column first_name: ungültig" in message
    assert "staff.csv line 2, column display_name: ungültig" in message
    assert "person.csv line 4, column sex: 'Q'" in message
    for name in ("Geheimname", "Vertraulich", "Sachbearbeiterin", "Müller", "Öztürk", "Weiß"):
        assert name not in message


def test_every_problem_of_a_file_is_listed(config: Config, live: tuple[Any, ...],
                                           bad: Path) -> None:
    set_cell(bad, "person", 0, "sex", "X")
    set_cell(bad, "person", 5, "birth_date", "2004-02-30")
    set_cell(bad, "person", 11, "citizenship", "DEU")
    set_cell(bad, "contact", 13, "channel", "FAX")
    message = rejected(config, bad, live)
    assert "person.csv line 2, column sex: 'X'" in message
    assert "person.csv line 7, column birth_date: '2004-02-30'" in message
    assert "person.csv line 13, column citizenship: 'DEU'" in message
    assert "contact.csv line 15, column channel: 'FAX'" in message


def test_listing_is_capped_per_file(config: Config, live: tuple[Any, ...], bad: Path) -> None:
    rows = read_rows(bad, "contact")
    rows += [{"contact_id": f"X{i:02d}", "customer_no": "P001", "staff_id": "S01",
              "contact_date": "2026-01-05", "channel": "TELEFON", "outcome": "VERGESSEN"}
             for i in range(30)]
    write_table(bad, "contact", rows)
    problems = []
    with pytest.raises(RefreshRejected) as info:
        refresh(config, bad)
    problems = [p for p in info.value.problems if p.file == "contact.csv"]
    assert len(problems) == 21
    assert str(problems[0]) == ("contact.csv line 16, column outcome: 'VERGESSEN' is not a valid "
                                "code (WAHRGENOMMEN, NICHT_ERSCHIENEN, ABGESAGT, OFFEN)")
    assert str(problems[-1]) == "contact.csv: ... and 10 more problems"
    assert live_snapshot(config) == live


def test_line_numbers_are_physical_lines(config: Config, live: tuple[Any, ...],
                                         bad: Path) -> None:
    rows = read_rows(bad, "office")
    rows[0]["name"] = "Jobcenter\nNordstadt, Haus 2"
    rows[1]["office_id"] = "O1"
    write_table(bad, "office", rows)
    assert "office.csv line 4, column office_id: duplicate key (office_id='O1')" in \
        rejected(config, bad, live)


def test_columns_in_any_order_are_accepted(config: Config, bad: Path) -> None:
    columns = list(reversed(read_rows(bad, "person")[0].keys()))
    write_table(bad, "person", read_rows(bad, "person"), columns=columns)
    assert refresh(config, bad).counts["person"] == 12


@pytest.mark.parametrize(("columns_change", "expected"), [
    (lambda cols: [c for c in cols if c != "outcome"],
     "contact.csv line 1, column outcome: column missing from the header"),
    (lambda cols: [*cols, "note"], "contact.csv line 1, column note: unknown column 'note'"),
    (lambda cols: [*cols, "channel"], "contact.csv line 1, column channel: column appears twice"),
], ids=["missing", "unknown", "twice"])
def test_header_must_name_exactly_the_columns(config: Config, live: tuple[Any, ...], bad: Path,
                                              columns_change: Any, expected: str) -> None:
    columns = columns_change(list(read_rows(bad, "contact")[0].keys()))
    write_table(bad, "contact", read_rows(bad, "contact"), columns=columns)
    assert expected in rejected(config, bad, live)


@pytest.mark.parametrize(("content", "expected"), [
    ("\ufeffoffice_id,name\nO1,A\nO2,B\n", "office.csv line 1: starts with a byte order mark"),
    ("", "office.csv line 1: is empty"),
    ("office_id,name\nO1,A,extra\nO2,B\n", "office.csv line 2: has 3 fields, the header has 2"),
    (b"office_id,name\nO1,J\xfcrgen\nO2,B\n", "office.csv: is not valid UTF-8"),
    ('office_id,name\nO1,"A\nO2,B\n', "office.csv line 2: is not valid CSV"),
], ids=["bom", "empty", "fields", "utf8", "quote"])
def test_malformed_csv_is_rejected(config: Config, live: tuple[Any, ...], bad: Path,
                                   content: str | bytes, expected: str) -> None:
    write_raw(bad, "office", content)
    message = rejected(config, bad, live)
    assert expected in message
    assert "team.csv" not in message  # no echo of the broken file in the files referring to it


def test_file_must_match_manifest(config: Config, live: tuple[Any, ...], bad: Path) -> None:
    path = bad / "contact.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("VIDEO", "TELEFON"),
                    encoding="utf-8")
    (bad / "profile.csv").unlink()
    manifest = json.loads((bad / "manifest.json").read_text())
    manifest["tables"]["team"]["rows"] = 4
    write_manifest(bad, manifest)
    message = rejected(config, bad, live)
    assert "contact.csv: sha256 does not match the manifest" in message
    assert "profile.csv: file missing" in message
    assert "team.csv: has 3 data rows, the manifest says 4" in message


@pytest.mark.parametrize(("change", "expected"), [
    ({"format_version": 3}, "manifest.json column format_version: 3 is not supported"),
    ({"as_of": "23.11.2026"}, 'manifest.json column as_of: "23.11.2026" is not a date'),
    ({"as_of": None}, "manifest.json column as_of: null is not a date"),
    ({"exported_at": "gestern"}, 'manifest.json column exported_at: "gestern" is not a UTC time'),
], ids=["version", "as_of", "no_as_of", "exported_at"])
def test_manifest_fields_are_checked(config: Config, live: tuple[Any, ...], bad: Path,
                                     change: dict[str, Any], expected: str) -> None:
    update_manifest(bad, **change)
    assert expected in rejected(config, bad, live)


def test_format_1_export_without_payments_is_accepted(config: Config, tmp_path: Path) -> None:
    refresh(config, write_export(tmp_path / "v1", format_version=1))
    snap = live_snapshot(config)
    assert snap is not None and snap[2]["benefit_payment"] == 0


def test_format_1_manifest_may_not_list_payments(config: Config, live: tuple[Any, ...],
                                                  tmp_path: Path) -> None:
    directory = write_export(tmp_path / "v1", format_version=1)
    full = write_export(tmp_path / "v2")
    shutil.copy(full / "benefit_payment.csv", directory / "benefit_payment.csv")
    update_manifest(directory)
    assert ("manifest.json column tables: unknown table 'benefit_payment' (not part of "
            "format_version 1)") in rejected(config, directory, live)


def test_format_2_manifest_must_list_payments(config: Config, live: tuple[Any, ...],
                                              bad: Path) -> None:
    manifest = json.loads((bad / "manifest.json").read_text(encoding="utf-8"))
    del manifest["tables"]["benefit_payment"]
    write_manifest(bad, manifest)
    assert "manifest.json column tables.benefit_payment: missing" in rejected(config, bad, live)


def test_manifest_must_list_every_table(config: Config, live: tuple[Any, ...],
                                        bad: Path) -> None:
    manifest = json.loads((bad / "manifest.json").read_text())
    del manifest["tables"]["stand_in"]
    manifest["tables"]["extra"] = {"file": "extra.csv", "rows": 0, "sha256": "0" * 64}
    write_manifest(bad, manifest)
    message = rejected(config, bad, live)
    assert "manifest.json column tables.stand_in: missing" in message
    assert "manifest.json column tables: unknown table 'extra'" in message


def test_missing_or_broken_manifest(config: Config, live: tuple[Any, ...], bad: Path,
                                    tmp_path: Path) -> None:
    (bad / "manifest.json").write_text("{not json", encoding="utf-8")
    assert "manifest.json: is not valid JSON" in rejected(config, bad, live)
    (bad / "manifest.json").unlink()
    assert "manifest.json: missing in" in rejected(config, bad, live)
    assert "is not a directory" in rejected(config, tmp_path / "nowhere", live)


def test_problems_of_several_files_are_reported_together(config: Config, live: tuple[Any, ...],
                                                         bad: Path) -> None:
    set_cell(bad, "team", 1, "focus", "U30")
    set_cell(bad, "employment_spell", 2, "wz_section", "Z")
    set_cell(bad, "person", 0, "sex", "X")
    set_cell(bad, "contact", 2, "customer_no", "P999")
    message = rejected(config, bad, live)
    assert "person.csv line 2, column sex: 'X'" in message
    assert "contact.csv line 4, column customer_no: 'P999' not found in person.customer_no" \
        in message
    assert "team.csv line 3, column focus: 'U30'" in message
    assert "employment_spell.csv line 4, column wz_section: 'Z'" in message


def test_rejection_before_anything_is_live(config: Config, bad: Path) -> None:
    set_cell(bad, "person", 0, "sex", "X")
    with pytest.raises(RefreshRejected):
        refresh(config, bad)
    assert live_snapshot(config) is None
    shutil.rmtree(bad)
    write_export(bad, base_rows())
    assert refresh(config, bad).counts["person"] == 12


@pytest.mark.parametrize(("column", "raw", "stored"), [
    ("fte", "0.1", 1000), ("fte", "1", 10000), ("fte", "1.0000", 10000), ("fte", "0.75", 7500),
    ("fte", "0.0999", None), ("fte", "1.0001", None), ("fte", "5.", None), ("fte", ".5", None),
    ("fte", "+1", None), ("fte", "0.10000", None),
    ("llu", "0", 0), ("llu", "0.00", 0), ("llu", "0.5", 50), ("llu", "1234567.89", 123456789),
    ("llu", "007.10", 710), ("llu", "-0", 0), ("llu", "-0.01", None), ("llu", "1.234", None),
    # digits of other scripts are digits to str.isdigit and to re's \d, not to the export
    ("llu", "\u0661\u0662", None), ("llu", "12.\u0665", None), ("llu", "\uff11", None),
    ("llu", "1.5\u00b2", None), ("llu", "", None), ("llu", ".", None),
])
def test_decimal_cells_stored_in_units_of_their_scale(column: str, raw: str,
                                                     stored: int | None) -> None:
    """The fast path and the exact one agree: bounds inclusive, places at most the scale."""
    from opal.casedb.schema import EXPORT_TABLES
    from opal.refresh.validate import _Bad, _converter

    col = next(c for t in EXPORT_TABLES for c in t.columns if c.name == column)
    convert = _converter(col, {})
    if stored is None:
        with pytest.raises(_Bad):
            convert(raw)
    else:
        assert convert(raw) == stored


def test_month_keys_find_exactly_the_repeated_id_and_month() -> None:
    """benefit_payment's (bg_id, month) keys as bitmasks: the month of as_of (bit 0), months far
    back, the same month for another id, and months that are faults of their row anyway."""
    from opal import dates
    from opal.refresh.validate import MonthKeys

    top = dates.month_idx(2026, 11)
    keys = MonthKeys(top)
    assert not keys.seen_again("B01", top, "2026-11")
    assert not keys.seen_again("B01", top - 1, "2026-10")
    assert not keys.seen_again("B02", top, "2026-11")
    assert not keys.seen_again("B01", dates.month_idx(1990, 1), "1990-01")
    assert keys.seen_again("B01", top, "2026-11")
    assert keys.seen_again("B01", dates.month_idx(1990, 1), "1990-01")
    assert not keys.seen_again("B01", top + 1, "2026-12")  # after as_of: by its text
    assert keys.seen_again("B01", top + 1, "2026-12")
    assert not keys.seen_again("B01", None, "2026-13")
    assert keys.seen_again("B01", None, "2026-13")
    assert not keys.seen_again("B01", None, "2026-14")
