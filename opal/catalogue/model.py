"""The report definitions as frozen, typed objects: what a catalogue holds once loaded."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from opal.disclosure import Disclosure
from opal.result import ColumnDef

KINDS = ("list", "aggregate")
ORIENTATIONS = ("portrait", "landscape")
CODE = re.compile(r"^R[0-9]{2}$")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class CatalogueError(RuntimeError):
    """The catalogue has faults; ``problems`` lists every one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("Report catalogue has faults:\n" + "\n".join(self.problems))


@dataclass(frozen=True)
class ParamDef:
    """One declared report parameter."""

    name: str
    type: str
    label: str
    min: int | None = None
    max: int | None = None
    default: Any = None  # int, code, bool, "as_of"/"quarter_start"/"quarter_end", "latest"
    choices: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()  # optional labels of the choices, same order
    optional: bool = False
    max_date: str | None = None  # date: "as_of" forbids dates after the data date
    align: str | None = None  # date: "month_start" / "month_end" (whole-month windows)


@dataclass(frozen=True)
class DateRange:
    """The cross-field rule of a from/to date pair."""

    from_param: str
    to_param: str
    max_days: int


@dataclass(frozen=True)
class ReportDefinition:
    """One report: what it shows, who may run it, its parameters, columns and SQL."""

    code: str
    title: str
    group: str
    roles: tuple[str, ...]
    formats: tuple[str, ...]
    kind: str
    orientation: str
    sql: str  # the executable SQL (comments removed, literal colons escaped for text())
    sql_source: str  # the file as written
    sql_file: str
    sort: tuple[str, ...]
    help: str
    params: tuple[ParamDef, ...]
    columns: tuple[ColumnDef, ...]
    date_range: DateRange | None = None
    disclosure: Disclosure = field(default_factory=Disclosure)
    #: the text column of the specified row order: the engine orders it the German way
    collate: str | None = None
    #: a hidden text column whose distinct non-empty values are the run's notes (R17: money
    #: missing in a format-1 export)
    notes_from: str | None = None
    #: R17: fill the ``target`` column from the admin's targets (opal.targets) by ``figure``,
    #: for the year of the ``month`` parameter and the ``office`` parameter
    targets: bool = False

    @property
    def visible_columns(self) -> tuple[ColumnDef, ...]:
        return tuple(c for c in self.columns if not c.hidden)

    def param(self, name: str) -> ParamDef:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


#: what ``for_each`` may name: one run per office of the live data, its ``office`` parameter set
FOR_EACH = ("office",)
#: the formats a bundle is made in: one paginated document
BUNDLE_FORMATS = ("pdf",)


@dataclass(frozen=True)
class BundleRun:
    """One entry of a bundle: a report with the parameters the bundle sets (as a request would
    give them), or one run per office of the live data (``for_each = "office"``)."""

    report: str
    params: tuple[tuple[str, str], ...] = ()
    for_each: str | None = None
    label: str = ""  # the table of contents' addition to the report title ("Gesamter Kreis")

    @property
    def set_params(self) -> frozenset[str]:
        """The parameters the bundle fixes for this run (a role that must not set one of them,
        like an office lead's ``office``, cannot run the bundle)."""
        return frozenset(name for name, _ in self.params) | (
            {self.for_each} if self.for_each else set())


@dataclass(frozen=True)
class BundleDefinition:
    """A named list of report runs made into one document (``reports/bundles/<name>.toml``)."""

    name: str
    title: str
    help: str
    runs: tuple[BundleRun, ...]
    #: parameters the caller may give (``month``): passed to every run whose report declares it
    params: tuple[str, ...] = ()

    @property
    def code(self) -> str:
        """What audit rows, subscriptions and deliveries store for it: its name."""
        return self.name


@dataclass
class Catalogue:
    """All loaded definitions by code, plus the problems met while loading them."""

    reports: dict[str, ReportDefinition] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    bundles: dict[str, BundleDefinition] = field(default_factory=dict)

    def get(self, code: str) -> ReportDefinition | None:
        return self.reports.get(code)

    def parts(self, bundle: BundleDefinition) -> list[tuple[ReportDefinition, dict[str, str]]]:
        """Each run's report and the parameters the bundle sets (``for_each``: "" for "each");
        a run of an unknown report is left out (the check names it)."""
        out = []
        for run in bundle.runs:
            defn = self.reports.get(run.report)
            if defn is not None:
                params = dict(run.params)
                if run.for_each:
                    params[run.for_each] = ""
                out.append((defn, params))
        return out

    def __iter__(self) -> Iterator[ReportDefinition]:
        return iter(self.reports[c] for c in sorted(self.reports))

    def __len__(self) -> int:
        return len(self.reports)
