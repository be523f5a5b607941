"""German cell formatting shared by CSV, XLSX, PDF and HTML, and spreadsheet formula safety."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from opal.localtime import DEFAULT_ZONE, format_local
from opal.result import SUPPRESSED, ColumnDef, ParamValue, Result

#: a text cell starting with one of these is read as a formula by spreadsheet programs
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
SUPPRESSED_MARK = "*"
#: the explanation wherever a ``*`` is shown (reports.md, "Every output")
SUPPRESSED_LEGEND = "* anonymisiert (Werte 1 oder 2 oder daraus errechenbar)"
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def safe_text(value: str) -> str:
    """Prefix ``'`` to a text that a spreadsheet would run as a formula (ASVS 5.0 1.2.10),
    also behind leading blanks (``"  =1+1"``: spreadsheets skip them when they parse)."""
    if value.startswith(FORMULA_TRIGGERS) or value.lstrip().startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def format_number(value: int | Decimal, *, thousands: bool = False) -> str:
    """German number: decimal comma, ``.`` thousands separator when asked (HTML, PDF)."""
    if isinstance(value, bool):
        raise TypeError("a bool is not a number")
    text = f"{value:,}" if thousands else str(value)
    if isinstance(value, Decimal):
        text = f"{value:,f}" if thousands else f"{value:f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def format_date(value: date) -> str:
    """``TT.MM.JJJJ``."""
    return value.strftime("%d.%m.%Y")


def format_datetime(value: datetime, zone: str = DEFAULT_ZONE) -> str:
    """``TT.MM.JJJJ HH:MM:SS MEZ``: a moment in the portal's time zone."""
    return format_local(value, zone, seconds=True)


def format_bool(value: bool) -> str:
    return "ja" if value else "nein"


def format_value(value: Any, *, thousands: bool = False) -> str:
    """Any cell value as German text; SUPPRESSED is ``*``, None is empty. No neutralisation."""
    if value is SUPPRESSED:
        return SUPPRESSED_MARK
    if value is None:
        return ""
    if isinstance(value, bool):
        return format_bool(value)
    if isinstance(value, (int, Decimal)):
        return format_number(value, thousands=thousands)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return format_date(value)
    return str(value)


def format_cell(col: ColumnDef, value: Any, *, thousands: bool = False,
                spreadsheet: bool = False) -> str:
    """A cell as text; ``spreadsheet`` neutralises formula triggers in text cells."""
    text = format_value(value, thousands=thousands)
    if spreadsheet and isinstance(value, str):
        return safe_text(text)
    return text


def format_param(param: ParamValue) -> str:
    """A parameter's display value: codes by their German label, months as "November 2026",
    dates TT.MM.JJJJ, ja/nein, ``alle`` when left empty."""
    from opal.labels import param_text

    value = param.value
    if value is None:
        return "alle"
    if param.text is not None:
        return param.text
    text = param_text(param)
    if text is not None:
        return text
    if isinstance(value, str) and _ISO_DATE.match(value):
        return format_date(date.fromisoformat(value))
    return format_value(value)


@dataclass(frozen=True)
class Header:
    """The block above every table (HTML, PDF, XLSX): title, unit, parameters, data date, when
    made; the same words in each format."""

    code: str
    title: str
    unit: str
    params: tuple[tuple[str, str], ...]  # (label, shown value)
    as_of: str  # TT.MM.JJJJ
    made: str  # Result.made: the one "Erstellt" format


def header(result: Result) -> Header:
    """The header block of ``result``."""
    return Header(result.code, result.title, result.unit,
                  tuple((p.label, format_param(p)) for p in result.params),
                  format_date(result.as_of), result.made)


#: the label of the sum row, in the first column without a sum
TOTAL_ROW_LABEL = "Summe"


def totals(result: Result) -> list[Any] | None:
    """The sum row of the ``total`` columns (HTML, PDF): per visible column its sum (Decimal for
    a decimal column), SUPPRESSED when any of its cells is, ``Summe`` in the first column
    without a sum, ``""`` elsewhere; None when no column is summed."""
    cols = [c for c in result.columns if not c.hidden]
    if not any(c.total for c in cols):
        return None
    row: list[Any] = ["" for _ in cols]
    for i, col in enumerate(cols):
        if not col.total:
            continue
        values = [r.get(col.key) for r in result.rows]
        if any(v is SUPPRESSED for v in values):
            row[i] = SUPPRESSED
            continue
        numbers = [v for v in values if isinstance(v, int | Decimal) and not isinstance(v, bool)]
        row[i] = sum(numbers, Decimal(0)) if col.type == "decimal" else sum(numbers)
    label_at = next((i for i, c in enumerate(cols) if not c.total), None)
    if label_at is not None:
        row[label_at] = TOTAL_ROW_LABEL
    return row
