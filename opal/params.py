"""Report parameters: one parser per type, every bad field collected into one ParameterError."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from opal import dates
from opal.errors import ParameterError
from opal.result import ParamValue

if TYPE_CHECKING:
    from opal.catalogue import ParamDef, ReportDefinition

PARAM_TYPES = ("int", "date", "month", "code", "bool", "staff", "office")
#: names the server fills in; never accepted from a request
RESERVED = ("_as_of", "_viewer", "_staff_id", "_team_id", "_office_id", "_county")
#: arguments the web accepts besides the declared ones
CONTROL_ARGS = ("sort", "desc", "page")
DATE_DEFAULTS = ("as_of", "quarter_start", "quarter_end")
MAX_VALUE_LEN = 200
MAX_NAME_LEN = 40

# The syntax of the typed values, as regular expressions the parsers below match with and the
# OpenAPI description (opal.web.openapi) publishes as ``pattern``: one definition for both.
#: a year 0001-9999 (Python's dates have no year 0)
YEAR = "([0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"
_BY4 = "(0[48]|[2468][048]|[13579][26])"  # two digits divisible by 4 (not 00)
_NOT_BY4 = "(0[1235679]|[2468][1235679]|[13579][01345789])"
_LEAP = f"([0-9]{{2}}{_BY4}|{_BY4}00)"
_COMMON = f"([0-9]{{2}}{_NOT_BY4}|{_NOT_BY4}00)"
INT_PATTERN = "^-?[0-9]{1,10}$"
DATE_PATTERN = f"^{YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
MONTH_PATTERN = f"^{YEAR}-(0[1-9]|1[0-2])$"
#: ``align`` of a date parameter: the first or the last day of a month (leap years included)
ALIGN_PATTERNS = {
    "month_start": f"^{YEAR}-(0[1-9]|1[0-2])-01$",
    "month_end": (f"^({YEAR}-(01|03|05|07|08|10|12)-31|{YEAR}-(04|06|09|11)-30|"
                  f"{_LEAP}-02-29|{_COMMON}-02-28)$"),
}
ALIGN_MESSAGES = {
    "month_start": "Bitte den ersten Tag eines Monats angeben (ganze Monate).",
    "month_end": "Bitte den letzten Tag eines Monats angeben (ganze Monate).",
}
_INT = re.compile(INT_PATTERN)
_DATE = re.compile(DATE_PATTERN)
_MONTH = re.compile(MONTH_PATTERN)
_ALIGN = {name: re.compile(pattern) for name, pattern in ALIGN_PATTERNS.items()}
_OFFICE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
#: an office parameter naming no office of the live generation (checked by the engine)
UNKNOWN_OFFICE = "Diese Dienststelle gibt es nicht."
_TRUE = ("ja", "1", "true")
_FALSE = ("nein", "0", "false")


class Bad(ValueError):
    """One field's problem, in German."""


@dataclass(frozen=True)
class ParsedParams:
    """Validated parameters: bind values for the SQL, display values for the Result."""

    bind: dict[str, Any]
    display: tuple[ParamValue, ...]
    sort: str | None = None
    desc: bool = False
    page: int | None = None


def _int(p: ParamDef, raw: str, as_of: date) -> tuple[Any, Any]:
    if not _INT.fullmatch(raw):
        raise Bad("Bitte eine ganze Zahl angeben.")
    value = int(raw)
    if (p.min is not None and value < p.min) or (p.max is not None and value > p.max):
        raise Bad(f"Bitte eine Zahl von {p.min} bis {p.max} angeben.")
    return value, value


def _date(p: ParamDef, raw: str, as_of: date) -> tuple[Any, Any]:
    try:
        if not _DATE.fullmatch(raw):
            raise ValueError
        value = date.fromisoformat(raw)
    except ValueError:
        raise Bad("Bitte ein Datum im Format JJJJ-MM-TT angeben.") from None
    if p.max_date == "as_of" and value > as_of:
        raise Bad(f"Das Datum darf nicht nach dem Datenstand ({as_of.isoformat()}) liegen.")
    aligned = _ALIGN.get(p.align or "")
    if aligned is not None and not aligned.fullmatch(raw):
        raise Bad(ALIGN_MESSAGES[str(p.align)])
    return dates.day(value), value.isoformat()


def _month(p: ParamDef, raw: str, as_of: date) -> tuple[Any, Any]:
    if not _MONTH.fullmatch(raw):
        raise Bad("Bitte einen Monat im Format JJJJ-MM angeben.")
    idx = dates.month_idx(int(raw[:4]), int(raw[5:7]))
    if dates.month_last(idx) > as_of:
        raise Bad("Der Monat ist noch nicht abgeschlossen: sein letzter Tag liegt nach dem "
                  f"Datenstand ({as_of.isoformat()}).")
    return idx, dates.month_key(idx)


def _code(p: ParamDef, raw: str, as_of: date) -> tuple[Any, Any]:
    if raw not in p.choices:
        raise Bad("Bitte einen dieser Werte angeben: " + ", ".join(p.choices) + ".")
    return raw, raw


def is_office_id(raw: str) -> bool:
    """Whether ``raw`` is shaped like an ``office_id`` (only then is it looked up)."""
    return _OFFICE.fullmatch(raw) is not None


def _office(p: ParamDef, raw: str, as_of: date) -> tuple[Any, Any]:
    """An ``office_id``; the engine checks it exists in the live generation."""
    if not is_office_id(raw):
        raise Bad(UNKNOWN_OFFICE)
    return raw, raw


def _bool(p: ParamDef, raw: str, as_of: date) -> tuple[Any, Any]:
    low = raw.lower()
    if low in _TRUE:
        return 1, True
    if low in _FALSE:
        return 0, False
    raise Bad("Bitte ja oder nein angeben.")


#: what a bad ``staff`` value is told: the same for a foreign, unknown or malformed id, so that
#: the answer never confirms or denies that a staff id exists
BAD_STAFF = "Bitte eine Fallmanagerin oder einen Fallmanager aus der Auswahl angeben."

#: type -> parser(param, raw text, as_of) -> (bind value, display value)
PARSERS: dict[str, Callable[[ParamDef, str, date], tuple[Any, Any]]] = {
    "int": _int, "date": _date, "month": _month, "code": _code, "bool": _bool,
    "office": _office,
}


def default_value(p: ParamDef, as_of: date) -> tuple[Any, Any] | None:
    """Return (bind, display) of ``p``'s default on ``as_of``, or None when it has none."""
    d = p.default
    if d is None:
        return None
    if p.type == "date":
        start, end = dates.latest_complete_quarter(as_of)
        value = {"as_of": as_of, "quarter_start": start, "quarter_end": end}[str(d)]
        return dates.day(value), value.isoformat()
    if p.type == "month":
        idx = dates.latest_complete_month(as_of)
        return idx, dates.month_key(idx)
    if p.type == "bool":
        return (1, True) if d else (0, False)
    return d, d


def safe_name(name: str) -> str:
    """A field name fit to echo in an error: truncated, control characters escaped."""
    return clean_for_log(name, MAX_NAME_LEN)


def clean_for_log(value: str, limit: int) -> str:
    """Truncate to ``limit`` and escape control, format and surrogate characters."""
    out = []
    for ch in value[:limit]:
        if unicodedata.category(ch).startswith("C"):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def _junk(raw: object) -> str | None:
    """Return a message if ``raw`` is not a clean, short, valid UTF-8 text."""
    if isinstance(raw, (list, tuple)):
        return "Bitte diesen Parameter nur einmal angeben."
    if not isinstance(raw, str):
        return "Ungültiger Wert."
    if len(raw) > MAX_VALUE_LEN:
        return f"Der Wert ist zu lang (höchstens {MAX_VALUE_LEN} Zeichen)."
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        return "Der Wert enthält ungültige Zeichen."
    if "\ufffd" in raw or any(unicodedata.category(ch) in ("Cc", "Cf") for ch in raw):
        return "Der Wert enthält ungültige Zeichen."
    return None


def _control(defn: ReportDefinition, args: Mapping[str, str], errors: dict[str, str],
             allow_sort: bool, paged: bool) -> tuple[str | None, bool, int | None]:
    sort: str | None = None
    desc = False
    page: int | None = None
    if not allow_sort:
        return sort, desc, page
    raw_sort = args.get("sort", "")
    if raw_sort:
        if raw_sort in defn.sort:
            sort = raw_sort
        else:
            errors["sort"] = "Nach dieser Spalte kann nicht sortiert werden."
    raw_desc = args.get("desc", "")
    if raw_desc:
        if raw_desc in ("0", "1"):
            desc = raw_desc == "1"
        else:
            errors["desc"] = "Bitte 0 oder 1 angeben."
    raw_page = args.get("page", "")
    if paged and raw_page:
        if _INT.fullmatch(raw_page) and 1 <= int(raw_page) <= 1_000_000:
            page = int(raw_page)
        else:
            errors["page"] = "Bitte eine Seitenzahl ab 1 angeben."
    return sort, desc, page


def parse_params(defn: ReportDefinition, args: Mapping[str, str], as_of: date, *,
                 allow_sort: bool = True, paged: bool = False,
                 staff: Mapping[str, str] | None = None) -> ParsedParams:
    """Validate ``args`` against ``defn``; raise one ParameterError naming every bad field.

    ``allow_sort``: accept ``sort``/``desc``/``page`` (the web); ``opal run`` passes False.
    ``paged``: validate ``page`` (an HTML page); downloads ignore it.
    ``staff``: staff id -> display name a ``staff`` parameter may take (the access module's
    choice for the actor); none given: only the empty value.
    """
    errors: dict[str, str] = {}
    declared = {p.name: p for p in defn.params}
    given: dict[str, str] = {}
    for key in list(args):
        raw = args[key]
        name = safe_name(key) if isinstance(key, str) else "?"
        if not isinstance(key, str) or _junk(key) or key.startswith("_"):
            errors[name] = "Dieser Parameter ist reserviert oder ungültig."
            continue
        if key not in declared and not (allow_sort and key in CONTROL_ARGS):
            errors[name] = "Diesen Parameter gibt es für diesen Bericht nicht."
            continue
        problem = _junk(raw)
        if problem:
            errors[name] = problem
            continue
        if key in declared:
            given[key] = raw.strip()
    ctrl_args = {k: v for k, v in args.items() if k in CONTROL_ARGS and k not in errors
                 and isinstance(v, str) and not _junk(v)}
    sort, desc, page = _control(defn, ctrl_args, errors, allow_sort, paged)
    bind: dict[str, Any] = {}
    display: list[ParamValue] = []
    for p in defn.params:
        if p.name in errors:
            continue
        raw = given.get(p.name, "")
        try:
            if raw and p.type == "staff":
                if raw not in (staff or {}):
                    raise Bad(BAD_STAFF)
                bind[p.name] = raw
                display.append(ParamValue(p.name, p.label, raw, (staff or {})[raw]))
                continue
            if raw:
                b, shown = PARSERS[p.type](p, raw, as_of)
            else:
                found = default_value(p, as_of)
                if found is None and not p.optional:
                    raise Bad("Bitte einen Wert angeben.")
                b, shown = found if found is not None else (
                    ("" if p.type in ("code", "staff", "office") else None), None)
        except Bad as exc:
            errors[p.name] = str(exc)
            continue
        bind[p.name] = b
        display.append(ParamValue(p.name, p.label, shown))
    _check_range(defn, given, bind, errors)
    if errors:
        raise ParameterError(errors)
    return ParsedParams(bind, tuple(display), sort, desc, page)


def _check_range(defn: ReportDefinition, given: Mapping[str, str], bind: Mapping[str, Any],
                 errors: dict[str, str]) -> None:
    rng = defn.date_range
    if rng is None or rng.from_param in errors or rng.to_param in errors:
        return
    has_from, has_to = bool(given.get(rng.from_param)), bool(given.get(rng.to_param))
    if has_from != has_to:
        missing = rng.to_param if has_from else rng.from_param
        errors[missing] = "Bitte beide Daten angeben oder beide leer lassen."
        return
    span = bind[rng.to_param] - bind[rng.from_param]
    if not 0 <= span <= rng.max_days:
        errors[rng.to_param] = (f"Das Enddatum muss zwischen 0 und {rng.max_days} Tagen nach dem "
                                "Anfangsdatum liegen.")
