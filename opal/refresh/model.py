"""Values the refresh passes around: problems, the parsed manifest, results, the live generation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One fault of an export; ``line`` is the physical CSV line (header = 1)."""

    file: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f" line {self.line}"
        if self.column is not None:
            sep = "," if self.line is not None else ""
            where += f"{sep} column {self.column}"
        return f"{where}: {self.message}"


class RefreshError(Exception):
    """A refresh did not publish; the live generation is unchanged."""


class RefreshRejected(RefreshError):
    """The export failed validation; ``problems`` lists every fault found (capped per file)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        """The problems, one per line, as shown to the operator."""
        return "\n".join(str(p) for p in self.problems)


class RefreshBusy(RefreshError):
    """Another refresh holds the lock: two refreshes must never build at once."""


@dataclass(frozen=True)
class ManifestTable:
    file: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """The checked ``manifest.json``; ``raw`` is handed to ``build_derived`` as the spec's dict."""

    format_version: int
    as_of: date
    exported_at: str
    exported_at_dt: datetime
    source: str
    tables: dict[str, ManifestTable]
    raw: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class LiveInfo:
    """The live generation: data date, provenance and (when asked for) row counts per table."""

    as_of: date
    exported_at: str
    built_at: str
    source: str
    counts: dict[str, int] | None = None

    @property
    def published_at(self) -> str:
        """The generation is published seconds after it is built; d_meta stores the build time."""
        return self.built_at


@dataclass(frozen=True)
class RefreshResult:
    """What a successful refresh published."""

    run_id: int
    as_of: date
    exported_at: str
    published_at: datetime
    counts: dict[str, int]
    seconds: float

    @property
    def total_rows(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        """The one line ``opal refresh`` prints on success."""
        return (f"refresh ok: as_of {self.as_of.isoformat()}, {self.total_rows} rows in "
                f"{len(self.counts)} tables, {self.seconds:.1f} s")
