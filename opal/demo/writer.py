"""CSV files and manifest of the export: one streaming writer per table, hashed at the end.

Rows arrive as tuples in EXPORT_TABLES' column order with dates already formatted by ``iso``;
None becomes an empty field. Nothing is held in memory beyond the open files.
"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from opal.casedb.schema import EXPORT_TABLES

SOURCE = "Fachanwendung Kreis Borken"
FORMAT_VERSION = 2
_BASE = date(1900, 1, 1).toordinal()


class DateText:
    """Day number -> ``YYYY-MM-DD`` from a precomputed table (the hot path of the writer)."""

    def __init__(self, last: date) -> None:
        n = last.toordinal() - _BASE + 1
        first = date(1900, 1, 1)
        self._cache = [(first + timedelta(days=i)).isoformat() for i in range(n)]

    def __call__(self, day_no: int | None) -> str | None:
        if day_no is None:
            return None
        return self._cache[day_no - _BASE]


class ExportWriter:
    """Open CSV writers for every export table, row counters and id counters."""

    def __init__(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.out_dir = out_dir
        self._files: dict[str, IO[str]] = {}
        self._writers: dict[str, Any] = {}
        self.rows: dict[str, int] = {}
        self._ids: dict[str, int] = {}
        for spec in EXPORT_TABLES:
            fh = open(out_dir / f"{spec.name}.csv", "w", encoding="utf-8", newline="")
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(spec.column_names)
            self._files[spec.name] = fh
            self._writers[spec.name] = w
            self.rows[spec.name] = 0

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self._writers[table].writerow(row)
        self.rows[table] += 1

    def add_many(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        self._writers[table].writerows(rows)
        self.rows[table] += len(rows)

    def next_id(self, kind: str) -> int:
        n = self._ids.get(kind, 0) + 1
        self._ids[kind] = n
        return n

    def close(self, as_of: date) -> dict[str, Any]:
        """Close every file, write manifest.json and return the manifest."""
        for fh in self._files.values():
            fh.close()
        tables: dict[str, Any] = {}
        for spec in EXPORT_TABLES:
            name = f"{spec.name}.csv"
            digest = _sha256(self.out_dir / name)
            tables[spec.name] = {"file": name, "rows": self.rows[spec.name], "sha256": digest}
        manifest = {
            "format_version": FORMAT_VERSION,
            "source": SOURCE,
            "exported_at": exported_at(as_of),
            "as_of": as_of.isoformat(),
            "tables": tables,
        }
        text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        (self.out_dir / "manifest.json").write_text(text, encoding="utf-8")
        return manifest


def _sha256(path: Path) -> str:
    """Hash in chunks: an nrw contact file is gigabytes and must not be read into memory."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


#: the nightly export runs at this time (UTC) on the day after its data date
EXPORT_TIME = timedelta(hours=1, minutes=30)


def exported_at(as_of: date) -> str:
    """The export runs at 01:30 UTC on the day after its data date."""
    return f"{(as_of + timedelta(days=1)).isoformat()}T01:30:00Z"


def latest_exported_as_of(now: datetime) -> date:
    """The newest data date whose nightly export has already run at ``now`` (aware).

    Between 00:00 and 01:30 UTC yesterday's export has not run yet: the demo then uses the day
    before, so that its ``exported_at`` is never in the future, whatever the time of day.
    """
    return (now.astimezone(UTC) - EXPORT_TIME).date() - timedelta(days=1)
