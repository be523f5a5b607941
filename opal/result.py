"""What a report run returns: the one shape every renderer reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final


class _Suppressed:
    """A cell hidden by small-cell suppression: JSON ``null``, ``*`` everywhere else."""

    _instance: _Suppressed | None = None

    def __new__(cls) -> _Suppressed:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "SUPPRESSED"

    def __bool__(self) -> bool:
        return False


SUPPRESSED: Final = _Suppressed()

#: column types a definition may declare
COLUMN_TYPES = ("text", "int", "date", "bool", "decimal")


@dataclass(frozen=True)
class ColumnDef:
    """One output column as declared in the report definition."""

    key: str
    label: str
    type: str = "text"
    decimals: int = 0
    count: bool = False
    compute: str | None = None
    suppress_with: tuple[str, ...] = ()
    hidden: bool = False
    total: bool = False
    #: disclosure kind (opal.disclosure.KINDS); ``count = true`` declares "count"
    disclosure: str | None = None
    #: the count of cases behind this value: suppressed when that count is 1 or 2
    behind: str | None = None
    #: a mean of stocks: how many stocks it averages (the attacker knows n x mean is whole)
    stocks: int | None = None
    #: a hidden int column giving this row's decimal places (R17: counts, means and money in
    #: one column); ``decimals`` is then the most any row has
    places_from: str | None = None

    @property
    def numeric(self) -> bool:
        return self.type in ("int", "decimal")


@dataclass(frozen=True)
class ParamValue:
    """A parameter as run: its name, German label and display value."""

    name: str
    label: str
    value: Any  # JSON-ready: int, str (ISO date, YYYY-MM, code), bool or None
    text: str | None = None  # how people read the value, when not the value itself (a name)


@dataclass(frozen=True)
class Result:
    """A finished, access-checked, suppressed and audited report run."""

    code: str
    title: str
    kind: str  # "list" or "aggregate"
    orientation: str  # "portrait" or "landscape"
    params: tuple[ParamValue, ...]
    columns: tuple[ColumnDef, ...]  # visible columns, in order
    rows: list[dict[str, Any]]  # str | int | Decimal | date | bool | None | SUPPRESSED
    as_of: date
    generated_at: datetime  # aware UTC
    suppressed_cells: int = 0
    sort: str | None = None
    desc: bool = False
    unit: str = ""  # the unit line: case load, team, or county
    notes: tuple[str, ...] = ()  # shown under the table; JSON: a top-level ``notes`` list
    username: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    timezone: str = "Europe/Berlin"  # where people read the times (OPAL_TIMEZONE)

    @property
    def made(self) -> str:
        """When the output was made, in the portal's time zone: ``24.11.2026 07:12 MEZ``."""
        from opal.localtime import format_local

        return format_local(self.generated_at, self.timezone)

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def params_json(self) -> dict[str, Any]:
        return {p.name: p.value for p in self.params}

    def file_stem(self) -> str:
        """A server-made file name stem: no user input reaches it."""
        stamp = self.generated_at.strftime("%Y%m%dT%H%M%SZ")
        return f"OPAL_{self.code}_{self.as_of.isoformat()}_{stamp}"
