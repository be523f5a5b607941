"""The catalogue check (``opal check``, the portal's start): every definition rule, then a dry run
of every report on an empty generation; ``load_and_check`` is the gate."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Connection, create_engine, insert, text
from sqlalchemy.pool import StaticPool

from opal import dates
from opal.casedb.schema import d_meta, d_month, metadata
from opal.catalogue.load import load_catalogue, placeholders
from opal.catalogue.model import (
    CODE,
    FOR_EACH,
    KINDS,
    NAME,
    ORIENTATIONS,
    BundleDefinition,
    Catalogue,
    CatalogueError,
)
from opal.catalogue.model import ReportDefinition as Defn
from opal.compute import ComputeError, parse
from opal.disclosure import CELL_KINDS, CONTROLLED_ROLES, kind_of
from opal.disclosure import KINDS as DISCLOSURE_KINDS
from opal.errors import ParameterError
from opal.params import CONTROL_ARGS, DATE_DEFAULTS, PARAM_TYPES, RESERVED, parse_params
from opal.renderers import FORMAT_NAMES
from opal.result import COLUMN_TYPES
from opal.roles import REPORT_KINDS, REPORT_ROLES, ROLES, bundle_roles

#: the data date of the empty generation every report is dry-run against
CHECK_AS_OF = date(2026, 11, 23)
LIST_LEAD = ("customer_no", "name", "case_manager")


def check_definition(d: Defn) -> list[str]:
    """Every static fault of one definition, each prefixed with its code."""
    out: list[str] = []
    if not CODE.fullmatch(d.code):
        out.append(f"code {d.code!r} is not Rnn")
    if not d.title:
        out.append("title is empty")
    if d.kind not in KINDS:
        out.append(f"kind {d.kind!r} is not one of {', '.join(KINDS)}")
    if d.orientation not in ORIENTATIONS:
        out.append(f"orientation {d.orientation!r} is not portrait or landscape")
    if not d.roles:
        out.append("no roles: nobody could run it")
    for role in d.roles:
        if role not in REPORT_ROLES:
            out.append(f"role {role!r} does not exist or may not see case data")
    for role in d.roles:
        if role in REPORT_ROLES and d.kind in REPORT_KINDS and d.kind not in ROLES[role].kinds:
            out.append(f"{role} may not run {REPORT_KINDS[d.kind]}")
    if not d.formats:
        out.append("no formats")
    for fmt in d.formats:
        if fmt not in FORMAT_NAMES:
            out.append(f"format {fmt!r} is not registered")
    if d.collate is not None and not any(c.key == d.collate and c.type == "text"
                                         and not c.hidden for c in d.columns):
        out.append(f"collate {d.collate!r} is not a visible text column")
    out.extend(_check_params(d))
    out.extend(_check_columns(d))
    out.extend(_check_disclosure(d))
    out.extend(_check_placeholders(d))
    return [f"{d.code}: {p}" for p in out]


def _check_params(d: Defn) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for p in d.params:
        where = f"parameter {p.name!r}"
        if not NAME.fullmatch(p.name) or p.name in CONTROL_ARGS or p.name == "format":
            out.append(f"{where}: invalid or reserved name")
        if p.name in seen:
            out.append(f"{where}: declared twice")
        seen.add(p.name)
        if p.type not in PARAM_TYPES:
            out.append(f"{where}: type {p.type!r} is not one of {', '.join(PARAM_TYPES)}")
            continue
        if p.type != "int" and (p.min is not None or p.max is not None):
            out.append(f"{where}: min/max only for int")
        if p.type == "int":
            if not isinstance(p.min, int) or not isinstance(p.max, int) or p.min > p.max:
                out.append(f"{where}: int needs integer min <= max")
            elif p.default is not None and (type(p.default) is not int
                                            or not p.min <= p.default <= p.max):
                out.append(f"{where}: default {p.default!r} outside {p.min}..{p.max}")
        elif p.type == "code":
            if not p.choices:
                out.append(f"{where}: code needs choices")
            if p.default is not None and p.default not in p.choices:
                out.append(f"{where}: default {p.default!r} is not a choice")
            if p.labels and len(p.labels) != len(p.choices):
                out.append(f"{where}: labels and choices differ in length")
        elif p.type == "date":
            if p.default is not None and p.default not in DATE_DEFAULTS:
                out.append(f"{where}: default must be one of {', '.join(DATE_DEFAULTS)}")
            if p.max_date not in (None, "as_of"):
                out.append(f"{where}: max must be \"as_of\"")
            if p.align not in (None, "month_start", "month_end"):
                out.append(f"{where}: align must be \"month_start\" or \"month_end\"")
            if p.align is None and _controlled(d):
                # two runs a day apart would give one person's figures away by difference
                out.append(f"{where}: a window of a controlled report must be whole months "
                           "(align)")
        elif p.type == "month" and p.default not in (None, "latest"):
            out.append(f"{where}: default must be \"latest\"")
        elif p.type == "bool" and p.default is not None and not isinstance(p.default, bool):
            out.append(f"{where}: default must be true or false")
        elif p.type == "staff" and (not p.optional or p.default is not None
                                    or d.kind != "list"):
            out.append(f"{where}: staff is an optional filter of a person list, no default")
    rng = d.date_range
    if rng is not None:
        types = {p.name: p.type for p in d.params}
        for name in (rng.from_param, rng.to_param):
            if types.get(name) != "date":
                out.append(f"date_range: {name!r} is not a date parameter")
        if rng.max_days < 0:
            out.append("date_range: max_days must not be negative")
    return out


def _check_columns(d: Defn) -> list[str]:
    out: list[str] = []
    keys = [c.key for c in d.columns]
    plain = {c.key for c in d.columns if not c.compute}
    visible = [c.key for c in d.columns if not c.hidden]
    text_like = {c.key for c in d.columns if c.type in ("text", "date")}
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        out.append(f"column {key!r} declared twice")
    if not visible:
        out.append("no visible column")
    if d.kind == "list" and tuple(visible[:3]) != LIST_LEAD:
        out.append("a person list starts with customer_no, name, case_manager")
    earlier: set[str] = set()
    for c in d.columns:
        where = f"column {c.key!r}"
        if not NAME.fullmatch(c.key):
            out.append(f"{where}: invalid key")
        if c.type not in COLUMN_TYPES:
            out.append(f"{where}: type {c.type!r} is not one of {', '.join(COLUMN_TYPES)}")
        if not 0 <= c.decimals <= 6 or (c.decimals and c.type != "decimal"):
            out.append(f"{where}: decimals 0..6, only for decimal columns")
        if c.count and c.type != "int":
            out.append(f"{where}: a count column must be int")
        if c.total and not c.numeric:
            out.append(f"{where}: total only for numeric columns")
        # a sum row over cells under disclosure control would reveal them by subtraction:
        # opal.roles.as_seen_by drops ``total`` for every role under disclosure control
        if c.compute is not None:
            if c.type not in ("int", "decimal"):
                out.append(f"{where}: a computed column must be int or decimal")
            try:
                names = parse(str(c.compute)).names
            except ComputeError as exc:
                out.append(f"{where}: compute {c.compute!r}: {exc}")
            else:
                for name in sorted(names - plain - earlier):
                    out.append(f"{where}: compute reads unknown column {name!r}")
                for name in sorted(names & text_like):
                    out.append(f"{where}: compute reads non-numeric column {name!r}")
        for other in c.suppress_with:
            if other not in keys:
                out.append(f"{where}: suppress_with names unknown column {other!r}")
        if c.places_from is not None and (c.places_from not in plain or c.type != "decimal"):
            out.append(f"{where}: places_from must name a column of the SQL (decimal only)")
        earlier.add(c.key)
    if d.notes_from is not None and d.notes_from not in plain:
        out.append(f"notes_from names unknown column {d.notes_from!r}")
    if d.targets and (not {"figure", "target"} <= set(keys)
                      or "month" not in {p.name for p in d.params}):
        out.append("targets needs columns figure and target and a month parameter")
    for key in d.sort:
        if key not in visible:
            out.append(f"sort column {key!r} is not a visible column")
    return out


def _controlled(d: Defn) -> bool:
    return any(r in CONTROLLED_ROLES for r in d.roles)


def _check_disclosure(d: Defn) -> list[str]:
    """Every column's disclosure kind and the declared sums (reports.md, "Disclosure control")."""
    out: list[str] = []
    cols = {c.key: c for c in d.columns}
    visible = {c.key: c for c in d.visible_columns}
    for c in d.columns:
        where = f"column {c.key!r}"
        kind = kind_of(c)
        if c.disclosure is not None and c.disclosure not in DISCLOSURE_KINDS:
            out.append(f"{where}: disclosure {c.disclosure!r} is not one of "
                       + ", ".join(DISCLOSURE_KINDS))
        if c.count and c.disclosure not in (None, "count"):
            out.append(f"{where}: count = true but disclosure {c.disclosure!r}")
        if _controlled(d) and not c.hidden and c.numeric and kind is None:
            out.append(f"{where}: a report under disclosure control declares the disclosure "
                       "kind of every numeric column (" + ", ".join(DISCLOSURE_KINDS) + ")")
        if c.behind is not None:
            behind = cols.get(c.behind)
            if behind is None or kind_of(behind) != "count":
                out.append(f"{where}: behind names no count column ({c.behind!r})")
        if kind == "money" and c.behind is None:
            out.append(f"{where}: a money column names the count of cases behind it (behind)")
        if kind == "mean" and (c.type != "decimal" or c.stocks is None or c.stocks < 1):
            out.append(f"{where}: a mean of stocks is decimal and names its stocks (>= 1)")
        if c.stocks is not None and kind != "mean":
            out.append(f"{where}: stocks only for a mean")
    rules = d.disclosure
    if rules.gesamt and (not d.visible_columns or d.visible_columns[0].type != "text"):
        out.append("disclosure.gesamt: the first column must be text (it says Gesamt)")
    for n, rel in enumerate(rules.sums):
        where = f"disclosure.sums[{n}]"
        keys = (rel.total, *rel.parts)
        if not rel.parts or len(set(keys)) != len(keys):
            out.append(f"{where}: needs parts, each once, none the total")
        kinds = set()
        for key in keys:
            col = visible.get(key)
            if col is None or kind_of(col) not in CELL_KINDS:
                out.append(f"{where}: {key!r} is not a visible count, money or mean column")
            else:
                kinds.add(kind_of(col))
        if len(kinds) > 1:
            out.append(f"{where}: total and parts are of different kinds")
    return out


def _check_placeholders(d: Defn) -> list[str]:
    if not d.sql_source.strip():
        return ["SQL is empty"]
    used = placeholders(d.sql_source)
    declared = {p.name for p in d.params}
    out = [f"SQL placeholder :{n} is neither declared nor reserved"
           for n in sorted(used - declared - set(RESERVED))]
    out += [f"parameter {n!r} is never used in the SQL" for n in sorted(declared - used)]
    return out


def run_on_empty(catalogue: Catalogue, skip: set[str] | frozenset[str] = frozenset()
                 ) -> list[str]:
    """Run every report (but ``skip``, already faulty) with its defaults on an empty
    generation; name each one that fails."""
    engine = create_engine("sqlite://", poolclass=StaticPool)
    out: list[str] = []
    with engine.connect() as conn:
        metadata.create_all(conn)
        conn.execute(insert(d_meta).values(
            as_of=CHECK_AS_OF, as_of_day=dates.day(CHECK_AS_OF),
            exported_at="2026-11-24T01:30:00Z", source="check", format_version=1,
            built_at=datetime(2026, 11, 24, 2, 0, tzinfo=UTC).isoformat()))
        months = range(dates.month_idx(1900, 1), dates.month_of(CHECK_AS_OF) + 1)
        conn.execute(insert(d_month), [
            {"month_idx": m, "month": dates.month_key(m),
             "first_day": dates.day(dates.month_first(m)),
             "last_day": dates.day(dates.month_last(m)), "last_date": dates.month_last(m)}
            for m in months])
        for d in catalogue:
            if d.code in skip:
                continue
            out.extend(f"{d.code}: {p}" for p in _dry_run(conn, d))
    engine.dispose()
    return out


def _dry_run(conn: Connection, d: Defn) -> list[str]:
    try:
        parsed = parse_params(d, {}, CHECK_AS_OF)
    except ParameterError as exc:
        return [f"default parameters are invalid: {exc.errors}"]
    if not d.sql_source.strip():
        return []
    out: list[str] = []
    # every role's scope (case load, team, office, county), as the role table builds it
    scopes = [r.scope("CHECK") for r in ROLES.values() if r.scope is not None]
    needed = [c.key for c in d.columns if not c.compute]
    for scope in scopes:
        binds = {**parsed.bind, **scope, "_as_of": dates.day(CHECK_AS_OF)}
        try:
            result = conn.execute(text(d.sql), binds)
            keys = list(result.keys())
            result.fetchall()
        except Exception as exc:  # report each failing SQL, keep checking the rest
            first = str(exc).splitlines()[0][:200] if str(exc) else exc.__class__.__name__
            out.append(f"SQL fails on an empty generation: {first}")
            break
        missing = [k for k in needed if k not in keys]
        if missing:
            out.append(f"SQL does not return column(s) {', '.join(missing)}")
            break
    return out


def check_catalogue(catalogue: Catalogue) -> list[str]:
    """Return every fault of ``catalogue`` (load faults, definitions, SQL on an empty DB)."""
    problems = list(catalogue.problems)
    faulty: set[str] = set()
    for defn in catalogue:
        found = check_definition(defn)
        if found:
            faulty.add(defn.code)
        problems.extend(found)
    problems.extend(run_on_empty(catalogue, skip=faulty))
    for bundle in catalogue.bundles.values():
        problems.extend(check_bundle(bundle, catalogue))
    return problems


#: a syntactically valid office id: the dry parse of a ``for_each = "office"`` run
_ANY_OFFICE = "X"


def check_bundle(b: BundleDefinition, catalogue: Catalogue) -> list[str]:
    """Every fault of one bundle: unknown reports, parameters the report would refuse (parsed
    as a request on the check's data date), ``for_each``, and a bundle nobody may run."""
    out: list[str] = []
    if not NAME.fullmatch(b.name):
        out.append(f"name {b.name!r} is not lower case letters, digits and _")
    if not b.title:
        out.append("title is empty")
    if not b.runs:
        out.append("no runs")
    for i, run in enumerate(b.runs):
        where = f"runs[{i}] {run.report}"
        defn = catalogue.get(run.report)
        if defn is None:
            out.append(f"{where}: no such report")
            continue
        args = dict(run.params)
        if run.for_each is not None:
            if run.for_each not in FOR_EACH:
                out.append(f"{where}: for_each {run.for_each!r} is not one of "
                           + ", ".join(FOR_EACH))
                continue
            if not any(p.name == run.for_each and p.type == run.for_each for p in defn.params):
                out.append(f"{where}: for_each {run.for_each!r} needs an {run.for_each!r} "
                           "parameter")
                continue
            if run.for_each in args:
                out.append(f"{where}: {run.for_each!r} both in params and for_each")
            args[run.for_each] = _ANY_OFFICE
        if "pdf" not in defn.formats:
            out.append(f"{where}: the report has no PDF")
        try:
            parse_params(defn, args, CHECK_AS_OF, allow_sort=False)
        except ParameterError as exc:
            out.extend(f"{where}: parameter {name!r}: {message}"
                       for name, message in sorted(exc.errors.items()))
    for name in b.params:
        takers = [run for run in b.runs if (d := catalogue.get(run.report)) is not None
                  and any(p.name == name for p in d.params)]
        if not takers:
            out.append(f"params: no run's report declares {name!r}")
        if any(name in run.set_params for run in takers):
            out.append(f"params: {name!r} is also set by a run")
    if b.runs and not out and not bundle_roles(catalogue.parts(b)):
        out.append("no role may run every part")
    return [f"bundle {b.name}: {p}" for p in out]


def load_and_check(reports_dir: Path | None = None, sql_dir: Path | None = None) -> Catalogue:
    """Load the catalogue and raise CatalogueError listing every fault; the portal's gate."""
    catalogue = load_catalogue(reports_dir, sql_dir)
    problems = check_catalogue(catalogue)
    if problems:
        raise CatalogueError(problems)
    return catalogue
