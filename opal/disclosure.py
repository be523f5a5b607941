"""Disclosure control of controlling output (reports.md, "Disclosure control"): primary,
derived and secondary suppression of one result's rows, checked by the attacker's integer
program, as one stage after rounding and before any renderer.

Pure functions over the shaped rows (every column, hidden ones included, rounded as published)
and the relations the report declares in its definition (``disclosure`` of a column,
``[disclosure]`` of the report; docs/ARCHITECTURE.md). The pattern depends on the rows and the
declarations only: the same for every format and on both databases.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from opal.compute import parse
from opal.result import SUPPRESSED, ColumnDef
from opal.roles import ROLES, role_of

if TYPE_CHECKING:
    from opal.catalogue import ReportDefinition

#: what a column is, for disclosure control: a count of persons/BG/integrations/entries...,
#: a money sum, a mean of stocks, a value derived from others (rate, change, ratio), or none of
#: them (staff FTE, a target: no case behind it)
KINDS = ("count", "money", "mean", "derived", "none")
#: kinds whose cells relations add up and the attacker solves for
CELL_KINDS = ("count", "money", "mean")
#: roles whose every output is under disclosure control (the role table says which)
CONTROLLED_ROLES = tuple(r.name for r in ROLES.values() if r.disclosure_control)
#: first-column label of the total row
GESAMT = "Gesamt"
#: counts of 1 or 2 are suppressed; an attacker's upper bound must reach this
SMALL = 3

Cell = tuple[int, str]  # (row index, column key)


class DisclosureError(RuntimeError):
    """The rows contradict the report's declared relations, or no pattern could be found: a
    fault of the definition, never shown to the user."""


@dataclass(frozen=True)
class SumRelation:
    """In every row, ``total`` is the sum of ``parts``; ``derived``: the total is computed from
    the parts and suppressed with any of them (R16 ``persons`` = ``elb`` + ``nef``)."""

    total: str
    parts: tuple[str, ...]
    derived: bool = False


@dataclass(frozen=True)
class Disclosure:
    """A report's declared relations: sums within a row, and whether its last row (``Gesamt``
    in the first column) adds up the rows above, column by column for counts, money, means."""

    gesamt: bool = False
    sums: tuple[SumRelation, ...] = ()


@dataclass(frozen=True)
class Relation:
    """One equation the attacker knows: ``total`` = sum of ``parts``."""

    total: Cell
    parts: tuple[Cell, ...]
    derived: bool = False

    @property
    def cells(self) -> tuple[Cell, ...]:
        return (self.total, *self.parts)


def under_control(role: str | None) -> bool:
    """Whether every output of ``role`` passes disclosure control."""
    found = role_of(role)
    return found is not None and found.disclosure_control


def kind_of(col: ColumnDef) -> str | None:
    """The column's declared disclosure kind (``count = true`` is ``"count"``), or None."""
    return col.disclosure or ("count" if col.count else None)


# --------------------------------------------------------------------------- the step


def protect(defn: ReportDefinition, rows: Sequence[Mapping[str, Any]]
            ) -> tuple[list[dict[str, Any]], int]:
    """Return the visible columns of ``rows`` with every cell that must not be published
    replaced by SUPPRESSED, and the number of such cells (primary and secondary alike)."""
    table = _Table(defn, rows)
    hit = table.primary()
    table.close(hit)
    if table.relations:
        table.check_relations()
        table.secondary(hit)
    visible = [c.key for c in defn.visible_columns]
    out = [{k: (SUPPRESSED if (i, k) in hit else row[k]) for k in visible}
           for i, row in enumerate(rows)]
    return out, len(hit)


def relations(defn: ReportDefinition, rows: Sequence[Mapping[str, Any]]) -> list[Relation]:
    """Every equation an attacker of these rows knows from the report's declarations."""
    visible = defn.visible_columns
    out = [Relation((i, rel.total), tuple((i, p) for p in rel.parts), rel.derived)
           for i in range(len(rows)) for rel in defn.disclosure.sums]
    if defn.disclosure.gesamt and len(rows) > 1 and rows[-1][visible[0].key] == GESAMT:
        g = len(rows) - 1
        out += [Relation((g, c.key), tuple((i, c.key) for i in range(g)))
                for c in visible if kind_of(c) in CELL_KINDS]
    return out


def unit_bounds(col: ColumnDef, value: Any) -> tuple[int, int] | None:
    """The whole-number interval the attacker reads from a published cell: counts as they are,
    money in its smallest unit, a mean of n stocks as n x mean within its rounding."""
    if value is None or value is SUPPRESSED:
        return None
    kind = kind_of(col)
    if kind == "mean":
        n = col.stocks or 1
        half = Fraction(1, 2 * 10 ** col.decimals)
        exact = Fraction(value)
        return max(0, math.ceil(n * (exact - half))), math.ceil(n * (exact + half)) - 1
    if kind == "money":
        cents = int(Fraction(value) * 10 ** col.decimals)
        return cents, cents
    return int(value), int(value)


def threshold(col: ColumnDef) -> int:
    """An attacker's upper bound below this gives a small value away (counts: 3; a mean of n
    stocks: 3n in units of 1/n); money is protected by not being pinned down (0)."""
    kind = kind_of(col)
    if kind == "count":
        return SMALL
    if kind == "mean":
        return SMALL * (col.stocks or 1)
    return 0


# --------------------------------------------------------------------------- internals


def _small_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value in (1, 2)


class _Table:
    """The rows of one result with what disclosure control needs to know about them."""

    def __init__(self, defn: ReportDefinition, rows: Sequence[Mapping[str, Any]]) -> None:
        self.defn = defn
        self.rows = rows
        self.cols = {c.key: c for c in defn.visible_columns}
        self.order = {k: n for n, k in enumerate(self.cols)}
        self.reads = {}
        for c in defn.visible_columns:
            names = set(c.suppress_with) | (parse(c.compute).names if c.compute else set())
            names &= set(self.cols)
            if names:
                self.reads[c.key] = sorted(names, key=self.order.__getitem__)
        self.relations = relations(defn, rows)
        self.of: dict[Cell, list[Relation]] = {}
        for rel in self.relations:
            for cell in rel.cells:
                self.of.setdefault(cell, []).append(rel)

    def value(self, cell: Cell) -> Any:
        return self.rows[cell[0]][cell[1]]

    def bounds(self, cell: Cell) -> tuple[int, int] | None:
        return unit_bounds(self.cols[cell[1]], self.value(cell))

    def units(self, cell: Cell) -> int:
        """The cell's true value in attacker units (a mean: its rounded value x n)."""
        found = self.bounds(cell)
        return 0 if found is None else (found[0] + found[1]) // 2

    def primary(self) -> set[Cell]:
        """Counts of 1 or 2, values behind 1 or 2 cases, means of stocks in (0, 3)."""
        hit: set[Cell] = set()
        for i, row in enumerate(self.rows):
            for key, col in self.cols.items():
                kind, value = kind_of(col), row[key]
                if kind == "count" and _small_count(value):
                    hit.add((i, key))
                elif kind == "mean" and value is not None and 0 < value < SMALL:
                    hit.add((i, key))
                elif col.behind is not None and _small_count(row.get(col.behind)):
                    hit.add((i, key))
        return hit

    def close(self, hit: set[Cell]) -> None:
        """Derived: what is computed from (or declared with) a suppressed cell, to a fixed point."""
        changed = True
        while changed:
            changed = False
            for i in range(len(self.rows)):
                for key, names in self.reads.items():
                    if (i, key) not in hit and any((i, n) in hit for n in names):
                        hit.add((i, key))
                        changed = True
            for rel in self.relations:
                if rel.derived and rel.total not in hit and any(p in hit for p in rel.parts):
                    hit.add(rel.total)
                    changed = True

    def check_relations(self) -> None:
        """Counts and money must add up exactly as declared, or the attacker's model is wrong."""
        for rel in self.relations:
            if kind_of(self.cols[rel.total[1]]) == "mean":
                continue
            values = [self.bounds(c) for c in rel.cells]
            if any(v is None for v in values):
                continue
            total, *parts = (v[0] for v in values if v is not None)
            if total != sum(parts):
                raise DisclosureError(f"{self.defn.code}: row {rel.total[0] + 1}: "
                                      f"{rel.total[1]} is not the sum of its declared parts")

    def rank(self, cell: Cell) -> tuple[int, int, int]:
        """Preference of a further cell to suppress: small values first, ties by row order."""
        return self.units(cell), cell[0], self.order[cell[1]]

    def shown(self, cell: Cell, hit: set[Cell]) -> bool:
        return cell not in hit and self.value(cell) is not None

    def secondary(self, hit: set[Cell]) -> None:
        """Suppress further cells until the attacker can recover no suppressed cell."""
        for _round in range(len(self.of) + 1):
            self._margins(hit)
            failing = attack(self.relations,
                             {c: None if c in hit else self.bounds(c) for c in self.of},
                             [c for c in self.of if c in hit],
                             {c: threshold(self.cols[c[1]]) for c in self.of})
            if not failing:
                return
            added: set[Cell] = set()
            for cell in sorted(failing, key=lambda c: (c[0], self.order[c[1]])):
                near = {c for rel in self.of[cell] for c in rel.cells}
                if near & added:
                    continue  # a cell added for another one this round may already do
                pick = self._candidate(cell, hit)
                hit.add(pick)
                added.add(pick)
                added |= {c for rel in self.of[pick] for c in rel.cells}
            self.close(hit)
        raise DisclosureError(f"{self.defn.code}: no suppression pattern found")

    def _margins(self, hit: set[Cell]) -> None:
        """In every relation whose total is shown, make at least two parts suppressed with a
        suppressed sum of 3 or more (adding the smallest shown non-zero part); a suppressed
        total needs a suppressed part. Until stable."""
        changed = True
        while changed:
            changed = False
            for rel in self.relations:
                if rel.total in hit and not any(p in hit for p in rel.parts):
                    spare = [p for p in rel.parts if self.shown(p, hit)]
                    if not spare:
                        continue  # unpublished parts: nothing to recover the total from
                    hit.add(min(spare, key=lambda c: (self.units(c) == 0, self.rank(c))))
                    self.close(hit)
                    changed = True
                while rel.total not in hit:
                    hidden = [p for p in rel.parts if p in hit]
                    need = threshold(self.cols[rel.total[1]])
                    if not hidden or (len(hidden) >= 2
                                      and sum(self.units(p) for p in hidden) >= need):
                        break
                    spare = [p for p in rel.parts if self.shown(p, hit) and self.units(p) > 0]
                    hit.add(min(spare, key=self.rank) if spare else rel.total)
                    self.close(hit)
                    changed = True

    def _candidate(self, cell: Cell, hit: set[Cell]) -> Cell:
        """The cell to suppress next for a recoverable ``cell``: a shown non-zero cell (a zero
        cannot lift an upper bound), the nearest by relations, a part before a total, the
        smallest, ties by row order."""
        distance = self._distances(cell)
        totals = {rel.total for rel in self.relations}
        shown = [c for c in distance if self.shown(c, hit)]
        if not shown:
            raise DisclosureError(f"{self.defn.code}: cell {cell} cannot be protected")
        return min(shown, key=lambda c: (self.units(c) == 0, distance[c], c in totals,
                                         self.rank(c)))

    def _distances(self, cell: Cell) -> dict[Cell, int]:
        """How many relations away each cell of ``cell``'s component is."""
        distance = {cell: 0}
        todo = [cell]
        while todo:
            here = todo.pop(0)
            for rel in self.of[here]:
                for c in rel.cells:
                    if c not in distance:
                        distance[c] = distance[here] + 1
                        todo.append(c)
        return distance


# --------------------------------------------------------------------------- the attacker


def attack(rels: Sequence[Relation], published: Mapping[Cell, tuple[int, int] | None],
           targets: Iterable[Cell], thresholds: Mapping[Cell, int]) -> list[Cell]:
    """The suppressed cells (``targets``) an attacker can pin down or bound below their
    threshold, knowing the published intervals (None: suppressed), the relations and that every
    value is a whole number >= 0.

    A target is safe when two whole solutions give it different values, one of them at least its
    threshold: every solution found (a witness) is kept and tried on the other targets, so
    most need no program of their own."""
    components = _components(rels, sorted(published))
    programs: dict[Cell, _Program] = {}
    failing = []
    for target in sorted(targets):
        members = components[target]
        program = programs.get(members[0])
        if program is None:
            local = {c: n for n, c in enumerate(members)}
            equations = [[(local[rel.total], 1)] + [(local[p], -1) for p in rel.parts]
                         for rel in rels if rel.total in local]
            program = programs[members[0]] = _Program([published[c] for c in members],
                                                      equations, local)
        if not program.safe(target, thresholds[target]):
            failing.append(target)
    return failing


def _components(rels: Sequence[Relation], cells: Sequence[Cell]) -> dict[Cell, list[Cell]]:
    parent = {c: c for c in cells}

    def find(c: Cell) -> Cell:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for rel in rels:
        root = find(rel.total)
        for p in rel.parts:
            other = find(p)
            if other != root:
                parent[other] = root
    groups: dict[Cell, list[Cell]] = {}
    for c in cells:
        groups.setdefault(find(c), []).append(c)
    return {c: groups[find(c)] for c in cells}


class _Program:
    """The attacker's integer program over one component of cells linked by relations."""

    def __init__(self, bounds: Sequence[tuple[int, int] | None],
                 equations: Sequence[Sequence[tuple[int, int]]], index: Mapping[Cell, int]
                 ) -> None:
        import numpy as np

        self.index = index
        n = len(bounds)
        known = [b[1] for b in bounds if b is not None]
        self.cap = 2 * sum(known) + 1000  # beyond any bounded value and any threshold
        self.lower = np.array([0.0 if b is None else float(b[0]) for b in bounds])
        self.upper = np.array([float(self.cap) if b is None else float(b[1]) for b in bounds])
        self.matrix = np.zeros((len(equations), n))
        for row, terms in enumerate(equations):
            for col, coef in terms:
                self.matrix[row, col] += coef
        self.witnesses: list[list[int]] = []

    def safe(self, cell: Cell, threshold: int) -> bool:
        """Whether the attacker can neither pin ``cell`` down nor bound it below ``threshold``."""
        j = self.index[cell]
        for sign in (-1.0, 1.0):  # the largest value first: it decides most cells
            seen = {w[j] for w in self.witnesses}
            if len(seen) >= 2 and max(seen) >= threshold:
                return True
            value = self._extreme(j, sign)
            if sign < 0 and value < threshold:
                return False
        seen = {w[j] for w in self.witnesses}
        return len(seen) >= 2 and max(seen) >= threshold

    def _extreme(self, j: int, sign: float) -> int:
        """The smallest (sign 1) or largest (-1) whole value of variable ``j``; the solution
        becomes a witness. The LP relaxation first (HiGHS): a whole-numbered vertex is the
        integer optimum; else the MIP."""
        import numpy as np
        from scipy.optimize import Bounds, LinearConstraint, linprog, milp

        n = len(self.lower)
        cost = np.zeros(n)
        cost[j] = sign
        eq: dict[str, Any] = ({"A_eq": self.matrix, "b_eq": np.zeros(len(self.matrix))}
                              if len(self.matrix) else {})
        res = linprog(cost, bounds=np.column_stack([self.lower, self.upper]), method="highs",
                      **eq)
        x = None
        if res.status == 0 and res.x is not None:
            rounded = np.round(res.x)
            if np.all(np.abs(res.x - rounded) < 1e-7):
                x = rounded
        if x is None:
            constraints = [LinearConstraint(self.matrix, 0, 0)] if len(self.matrix) else []
            res = milp(cost, integrality=np.ones(n), bounds=Bounds(self.lower, self.upper),
                       constraints=constraints)
            if res.status != 0 or res.x is None:
                raise DisclosureError(f"attacker's program not solved: {res.message}")
            x = np.round(res.x)
        witness = [int(v) for v in x]
        self.witnesses.append(witness)
        return witness[j]
