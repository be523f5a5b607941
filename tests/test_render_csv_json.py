"""CSV and JSON: exact bytes for hostile names, German cells, formula neutralisation."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from opal.pipeline import run_report
from opal.renderers import get_renderer
from opal.renderers.cells import format_cell, format_number, format_value, safe_text
from opal.result import SUPPRESSED, ColumnDef, ParamValue, Result
from tests.fixtures.engine import EngineWorld

EXPECTED_R91_CSV = (
    "\ufeffKundennummer;Name;Fallmanager/in;Profilgruppe;Letzter Kontakt;Tage seit Kontakt;U25\r\n"
    "K003;'-Minus, Carla;Frau Eins;ohne Profillage;;;ja\r\n"
    "K006;'\tTab, Emil;Frau Eins;B;19.10.2025;400;ja\r\n"
    "K002;'+Plus, Bernd;Frau Eins;B;15.08.2026;100;nein\r\n"
    'K010;"Quote ""Q""; Semi, Jörg Müßig-Äpfel";Frau Eins;C;24.10.2026;30;nein\r\n'
    "K009;'\uff1dVoll\uff1bBreit, Fritz;Frau Eins;A;03.11.2026;20;nein\r\n"
    "K001;'=Summe(A1), Anna;Frau Eins;A;13.11.2026;10;nein\r\n"
    "K004;'@At, Dora;Frau Eins;C;18.11.2026;5;ja\r\n"
).encode()

EXPECTED_R92_CSV = (
    "\ufeffDienststelle;eLb;mit Kontakt;Kontaktquote (%);Mittlere Tage seit Kontakt;"
    "Kosten (EUR)\r\n"
    "Nord;5;*;*;40,0;*\r\n"
    "Ost;0;0;;;0,00\r\n"
    "Süd;*;*;*;*;*\r\n"
    "West;*;0;*;*;*\r\n"
    "Gesamt;8;4;50,0;109,3;2,86\r\n"
    "* anonymisiert (Werte 1 oder 2 oder daraus errechenbar)\r\n"
).encode()


def test_csv_list_exact_bytes(engine_world: EngineWorld) -> None:
    r = run_report(engine_world.ctx, "R91", engine_world.actor("cm1"), {"n_days": "1"}, "csv")
    out = get_renderer("csv").render(r)
    assert out.body == EXPECTED_R91_CSV
    assert out.mimetype == "text/csv; charset=utf-8"
    # title, data date and time made (MEZ) in the file name: nothing above the header row
    assert out.filename == ("OPAL_R91_Testliste-Kunden-ohne-Kontakt_Datenstand-2026-11-23"
                            "_erstellt-2026-11-24_071203_MEZ.csv")


def test_csv_aggregate_suppressed_exact_bytes(engine_world: EngineWorld) -> None:
    r = run_report(engine_world.ctx, "R92", engine_world.actor("ctrl"), {}, "csv")
    assert get_renderer("csv").render(r).body == EXPECTED_R92_CSV


EXPECTED_R92_JSON = {
    "report": "R92", "title": "Testaggregat: Kontaktdichte je Dienststelle",
    "params": {"days": 90}, "as_of": "2026-11-23", "generated_at": "2026-11-24T06:12:03Z",
    "columns": [{"key": "office", "label": "Dienststelle"}, {"key": "elb", "label": "eLb"},
                {"key": "with_contact", "label": "mit Kontakt"},
                {"key": "contact_rate", "label": "Kontaktquote (%)"},
                {"key": "avg_days", "label": "Mittlere Tage seit Kontakt"},
                {"key": "cost", "label": "Kosten (EUR)"}],
    "rows": [
        {"office": "Nord", "elb": 5, "with_contact": None, "contact_rate": None,
         "avg_days": 40.0, "cost": None},
        {"office": "Ost", "elb": 0, "with_contact": 0, "contact_rate": None, "avg_days": None,
         "cost": 0.0},
        {"office": "Süd", "elb": None, "with_contact": None, "contact_rate": None,
         "avg_days": None, "cost": None},
        {"office": "West", "elb": None, "with_contact": 0, "contact_rate": None,
         "avg_days": None, "cost": None},
        {"office": "Gesamt", "elb": 8, "with_contact": 4, "contact_rate": 50.0,
         "avg_days": 109.3, "cost": 2.86}],
    "row_count": 5, "suppressed_cells": 12,
}


def test_json_shape_exact(engine_world: EngineWorld) -> None:
    r = run_report(engine_world.ctx, "R92", engine_world.actor("ctrl"), {}, "json")
    out = get_renderer("json").render(r)
    assert out.mimetype == "application/json"
    text = out.body.decode("utf-8")
    assert json.loads(text) == EXPECTED_R92_JSON
    assert list(json.loads(text)) == list(EXPECTED_R92_JSON)  # key order
    # decimals keep their places; no float formatting anywhere
    assert '"contact_rate": 50.0, "avg_days": 109.3, "cost": 2.86}' in text
    assert '"cost": 0.00}' in text
    assert text.endswith("}\n")


def test_json_list_values_unchanged(engine_world: EngineWorld) -> None:
    r = run_report(engine_world.ctx, "R91", engine_world.actor("cm1"), {"n_days": "1"}, "json")
    doc = json.loads(get_renderer("json").render(r).body)
    assert doc["params"] == {"n_days": 1, "profile_group": None}
    assert doc["rows"][1] == {"customer_no": "K006", "name": "\tTab, Emil",
                              "case_manager": "Frau Eins", "profile_group": "B",
                              "last_contact": "2025-10-19", "days_since_contact": 400,
                              "u25": True}
    assert doc["rows"][0]["last_contact"] is None
    assert [row["name"] for row in doc["rows"]][-2:] == ["=Summe(A1), Anna", "@At, Dora"]


@pytest.mark.parametrize("text,expected", [
    ("=1+2", "'=1+2"), ("+49 30", "'+49 30"), ("-x", "'-x"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("\nx", "'\nx"), ("\uff1dx", "'\uff1dx"),
    ("\uff0bx", "'\uff0bx"), ("\uff0dx", "'\uff0dx"), ("\uff20x", "'\uff20x"),
    ("Müller", "Müller"), ("a=b", "a=b"), ("", ""), ("'=x", "'=x"),
    # blanks first: spreadsheets skip them when they parse (issue 20)
    (" =x", "' =x"), ("   =1+1", "'   =1+1"), (" +49", "' +49"), ("  -x", "'  -x"),
    ("  @x", "'  @x"), ("\u00a0=x", "'\u00a0=x"), ("\u3000\uff1dx", "'\u3000\uff1dx"),
    ("  Müller", "  Müller"), (" a=b", " a=b"), ("   ", "   "),
])
def test_safe_text(text: str, expected: str) -> None:
    assert safe_text(text) == expected


@pytest.mark.parametrize("value,thousands,expected", [
    (0, False, "0"), (1234567, False, "1234567"), (1234567, True, "1.234.567"),
    (-1234, True, "-1.234"), (Decimal("1234.50"), False, "1234,50"),
    (Decimal("1234.50"), True, "1.234,50"), (Decimal("-0.5"), True, "-0,5"),
    (Decimal("12.0"), False, "12,0"),
])
def test_format_number(value: int | Decimal, thousands: bool, expected: str) -> None:
    assert format_number(value, thousands=thousands) == expected


def test_format_values() -> None:
    assert format_value(SUPPRESSED) == "*"
    assert format_value(None) == ""
    assert format_value(True) == "ja" and format_value(False) == "nein"
    assert format_value(date(2026, 1, 2)) == "02.01.2026"
    num = ColumnDef("n", "N", "int")
    txt = ColumnDef("t", "T")
    assert format_cell(num, -5, spreadsheet=True) == "-5"  # numbers stay numbers
    assert format_cell(txt, "-5", spreadsheet=True) == "'-5"
    assert format_cell(txt, "-5") == "-5"


def test_csv_header_first_and_file_name() -> None:
    r = Result(code="R99", title='Titel; mit "Quote"', kind="aggregate", orientation="portrait",
               params=(ParamValue("d", "Datum", "2026-07-01"), ParamValue("b", "Nur U25", True)),
               columns=(ColumnDef("t", "Text"), ColumnDef("v", "Wert", "decimal", decimals=2)),
               rows=[{"t": "a\r\nb", "v": Decimal("-1.50")}], as_of=date(2026, 11, 23),
               generated_at=datetime(2026, 11, 24, 6, 12, 3, tzinfo=UTC))
    out = get_renderer("csv").render(r)
    assert out.body.decode("utf-8") == '\ufeffText;Wert\r\n"a\r\nb";-1,50\r\n'
    assert out.filename == ("OPAL_R99_Titel-mit-Quote_Datenstand-2026-11-23"
                            "_erstellt-2026-11-24_071203_MEZ.csv")
    summer = dataclasses.replace(r, generated_at=datetime(2026, 7, 1, 22, 30, tzinfo=UTC))
    assert get_renderer("csv").render(summer).filename.endswith(
        "_erstellt-2026-07-02_003000_MESZ.csv")


def _many(n: int, decimals: bool = True) -> Result:
    """A list of ``n`` rows: a formula-like, quoted text, a date, an int, a decimal, a flag."""
    columns = (ColumnDef("t", "Text"), ColumnDef("d", "Datum", "date"),
               ColumnDef("n", "Anzahl", "int"), ColumnDef("b", "Aktiv", "bool"))
    if decimals:
        columns += (ColumnDef("v", "Wert", "decimal", decimals=2),)
    rows: list[dict[str, object]] = [
        {"t": f'=x{i}; "q"', "d": date(2026, 1, 1 + i % 28), "n": i, "b": i % 2 == 0,
         "v": Decimal(f"{i}.50")} for i in range(n)]
    return Result(code="R99", title="Viele", kind="list", orientation="portrait", params=(),
                  columns=columns, rows=rows, as_of=date(2026, 11, 23),
                  generated_at=datetime(2026, 11, 24, 6, 12, 3, tzinfo=UTC))


def test_csv_streams_in_batches_that_join_to_the_whole_file() -> None:
    rendered = get_renderer("csv").render(_many(2500))
    chunks = list(rendered.chunks())
    assert len(chunks) == 3  # 1,000 rows per chunk: never the whole file as one string
    assert chunks[0].startswith("\ufeffText;Datum;Anzahl;Aktiv;Wert\r\n".encode())
    expected = (
        "\ufeffText;Datum;Anzahl;Aktiv;Wert\r\n"
        + "".join(f'"\'=x{i}; ""q""";{1 + i % 28:02d}.01.2026;{i};{"nein" if i % 2 else "ja"};'
                  f"{i},50\r\n" for i in range(2500))
    ).encode()
    assert b"".join(chunks) == expected
    assert rendered.body == expected and list(rendered.chunks()) == chunks  # re-iterable


def test_json_streams_in_batches_that_join_to_the_whole_document() -> None:
    rendered = get_renderer("json").render(_many(2500, decimals=False))
    chunks = list(rendered.chunks())
    assert len(chunks) == 4  # the head with 1,000 rows, 1,000, 500, the tail
    body = b"".join(chunks)
    assert body == rendered.body
    # exactly what json.dumps makes of the whole document in one piece
    assert body.decode() == json.dumps(json.loads(body), ensure_ascii=False) + "\n"
    assert json.loads(body)["rows"][2499] == {"t": '=x2499; "q"', "d": "2026-01-08",
                                             "n": 2499, "b": False}
    text = get_renderer("json").render(_many(1001)).body.decode()
    assert '"v": 0.50}' in text and '"v": 1000.50}]' in text  # decimals exact in every batch
    empty = get_renderer("json").render(_many(0)).body.decode()
    assert '"rows": [], "row_count": 0' in empty and empty.endswith("}\n")


def test_json_text_that_looks_like_a_decimal_placeholder_stays_text() -> None:
    """Decimals are spliced in by a placeholder with a token drawn per document: a text cell
    spelling a placeholder (another token, or none) comes out as that text, and a list without
    decimals is plain ``json.dumps``."""
    columns = (ColumnDef("t", "Text"), ColumnDef("v", "Wert", "decimal", decimals=2))
    rows: list[dict[str, object]] = [{"t": "@0123456789abcdef:0@", "v": Decimal("7.50")},
                                     {"t": "@rows@", "v": None}]
    r = Result(code="R99", title="T", kind="list", orientation="portrait", params=(),
               columns=columns, rows=rows, as_of=date(2026, 11, 23),
               generated_at=datetime(2026, 11, 24, 6, 12, 3, tzinfo=UTC))
    body = get_renderer("json").render(r).body.decode()
    assert '"rows": [{"t": "@0123456789abcdef:0@", "v": 7.50}, {"t": "@rows@", "v": null}]' \
        in body
    plain = dataclasses.replace(r, rows=[{"t": "@0123456789abcdef:0@", "v": None}])
    assert json.loads(get_renderer("json").render(plain).body)["rows"] == \
        [{"t": "@0123456789abcdef:0@", "v": None}]


def test_json_rows_in_another_shape_give_the_columns_in_their_order() -> None:
    """Rows the pipeline made (exactly the columns, in order) go to the encoder as they are;
    a row with its keys in another order, a hidden key left in or a key missing gives the same
    document: the columns only, in their order, a missing one null."""
    r = _many(3)
    keys = [c.key for c in r.columns]
    expected = get_renderer("json").render(r).body
    reordered = [dict(reversed(list(row.items()))) | {"hidden": "geheim"} for row in r.rows]
    assert get_renderer("json").render(dataclasses.replace(r, rows=reordered)).body == expected
    missing = [{k: v for k, v in row.items() if k != "v"} for row in r.rows]
    doc = json.loads(get_renderer("json").render(dataclasses.replace(r, rows=missing)).body)
    assert [list(row) for row in doc["rows"]] == [keys] * 3
    assert [row["v"] for row in doc["rows"]] == [None] * 3
    suppressed = [{**row, "n": SUPPRESSED, "d": None} for row in r.rows]
    doc = json.loads(get_renderer("json").render(dataclasses.replace(r, rows=suppressed)).body)
    assert doc["rows"][1] == {"t": '=x1; "q"', "d": None, "n": None, "b": False, "v": 1.5}


def test_json_refuses_a_value_it_has_no_type_for() -> None:
    r = _many(1)
    odd = dataclasses.replace(r, rows=[{**r.rows[0], "n": object()}])
    with pytest.raises(TypeError, match="no JSON value for object"):
        get_renderer("json").render(odd).body  # noqa: B018 - rendering is the point
