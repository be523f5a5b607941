"""Load ``reports/*.toml`` + ``sql/*.sql`` into a ``Catalogue``; faults met are collected, never
raised (the check reports them all at once)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from opal.catalogue.model import (
    BundleDefinition,
    BundleRun,
    Catalogue,
    DateRange,
    ParamDef,
    ReportDefinition,
)
from opal.disclosure import Disclosure, SumRelation
from opal.resources import resource_dir
from opal.result import ColumnDef

_REPORT_KEYS = {"code", "title", "group", "roles", "formats", "kind", "orientation", "sql",
                "sort", "help", "params", "columns", "date_range", "disclosure", "collate",
                "notes_from", "targets"}
_PARAM_KEYS = {"name", "type", "label", "min", "max", "default", "choices", "labels",
               "optional", "align"}
_COLUMN_KEYS = {"key", "label", "type", "decimals", "count", "compute", "suppress_with",
                "hidden", "total", "disclosure", "behind", "stocks",
                "places_from"}
_BUNDLE_KEYS = {"name", "title", "help", "params", "runs"}
_RUN_KEYS = {"report", "params", "for_each", "label"}
_DISCLOSURE_KEYS = {"gesamt", "sums"}
_SUM_KEYS = {"total", "parts", "derived"}


def default_dirs() -> tuple[Path, Path]:
    """The shipped ``reports/`` and ``sql/`` (in the wheel, or the checkout's top level)."""
    return resource_dir("reports"), resource_dir("sql")


# --------------------------------------------------------------------------- SQL scanning


def split_sql(sql: str) -> tuple[str, str]:
    """Return (code only, executable SQL): comments removed; literals blanked / colon-escaped.

    The first is what placeholders are searched in (Datasette's ``named_parameters``); the second
    is handed to ``text()``, which would otherwise read ``:x`` inside a literal as a bind.
    """
    code: list[str] = []
    exe: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            code.append(" ")
            exe.append(" ")
            i = j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            j = n if j < 0 else j + 2
            code.append(" ")
            exe.append(" ")
            i = j
        elif ch in ("'", '"'):
            j = i + 1
            while j < n:
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            literal = sql[i:j + 1]
            code.append(ch + "x" + ch)
            exe.append(literal.replace(":", "\\:"))
            i = j + 1
        else:
            code.append(ch)
            exe.append(ch)
            i += 1
    return "".join(code), "".join(exe)


_PLACEHOLDER = re.compile(r"(?<![:\w\\]):([A-Za-z_]\w*)(?!:)")


def placeholders(sql: str) -> set[str]:
    """The ``:name`` placeholders outside comments and literals; ``::`` casts are not ones."""
    code, _ = split_sql(sql)
    return set(_PLACEHOLDER.findall(code))


# --------------------------------------------------------------------------- loading


def _tuple(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{where}: expected a list of strings")
        return ()
    return tuple(value)


def _param(raw: Any, where: str, problems: list[str]) -> ParamDef | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a table")
        return None
    for key in sorted(set(raw) - _PARAM_KEYS - {"max"}):
        problems.append(f"{where}: unknown key {key!r}")
    name = str(raw.get("name", ""))
    max_raw = raw.get("max")
    max_date = None
    if raw.get("type") == "date" and max_raw is not None:
        max_date = str(max_raw)
        max_raw = None
    return ParamDef(
        name=name, type=str(raw.get("type", "")), label=str(raw.get("label", name)),
        min=raw.get("min"), max=max_raw, default=raw.get("default"),
        choices=_tuple(raw.get("choices"), where + ".choices", problems),
        labels=_tuple(raw.get("labels"), where + ".labels", problems),
        optional=bool(raw.get("optional", False)), max_date=max_date,
        align=None if raw.get("align") is None else str(raw.get("align")))


def _column(raw: Any, where: str, problems: list[str]) -> ColumnDef | None:
    if not isinstance(raw, dict) or "key" not in raw:
        problems.append(f"{where}: expected a table with a key")
        return None
    for key in sorted(set(raw) - _COLUMN_KEYS):
        problems.append(f"{where}: unknown key {key!r}")
    return ColumnDef(
        key=str(raw["key"]), label=str(raw.get("label", raw["key"])),
        type=str(raw.get("type", "text")), decimals=int(raw.get("decimals", 0)),
        count=bool(raw.get("count", False)) or raw.get("disclosure") == "count",
        compute=raw.get("compute"),
        suppress_with=_tuple(raw.get("suppress_with"), where + ".suppress_with", problems),
        hidden=bool(raw.get("hidden", False)), total=bool(raw.get("total", False)),
        disclosure=("count" if raw.get("count") and raw.get("disclosure") is None
                    else None if raw.get("disclosure") is None else str(raw["disclosure"])),
        behind=None if raw.get("behind") is None else str(raw["behind"]),
        stocks=None if raw.get("stocks") is None else int(raw["stocks"]),
        places_from=None if raw.get("places_from") is None else str(raw["places_from"]))


def _disclosure(raw: Any, where: str, problems: list[str]) -> Disclosure:
    """Read the ``[disclosure]`` table: the Gesamt row and the sums the output shows."""
    if raw is None:
        return Disclosure()
    if not isinstance(raw, dict):
        problems.append(f"{where}: disclosure must be a table")
        return Disclosure()
    for key in sorted(set(raw) - _DISCLOSURE_KEYS):
        problems.append(f"{where}: disclosure: unknown key {key!r}")
    sums: list[SumRelation] = []
    for i, rel in enumerate(raw.get("sums", [])):
        at = f"{where} disclosure.sums[{i}]"
        if not isinstance(rel, dict):
            problems.append(f"{at}: expected a table")
            continue
        for key in sorted(set(rel) - _SUM_KEYS):
            problems.append(f"{at}: unknown key {key!r}")
        sums.append(SumRelation(str(rel.get("total", "")),
                                _tuple(rel.get("parts"), at + ".parts", problems),
                                bool(rel.get("derived", False))))
    return Disclosure(gesamt=bool(raw.get("gesamt", False)), sums=tuple(sums))


def load_definition(path: Path, sql_dir: Path, problems: list[str]) -> ReportDefinition | None:
    """Read one ``Rnn.toml`` and its SQL; append any fault to ``problems``."""
    where = path.name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        problems.append(f"{where}: cannot be read: {exc}")
        return None
    for key in sorted(set(raw) - _REPORT_KEYS):
        problems.append(f"{where}: unknown key {key!r}")
    code = str(raw.get("code", ""))
    if code != path.stem:
        problems.append(f"{where}: code {code!r} does not match the file name")
    for key in ("title", "group", "roles", "formats", "kind", "columns"):
        if key not in raw:
            problems.append(f"{where}: missing {key!r}")
    sql_file = str(raw.get("sql", f"{code}.sql"))
    sql_path = sql_dir / sql_file
    if Path(sql_file).name != sql_file:
        problems.append(f"{where}: sql must be a file name in sql/")
        sql_text = ""
    else:
        try:
            sql_text = sql_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{where}: SQL file {sql_file} cannot be read: "
                            f"{exc.__class__.__name__}")
            sql_text = ""
    params = [_param(p, f"{where} params[{i}]", problems)
              for i, p in enumerate(raw.get("params", []))]
    columns = [_column(c, f"{where} columns[{i}]", problems)
               for i, c in enumerate(raw.get("columns", []))]
    rng = raw.get("date_range")
    date_range = None
    if isinstance(rng, dict):
        date_range = DateRange(str(rng.get("from", "")), str(rng.get("to", "")),
                               int(rng.get("max_days", 0)))
    elif rng is not None:
        problems.append(f"{where}: date_range must be a table")
    return ReportDefinition(
        code=code, title=str(raw.get("title", "")), group=str(raw.get("group", "")),
        roles=_tuple(raw.get("roles"), f"{where} roles", problems),
        formats=_tuple(raw.get("formats"), f"{where} formats", problems),
        kind=str(raw.get("kind", "")), orientation=str(raw.get("orientation", "portrait")),
        sql=split_sql(sql_text)[1], sql_source=sql_text, sql_file=sql_file,
        sort=_tuple(raw.get("sort"), f"{where} sort", problems), help=str(raw.get("help", "")),
        params=tuple(p for p in params if p is not None),
        columns=tuple(c for c in columns if c is not None), date_range=date_range,
        disclosure=_disclosure(raw.get("disclosure"), where, problems),
        collate=str(raw["collate"]) if raw.get("collate") is not None else None,
        notes_from=raw.get("notes_from"), targets=bool(raw.get("targets", False)))


def load_catalogue(reports_dir: Path | None = None, sql_dir: Path | None = None) -> Catalogue:
    """Load every definition; faults met on the way land in ``Catalogue.problems``."""
    default_reports, default_sql = default_dirs()
    reports_dir = reports_dir or default_reports
    sql_dir = sql_dir or default_sql
    cat = Catalogue()
    if not reports_dir.is_dir():
        cat.problems.append(f"{reports_dir}: no reports directory")
        return cat
    for path in sorted(reports_dir.glob("*.toml")):
        defn = load_definition(path, sql_dir, cat.problems)
        if defn is None:
            continue
        if defn.code in cat.reports:
            cat.problems.append(f"{path.name}: code {defn.code} defined twice")
        cat.reports[defn.code] = defn
    bundles_dir = reports_dir / "bundles"
    if bundles_dir.is_dir():
        for path in sorted(bundles_dir.glob("*.toml")):
            bundle = load_bundle(path, cat.problems)
            if bundle is not None:
                cat.bundles[bundle.name] = bundle
    return cat


def _arg(value: Any) -> str | None:
    """A TOML parameter value as a request would give it (``true`` -> "1"); None if no scalar."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | str):
        return str(value)
    return None


def _run(raw: Any, where: str, problems: list[str]) -> BundleRun | None:
    """Read one ``[[runs]]`` entry of a bundle."""
    if not isinstance(raw, dict) or not isinstance(raw.get("report"), str):
        problems.append(f"{where}: expected a table with a report code")
        return None
    for key in sorted(set(raw) - _RUN_KEYS):
        problems.append(f"{where}: unknown key {key!r}")
    params = raw.get("params", {})
    if not isinstance(params, dict):
        problems.append(f"{where}: params must be a table")
        params = {}
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        arg = _arg(value)
        if arg is None:
            problems.append(f"{where}: parameter {name!r} must be a string, number or boolean")
            continue
        pairs.append((str(name), arg))
    for_each = raw.get("for_each")
    return BundleRun(report=raw["report"], params=tuple(pairs),
                     for_each=None if for_each is None else str(for_each),
                     label=str(raw.get("label", "")))


def load_bundle(path: Path, problems: list[str]) -> BundleDefinition | None:
    """Read one ``bundles/<name>.toml``; append any fault to ``problems``."""
    where = f"bundles/{path.name}"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        problems.append(f"{where}: cannot be read: {exc}")
        return None
    for key in sorted(set(raw) - _BUNDLE_KEYS):
        problems.append(f"{where}: unknown key {key!r}")
    name = str(raw.get("name", ""))
    if name != path.stem:
        problems.append(f"{where}: name {name!r} does not match the file name")
    runs_raw = raw.get("runs", [])
    if not isinstance(runs_raw, list):
        problems.append(f"{where}: runs must be a list of tables")
        runs_raw = []
    runs = [_run(r, f"{where} runs[{i}]", problems) for i, r in enumerate(runs_raw)]
    return BundleDefinition(
        name=name, title=str(raw.get("title", "")), help=str(raw.get("help", "")),
        runs=tuple(r for r in runs if r is not None),
        params=_tuple(raw.get("params"), f"{where} params", problems))
