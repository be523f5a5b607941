"""Validation of a nightly export: the manifest, then every file row by row while it is loaded.

Rows are checked and converted to the case DB's stored form in one pass (``TableReader``); only
a row without any fault is yielded, so the loader never sees a value the database could refuse.
Every fault is collected (capped per file) so the operator sees all of them at once. Values of
``personal`` columns (names) never appear in a message.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from opal import dates
from opal.casedb.schema import EXPORT_TABLES, ExportColumn, ExportTable
from opal.refresh.manifest import (
    FORBIDDEN_TEXT,
    file_sha256,
    forbidden_char,
    parse_date,
    show,
)
from opal.refresh.model import ManifestTable, Problem, RefreshRejected

__all__ = ["ProblemLog", "TableReader", "show"]

#: problems listed per file before "... and N more"
MAX_PER_FILE = 20
#: longest text value (the DDL's String(200))
MAX_TEXT = 200

#: (table, from column, to column): a period may not end before it starts
ORDER_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "benefit_unit": (("start_date", "end_date"),),
    "stand_in": (("from_date", "to_date"),),
    "benefit_spell": (("from_date", "to_date"),),
    "unemployment_spell": (("from_date", "to_date"),),
    "integration_plan": (("signed_date", "end_date"),),
    "measure_participation": (("entry_date", "exit_date"),),
    "employment_spell": (("start_date", "end_date"),),
}
#: dates of things that happened: not after as_of (contact_date: unless the contact is OFFEN)
HAPPENED: dict[str, tuple[str, ...]] = {
    "benefit_spell": ("from_date",),
    "unemployment_spell": ("from_date",),
    "employment_spell": ("start_date",),
    "measure_participation": ("entry_date", "exit_date"),
    "integration_plan": ("signed_date",),
    "contact": ("contact_date",),
}

#: ``table.column`` keys that other tables refer to: the only key sets kept across files
REFERENCED = frozenset(c.ref for t in EXPORT_TABLES for c in t.columns if c.ref)

#: months of things that happened: not after the month of as_of
MONTH_HAPPENED: dict[str, tuple[str, ...]] = {
    "benefit_payment": ("month",),
}

_DECIMAL_RE = re.compile(r"-?\d+(\.\d+)?", re.ASCII)
_MONTH_RE = re.compile(r"\d{4}-(0[1-9]|1[0-2])", re.ASCII)
_COUNTRY_RE = re.compile(r"[A-Z]{2}")


class ProblemLog:
    """Collects problems, keeping at most ``MAX_PER_FILE`` per file and counting the rest."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.total = 0
        self._per_file: dict[str, int] = {}

    def add(self, file: str, line: int | None, column: str | None, message: str) -> None:
        self.total += 1
        n = self._per_file.get(file, 0) + 1
        self._per_file[file] = n
        if n <= MAX_PER_FILE:
            self.problems.append(Problem(file, line, column, message))

    def extend(self, problems: list[Problem]) -> None:
        for p in problems:
            self.add(p.file, p.line, p.column, p.message)

    def merge(self, other: ProblemLog) -> None:
        """Add what ``other`` (a worker process's log) collected, its counts beyond the cap too."""
        kept: dict[str, int] = {}
        for p in other.problems:
            self.add(p.file, p.line, p.column, p.message)
            kept[p.file] = kept.get(p.file, 0) + 1
        for file, n in other._per_file.items():
            rest = n - kept.get(file, 0)
            self.total += rest
            self._per_file[file] = self._per_file.get(file, 0) + rest

    def listing(self) -> list[Problem]:
        """The kept problems, each capped file followed by its "... and N more" line."""
        out: list[Problem] = []
        for p in self.problems:
            out.append(p)
        for file, n in self._per_file.items():
            if n > MAX_PER_FILE:
                last = max(i for i, p in enumerate(out) if p.file == file)
                out.insert(last + 1, Problem(file, None, None,
                                             f"... and {n - MAX_PER_FILE} more problems"))
        return out

    def raise_if_any(self) -> None:
        if self.total:
            raise RefreshRejected(self.listing())


class _Bad(Exception):
    """A cell's fault; ``safe``: the message quotes nothing of the value (shown even for
    names); otherwise a personal column's fault shows only "ungültig"."""

    def __init__(self, message: str, *, safe: bool = False) -> None:
        super().__init__(message)
        self.safe = safe



Converter = Callable[[str], Any]


def _scaled_bound(bound: float, factor: Decimal) -> int | Decimal:
    """A bound in stored units: an int where exact (int comparisons are fast), else Decimal."""
    scaled = Decimal(str(bound)) * factor
    return int(scaled) if scaled == scaled.to_integral_value() else scaled


class MonthKeys:
    """The (id, month) keys of a file seen so far, as one bitmask of months per id (bit n: n
    months before as_of's month): benefit_payment's 94 M keys at nrw took about 10 GB as
    joined strings. A month that is no valid month up to as_of (already a fault of its row)
    falls back to the joined string."""

    def __init__(self, as_of_month: int) -> None:
        self.top = as_of_month
        self.masks: dict[str, int] = {}
        self.other: set[str] = set()

    def seen_again(self, ident: str, month_idx: int | None, raw_month: str) -> bool:
        """Record the key; True if it was recorded before."""
        if month_idx is None or month_idx > self.top:
            key = ident + "\x1f" + raw_month
            if key in self.other:
                return True
            self.other.add(key)
            return False
        bit = 1 << (self.top - month_idx)
        mask = self.masks.get(ident, 0)
        if mask & bit:
            return True
        self.masks[ident] = mask | bit
        return False


def _converter(col: ExportColumn, date_cache: dict[str, tuple[str, int]]) -> Converter:
    """Return a function turning a non-empty cell into its stored value (raising _Bad)."""
    if col.kind == "code":
        codes = frozenset(col.codes)

        def code(raw: str) -> str:
            if raw not in codes:
                raise _Bad(f"{show(raw)} is not a valid code ({', '.join(col.codes)})")
            return raw
        return code
    if col.kind == "date":
        def to_date(raw: str) -> tuple[str, int]:
            # stored as its ISO text (what SQLite's date adapter would write, and what COPY
            # reads): adapting a date object per cell cost 3 % of a kreis refresh
            d = date_cache.get(raw)
            if d is None:
                parsed = parse_date(raw)
                if parsed is None:
                    raise _Bad(f"{show(raw)} is not a date (YYYY-MM-DD)")
                d = date_cache[raw] = (parsed.isoformat(), dates.day(parsed))
            return d
        return to_date
    if col.kind == "month":
        def month(raw: str) -> tuple[str, int]:
            if not _MONTH_RE.fullmatch(raw):
                raise _Bad(f"{show(raw)} is not a month (YYYY-MM)")
            return raw, int(raw[:4]) * 12 + int(raw[5:]) - 1
        return month
    if col.kind == "bool":
        def boolean(raw: str) -> int:
            if raw == "1":
                return 1
            if raw == "0":
                return 0
            raise _Bad(f"{show(raw)} is not a boolean (0 or 1)")
        return boolean
    if col.kind == "decimal":
        factor = Decimal(10) ** col.scale
        scale = col.scale
        unit = 10 ** scale
        pad = [10 ** (scale - n) for n in range(scale + 1)]  # by the number of places given
        low = None if col.min is None else _scaled_bound(col.min, factor)
        high = None if col.max is None else _scaled_bound(col.max, factor)

        def decimal(raw: str) -> int:
            # the common case without Decimal or a pattern (two money cells per payment row,
            # 94 M rows at nrw): ASCII digits, at most ``scale`` places, within the bounds
            whole, dot, frac = raw.partition(".")
            if raw.isascii() and whole.isdigit() and (
                    not dot or frac.isdigit() and len(frac) <= scale):
                value_int: int = int(whole) * unit + (int(frac) * pad[len(frac)] if frac
                                                      else 0)
                if (low is None or value_int >= low) and (high is None or value_int <= high):
                    return value_int
            # the rest (a sign, too many places, out of range, not a number): exact messages
            if not _DECIMAL_RE.fullmatch(raw):
                raise _Bad(f"{show(raw)} is not a decimal number (e.g. 0.5)")
            places = len(raw) - raw.index(".") - 1 if "." in raw else 0
            if places > col.scale:
                raise _Bad(f"{show(raw)} has more than {col.scale} decimals")
            try:
                value = Decimal(raw)
            except InvalidOperation:  # pragma: no cover - the pattern already excludes it
                raise _Bad(f"{show(raw)} is not a decimal number") from None
            if col.min is not None and value < Decimal(str(col.min)):
                raise _Bad(f"{show(raw)} is below the minimum {col.min:g}")
            if col.max is not None and value > Decimal(str(col.max)):
                raise _Bad(f"{show(raw)} is above the maximum {col.max:g}")
            return int(value * factor)
        return decimal
    if col.kind == "country":
        def country(raw: str) -> str:
            if not _COUNTRY_RE.fullmatch(raw):
                raise _Bad(f"{show(raw)} is not a country code (two upper-case letters)")
            return raw
        return country

    def text(raw: str) -> str:
        if len(raw) > MAX_TEXT:
            shown = "ungültig" if col.personal else show(raw)
            raise _Bad(f"{shown}: longer than {MAX_TEXT} characters")
        problem = forbidden_char(raw)
        if problem:
            raise _Bad(problem, safe=True)
        return raw
    return text


#: 0 text, 1 code, 2 date (value and day number), 3 anything else, 4 month (value and index)
_MODES = {"id": 0, "text": 0, "code": 1, "date": 2, "month": 4}
_WIDE = (2, 4)  # modes stored in two columns


class TableReader:
    """Check one export file and yield its rows in the stored column order of the base table.

    ``keys`` maps ``table.column`` to the set of key values seen so far, so that references to
    earlier tables resolve (EXPORT_TABLES lists referenced tables first).
    """

    def __init__(self, export_dir: Path, spec: ExportTable, entry: ManifestTable, as_of: date,
                 keys: dict[str, set[str]], log: ProblemLog) -> None:
        self.path = export_dir / entry.file
        self.spec = spec
        self.entry = entry
        self.as_of_day = dates.day(as_of)
        self.keys = keys
        self.log = log
        self.rows_read = 0
        self.file = entry.file
        self._date_cache: dict[str, tuple[str, int]] = {}

    def _header(self, header: list[str]) -> list[int] | None:
        """Return the file position of every spec column, or None after logging the faults."""
        names = self.spec.column_names
        ok = True
        if header and header[0].startswith("\ufeff"):
            self.log.add(self.file, 1, None, "starts with a byte order mark (UTF-8 without BOM)")
            return None
        seen: set[str] = set()
        for name in header:
            if name in seen:
                self.log.add(self.file, 1, name, "column appears twice in the header")
                ok = False
            seen.add(name)
            if name not in names:
                self.log.add(self.file, 1, name or "(empty)",
                             f"unknown column {show(name)} (expected {', '.join(names)})")
                ok = False
        for name in names:
            if name not in seen:
                self.log.add(self.file, 1, name, "column missing from the header")
                ok = False
        return [header.index(n) for n in names] if ok else None

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """Yield every faultless row (stored form); log the faults of the others."""
        if not self.path.is_file():
            self.log.add(self.file, None, None, "file missing")
            return
        if file_sha256(self.path) != self.entry.sha256:
            self.log.add(self.file, None, None, "sha256 does not match the manifest")
        try:
            with self.path.open(encoding="utf-8", newline="") as fh:
                yield from self._rows(csv.reader(fh, strict=True))
        except UnicodeDecodeError as exc:
            self.log.add(self.file, None, None, f"is not valid UTF-8 ({exc.reason})")
            return
        if self.rows_read != self.entry.rows:
            self.log.add(self.file, None, None, f"has {self.rows_read} data rows, the manifest "
                                                f"says {self.entry.rows}")

    def _rows(self, reader: Any) -> Iterator[tuple[Any, ...]]:
        spec, log, file = self.spec, self.log, self.file
        skipped = False  # a row was unreadable: its key is unknown
        try:
            header = next(reader)
        except StopIteration:
            log.add(file, 1, None, "is empty (no header line)")
            return
        except csv.Error as exc:
            log.add(file, 1, None, f"is not valid CSV: {exc}")
            return
        positions = self._header(header)
        if positions is None:
            return
        width = len(header)
        cols = list(zip(spec.columns, positions, strict=True))
        cache = self._date_cache
        months: dict[str, tuple[str, int]] = {}  # a valid month's stored pair
        # per column: (position, mode, check set, converter, column); mode 0 text, 1 code,
        # 2 date, 3 anything else (the converter is only called when the fast path fails)
        cells = [(pos, _MODES.get(c.kind, 3), frozenset(c.codes), _converter(c, cache), c)
                 for c, pos in cols]
        stored_idx: dict[str, int] = {}  # export column -> index of its value (date: day)
        i = 0
        for c in spec.columns:
            if c.kind in ("date", "month"):
                stored_idx[c.name] = i + 1
                i += 2
            else:
                stored_idx[c.name] = i
                i += 1
        key_pos = [header.index(k) for k in spec.key]
        key_seen: set[Any] = set()
        key_one, key_two = len(key_pos) == 1, len(key_pos) == 2
        as_of_month = dates.month_of(dates.from_day(self.as_of_day))
        kinds = {c.name: c.kind for c in spec.columns}
        month_keys = (MonthKeys(as_of_month) if key_two and kinds[spec.key[1]] == "month"
                      else None)
        month_at = stored_idx[spec.key[1]] if month_keys is not None else -1
        keep_keys = f"{spec.name}.{spec.key[0]}" if len(spec.key) == 1 else None
        if keep_keys not in REFERENCED:
            keep_keys = None  # nothing refers to this table: its keys die with the file
        # a referenced file that could not be read was reported already: no echo per row here
        refs = [(c.name, pos, self.keys[c.ref], c.ref) for c, pos in cols
                if c.ref and c.ref in self.keys]
        order = [(stored_idx[a], stored_idx[b], a, b) for a, b in ORDER_RULES.get(spec.name, ())]
        happened = [(stored_idx[c], c, header.index(c)) for c in HAPPENED.get(spec.name, ())]
        month_happened = [(stored_idx[c], c, header.index(c))
                          for c in MONTH_HAPPENED.get(spec.name, ())]
        outcome_pos = header.index("outcome") if spec.name == "contact" else -1
        plan = spec.name == "integration_plan"
        status_pos = header.index("status") if plan else -1
        review_pos = header.index("next_review_date") if plan else -1
        participation = spec.name == "measure_participation"
        as_of_day = self.as_of_day
        forbidden = FORBIDDEN_TEXT.search
        line = 1
        while True:
            start = reader.line_num + 1
            try:
                raw = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                log.add(file, start, None, f"is not valid CSV (record starting here): {exc}")
                return
            line = start
            self.rows_read += 1
            if len(raw) != width:
                log.add(file, line, None, f"has {len(raw)} fields, the header has {width}")
                skipped = True
                continue
            out: list[Any] = []
            for pos, mode, codes, conv, col in cells:
                value = raw[pos]
                if value == "":
                    if not col.nullable:
                        log.add(file, line, col.name, "leer (required)")
                    out.append(None)
                    if mode in _WIDE:
                        out.append(None)
                    continue
                if mode == 1 and value in codes or (mode == 0 and len(value) <= MAX_TEXT
                                                    and not forbidden(value)):
                    out.append(value)
                    continue
                if mode == 2:
                    cached = cache.get(value)
                    if cached is not None:
                        out.extend(cached)
                        continue
                elif mode == 4:
                    pair = months.get(value)
                    if pair is not None:
                        out.extend(pair)
                        continue
                try:
                    converted = conv(value)
                except _Bad as exc:
                    log.add(file, line, col.name,
                            str(exc) if exc.safe or not col.personal else "ungültig")
                    out.append(None)
                    if mode in _WIDE:
                        out.append(None)
                    continue
                if mode in _WIDE:
                    out.extend(converted)
                    if mode == 4:
                        months[value] = converted
                else:
                    out.append(converted)
            # a composite key as one string, not a tuple of strings: a third of the memory
            # for benefit_payment's (bg_id, month) (1.6 M keys at kreis); \x1f is no valid
            # character of an id, so two different keys never join to the same string
            if month_keys is not None:
                duplicate = month_keys.seen_again(raw[key_pos[0]], out[month_at],
                                                  raw[key_pos[1]])
            else:
                if key_one:
                    key = raw[key_pos[0]]
                elif key_two:
                    key = raw[key_pos[0]] + "\x1f" + raw[key_pos[1]]
                else:
                    key = "\x1f".join([raw[p] for p in key_pos])
                duplicate = key in key_seen
                if not duplicate:
                    key_seen.add(key)
            if duplicate:
                shown = ", ".join(f"{k}={show(raw[p])}" for k, p in zip(spec.key, key_pos,
                                                                        strict=True))
                log.add(file, line, spec.key[0], f"duplicate key ({shown})")
            for name, pos, known, ref in refs:
                value = raw[pos]
                if value and value not in known:
                    log.add(file, line, name, f"{show(value)} not found in {ref}")
            for a_idx, b_idx, a, b in order:
                if out[a_idx] is not None and out[b_idx] is not None and out[b_idx] < out[a_idx]:
                    log.add(file, line, b, f"{show(raw[header.index(b)])} is before {a} "
                                           f"{show(raw[header.index(a)])}")
            for idx, name, pos in happened:
                if out[idx] is not None and out[idx] > as_of_day:
                    if outcome_pos >= 0 and raw[outcome_pos] == "OFFEN":
                        continue
                    log.add(file, line, name, f"{show(raw[pos])} is after as_of "
                                              f"{dates.from_day(as_of_day).isoformat()}")
            for idx, name, pos in month_happened:
                if out[idx] is not None and out[idx] > as_of_month:
                    log.add(file, line, name, f"{show(raw[pos])} is after the month of as_of "
                                              f"{dates.from_day(as_of_day).isoformat()}")
            if plan and raw[status_pos] == "AKTIV" and raw[review_pos] == "":
                log.add(file, line, "next_review_date", "leer, but required for an AKTIV plan")
            if participation:
                end = out[stored_idx["exit_date"]]
                if end is None:
                    end = out[stored_idx["planned_end_date"]]
                out.append(dates.OPEN_END if end is None else end)
            if log.total == 0:
                yield tuple(out)
        if keep_keys is not None and not skipped:
            self.keys[keep_keys] = key_seen  # incomplete keys would only echo this file's faults
