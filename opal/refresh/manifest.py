"""The manifest of a nightly export: read and checked before any file is opened."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

from opal.casedb.schema import EXPORT_TABLES, FORMAT_VERSIONS, export_tables
from opal.refresh.model import Manifest, ManifestTable, Problem, RefreshRejected

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_SHA_RE = re.compile(r"[0-9a-f]{64}")
_EXPORTED_AT_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
                             re.ASCII)


#: characters no text field may hold (export-format.md): C0 controls but TAB, DEL, and the bidi
#: embeddings, overrides and isolates that can make a list show a name backwards
FORBIDDEN_TEXT = re.compile("[\x00-\x08\x0a-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def forbidden_char(value: str) -> str | None:
    """Describe the first forbidden character of ``value`` (never the value), or None."""
    found = FORBIDDEN_TEXT.search(value)
    if found is None:
        return None
    return (f"contains the control character U+{ord(found.group()):04X} at position "
            f"{found.start() + 1}")


def show(value: str) -> str:
    """Quote a value for a message: shortened, control characters escaped."""
    text = value if len(value) <= 40 else value[:40] + "..."
    return "'" + "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text) + "'"


def parse_date(raw: str) -> date | None:
    """A real calendar date written exactly ``YYYY-MM-DD``, else None."""
    if len(raw) != 10 or not _DATE_RE.fullmatch(raw):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def parse_exported_at(raw: object) -> datetime | None:
    if not isinstance(raw, str) or not _EXPORTED_AT_RE.fullmatch(raw):
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC)


def read_manifest(export_dir: Path) -> Manifest:
    """Read and check ``manifest.json``; raise RefreshRejected naming every fault."""
    name = "manifest.json"
    path = export_dir / name
    if not export_dir.is_dir():
        raise RefreshRejected([Problem(str(export_dir), None, None, "is not a directory")])
    if not path.is_file():
        raise RefreshRejected([Problem(name, None, None, f"missing in {export_dir}")])
    try:
        raw = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RefreshRejected([Problem(name, None, None, f"is not valid JSON: {exc}")]) from None
    if not isinstance(raw, dict):
        raise RefreshRejected([Problem(name, None, None, "is not a JSON object")])
    problems: list[Problem] = []

    def bad(key: str, message: str) -> None:
        problems.append(Problem(name, None, key, message))

    version = raw.get("format_version")
    if version not in FORMAT_VERSIONS or isinstance(version, bool):
        bad("format_version", f"{json.dumps(version)} is not supported (expected "
                              f"{' or '.join(map(str, FORMAT_VERSIONS))})")
        version = FORMAT_VERSIONS[-1]
    assert isinstance(version, int)
    carried = export_tables(version)
    as_of = parse_date(raw["as_of"]) if isinstance(raw.get("as_of"), str) else None
    if as_of is None:
        bad("as_of", f"{json.dumps(raw.get('as_of'))} is not a date (YYYY-MM-DD)")
    exported = parse_exported_at(raw.get("exported_at"))
    if exported is None:
        bad("exported_at",
            f"{json.dumps(raw.get('exported_at'))} is not a UTC time (YYYY-MM-DDTHH:MM:SSZ)")
    source = raw.get("source", "")
    if not isinstance(source, str):
        bad("source", "is not a string")
        source = ""
    elif forbidden_char(source):
        bad("source", str(forbidden_char(source)))
        source = ""
    tables: dict[str, ManifestTable] = {}
    entries = raw.get("tables")
    if not isinstance(entries, dict):
        bad("tables", "missing or not an object")
        entries = {}
    for unknown in sorted(set(entries) - {t.name for t in carried}):
        later = unknown in {t.name for t in EXPORT_TABLES}
        bad("tables", f"unknown table {show(unknown)}"
            + (f" (not part of format_version {version})" if later else ""))
    for spec in carried:
        entry = entries.get(spec.name)
        key = f"tables.{spec.name}"
        if not isinstance(entry, dict):
            bad(key, "missing")
            continue
        file, rows, sha = entry.get("file"), entry.get("rows"), entry.get("sha256")
        ok = True
        if file != f"{spec.name}.csv":
            bad(key + ".file", f"{json.dumps(file)} is not {spec.name}.csv")
            ok = False
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
            bad(key + ".rows", f"{json.dumps(rows)} is not a row count")
            ok = False
        if not isinstance(sha, str) or not _SHA_RE.fullmatch(sha.lower()):
            bad(key + ".sha256", "is not a sha256 hex digest")
            ok = False
        if ok:
            assert isinstance(file, str) and isinstance(rows, int) and isinstance(sha, str)
            tables[spec.name] = ManifestTable(file, rows, sha.lower())
    if problems:
        raise RefreshRejected(problems)
    assert as_of is not None and exported is not None
    return Manifest(version, as_of, str(raw["exported_at"]), exported, source, tables, raw)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
