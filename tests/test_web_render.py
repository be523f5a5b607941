"""The HTML renderer (table model, German cells, escaping) and odd requests that must not 500."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask.testing import FlaskClient

from opal.renderers import get_renderer
from opal.renderers.html import build_table
from opal.result import SUPPRESSED, ColumnDef, ParamValue, Result

COLUMNS = (ColumnDef("name", "Name"), ColumnDef("since", "Seit", "date"),
           ColumnDef("n", "Anzahl", "int", count=True, total=True),
           ColumnDef("rate", "Quote", "decimal", decimals=1), ColumnDef("flag", "Aktiv", "bool"))


def _result(rows: list[dict[str, object]], kind: str = "list") -> Result:
    return Result(code="R99", title="Test <Liste>", kind=kind, orientation="portrait",
                  params=(ParamValue("n_days", "Tage", 30), ParamValue("pg", "Profillage", None)),
                  columns=COLUMNS, rows=rows, as_of=date(2026, 11, 23),
                  generated_at=datetime(2026, 11, 24, 6, 12, 3, tzinfo=UTC), unit="Team <T1>")


ROWS: list[dict[str, object]] = [
    {"name": "<script>x</script>", "since": date(2026, 2, 1), "n": 1234,
     "rate": Decimal("12.5"), "flag": True},
    {"name": "=SUMME(A1)", "since": None, "n": SUPPRESSED, "rate": SUPPRESSED, "flag": False},
]


def test_standalone_html_formats_german_and_escapes() -> None:
    rendered = get_renderer("html").render(_result(ROWS))
    assert rendered.filename == "OPAL_R99_2026-11-23_20261124T061203Z.html"
    assert rendered.mimetype.startswith("text/html")
    html = rendered.body.decode()
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>" not in html
    assert "Test &lt;Liste&gt;" in html and "Team &lt;T1&gt;" in html
    for text in ("01.02.2026", "1.234", "12,5", ">ja<", ">nein<", ">*<", "23.11.2026",
                 "=SUMME(A1)", "alle"):
        assert text in html, text


def test_table_model_pages_and_totals() -> None:
    rows = [dict(ROWS[0], n=i) for i in range(1, 121)]
    table = build_table(_result(rows), page=3, per_page=50)
    assert (table.page, table.pages, table.first, table.last) == (3, 3, 101, 120)
    assert len(table.rows) == 20 and table.rows[0][2] == ("101", True)
    assert table.totals is not None and table.totals[:3] == ["Summe", "", "7.260"]
    clipped = build_table(_result(rows), page=99, per_page=50)
    assert clipped.page == 3
    suppressed = build_table(_result(ROWS))
    assert suppressed.totals is not None and suppressed.totals[2] == "*"
    # the column's `total` flag decides, whatever the kind (R01 is an aggregate with sums)
    assert build_table(_result(ROWS, kind="aggregate")).totals == ["Summe", "", "*", "", ""]
    empty = build_table(_result([]), per_page=50)
    assert (empty.row_count, empty.pages, empty.first, empty.last) == (0, 1, 0, 0)


def test_sort_links_only_for_whitelisted_columns() -> None:
    result = _result(ROWS)
    table = build_table(result, sortable=("n",), sort_href=lambda k, d: f"?sort={k}&desc={d}")
    assert [h.href for h in table.headers] == [None, None, "?sort=n&desc=False", None, None]


ODD_URLS = [
    "/reports/R02?n_days=%ff%fe", "/reports/R02?n_days=" + "9" * 5000,
    "/reports/R02?n_days=1e3", "/reports/R02?n_days=-0", "/reports/R02?n_days=%00",
    "/reports/R02?profile_group=A%27%20OR%201=1--", "/reports/R02?sort=name%20desc",
    "/reports/R02?desc=yes", "/reports/R02?page=-1", "/reports/R02?page=99999999999",
    "/reports/R02?n_days=30&page=500", "/reports/R02.csv.json", "/reports/.csv",
    "/reports/R02..csv", "/reports/%2e%2e%2fetc", "/reports/R02.pdf?_as_of=1",
    "/reports/R02?%5B%5D=1", "/reports/r02", "/reports/R15", "/reports/R11?month=2099-01",
    "/admin/audit?page=abc&from=2026-13-01", "/login?next=javascript:alert(1)",
]


@pytest.mark.parametrize("url", ODD_URLS)
def test_odd_requests_never_500(role_clients: dict[str, FlaskClient], url: str) -> None:
    client = role_clients["team_lead"]
    response = client.get(url)
    assert response.status_code < 500, response.get_data(True)[-400:]
    assert "Traceback" not in response.get_data(True)
