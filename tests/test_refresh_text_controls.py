"""Text fields with control or bidi characters are refused at refresh, naming file, line and
column (export-format.md); formula triggers behind leading blanks are neutralised in CSV/XLSX.

Issue 20, point 6: the refresh accepted ``\\x1b[31m``, ``\\x01`` and U+202E in names, and CSV and
HTML passed them on (a right-to-left override can make a list lie about a name).
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from config import Config
from opal.refresh import RefreshRejected, refresh
from opal.renderers import get_renderer
from opal.result import ColumnDef, Result
from tests.fixtures.exports import (
    live_snapshot,
    read_rows,
    set_cell,
    update_manifest,
    write_export,
    write_raw,
)

#: every forbidden class: C0 (but TAB), DEL, LRE/RLE/PDF/LRO/RLO, LRI/RLI/FSI/PDI
FORBIDDEN = ["\x00", "\x01", "\x08", "\n", "\x0b", "\r", "\x1b", "\x1f", "\x7f", "\u202a",
             "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
#: allowed: TAB, C1 and other format characters the rule does not name, ordinary text
ALLOWED = ["\t", "\u200e", "\u00a0", "ß", "\u0085"]


@pytest.fixture
def live(config: Config, tmp_path: Path) -> tuple[Any, ...]:
    refresh(config, write_export(tmp_path / "good"))
    snap = live_snapshot(config)
    assert snap is not None
    return snap


def _reject(config: Config, directory: Path, live: tuple[Any, ...]) -> list[str]:
    with pytest.raises(RefreshRejected) as info:
        refresh(config, directory)
    assert live_snapshot(config) == live
    return str(info.value).splitlines()


@pytest.mark.parametrize("char", FORBIDDEN, ids=lambda c: f"U+{ord(c):04X}")
def test_a_control_character_in_a_name_is_refused(config: Config, tmp_path: Path,
                                                  live: tuple[Any, ...], char: str) -> None:
    bad = write_export(tmp_path / "bad")
    line = _set_quoted(bad, "person", 2, "last_name", f"Ha{char}rtmann")
    lines = _reject(config, bad, live)
    wanted = (f"person.csv line {line}, column last_name: contains the control character "
              f"U+{ord(char):04X} at position 3")
    assert wanted in lines, lines
    assert not [x for x in lines if "rtmann" in x]  # a name is never shown


def test_every_text_field_is_checked(config: Config, tmp_path: Path,
                                     live: tuple[Any, ...]) -> None:
    bad = write_export(tmp_path / "bad")
    cells = [("office", 0, "name", "Jobcenter \u202eNord"),
             ("staff", 1, "display_name", "\x1b[31mRot"),
             ("person", 0, "first_name", "Eva\u2066"),
             ("measure_participation", 0, "provider", "Tr\x01ger"),
             ("person", 4, "customer_no", "K\x7f05")]
    lines = _reject_after(config, bad, live, cells)
    assert "office.csv line 2, column name: contains the control character U+202E at " \
           "position 11" in lines
    assert "staff.csv line 3, column display_name: contains the control character U+001B at " \
           "position 1" in lines
    assert "person.csv line 2, column first_name: contains the control character U+2066 at " \
           "position 4" in lines
    assert "measure_participation.csv line 2, column provider: contains the control " \
           "character U+0001 at position 3" in lines
    assert "person.csv line 6, column customer_no: contains the control character U+007F at " \
           "position 2" in lines


def _set_quoted(directory: Path, table: str, index: int, column: str, value: str) -> int:
    """Like ``set_cell``, every field quoted (a CR or LF stays inside its field)."""
    import csv

    rows = read_rows(directory, table)
    rows[index][column] = value
    buf = io.StringIO()
    writer = csv.DictWriter(buf, list(rows[0]), lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writeheader()
    writer.writerows(rows)
    write_raw(directory, table, buf.getvalue())
    return index + 2


def _reject_after(config: Config, bad: Path, live: tuple[Any, ...],
                  cells: list[tuple[str, int, str, str]]) -> list[str]:
    for table, index, column, value in cells:
        set_cell(bad, table, index, column, value)
    return _reject(config, bad, live)


def test_the_manifest_source_is_checked(config: Config, tmp_path: Path,
                                        live: tuple[Any, ...]) -> None:
    bad = write_export(tmp_path / "bad")
    update_manifest(bad, source="Fachanwendung\x1b[2J")
    lines = _reject(config, bad, live)
    assert ("manifest.json column source: contains the control character U+001B at "
            "position 14") in lines, lines


@pytest.mark.parametrize("char", ALLOWED, ids=lambda c: f"U+{ord(c):04X}")
def test_tab_and_other_characters_are_accepted(sqlite_config: Config, tmp_path: Path,
                                               char: str) -> None:
    good = write_export(tmp_path / "good")
    set_cell(good, "person", 2, "last_name", f"Ha{char}rtmann")
    refresh(sqlite_config, good)


# --------------------------------------------------------------------------------------------
# formula triggers behind blanks, in the files a spreadsheet opens
# --------------------------------------------------------------------------------------------

NAMES = ["  =HYPERLINK(\"http://x\")", " +49 30", "\u00a0-1", "   @SUM(A1)", "  Müller"]
EXPECTED = ["'  =HYPERLINK(\"http://x\")", "' +49 30", "'\u00a0-1", "'   @SUM(A1)", "  Müller"]


def _names_result() -> Result:
    return Result(code="R99", title="Namen", kind="list", orientation="portrait", params=(),
                  columns=(ColumnDef("name", "Name"), ColumnDef("n", "Anzahl", "int")),
                  rows=[{"name": name, "n": -i} for i, name in enumerate(NAMES)],
                  as_of=date(2026, 11, 23),
                  generated_at=datetime(2026, 11, 24, 6, 12, 3, tzinfo=UTC))


def test_csv_neutralises_triggers_behind_blanks() -> None:
    import csv

    body = get_renderer("csv").render(_names_result()).body.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(body, newline=""), delimiter=";"))
    assert table[0] == ["Name", "Anzahl"]
    assert table[1:len(NAMES) + 1] == [[want, str(-i)] for i, want in enumerate(EXPECTED)]


def test_xlsx_neutralises_triggers_behind_blanks() -> None:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(get_renderer("xlsx").render(_names_result()).body))
    values = [r for ws in book.worksheets for r in ws.iter_rows(values_only=True)]
    body = values[values.index(("Name", "Anzahl")) + 1:]
    assert body == [(want, -i) for i, want in enumerate(EXPECTED)]
