"""Disclosure control (opal.disclosure) on hand-made tables: primary, derived and secondary
suppression, exact patterns, and the independent attacker (tests/fixtures/attacker.py)."""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from opal.catalogue import ReportDefinition, load_catalogue
from opal.catalogue.check import check_definition
from opal.disclosure import Disclosure, SumRelation, _Table, attack, protect, threshold
from opal.result import SUPPRESSED, ColumnDef
from tests.fixtures.attacker import attack_table

S = SUPPRESSED


def defn(columns: list[ColumnDef], gesamt: bool = True,
         sums: tuple[SumRelation, ...] = ()) -> ReportDefinition:
    return ReportDefinition(
        code="R99", title="Test", group="Test", roles=("controlling",), formats=("json",),
        kind="aggregate", orientation="portrait", sql="", sql_source="", sql_file="", sort=(),
        help="", params=(), columns=(ColumnDef("label", "Zeile"), *columns),
        disclosure=Disclosure(gesamt=gesamt, sums=sums))


def count(key: str) -> ColumnDef:
    return ColumnDef(key, key, "int", disclosure="count", count=True)


def table(parts: list[str], values: list[list[int]], total: str | None = "t"
          ) -> list[dict[str, Any]]:
    """Rows r1.. with ``parts`` (and their sum ``total``), then the Gesamt row."""
    rows = []
    for i, vals in enumerate(values):
        row: dict[str, Any] = {"label": f"r{i + 1}", **dict(zip(parts, vals, strict=True))}
        if total:
            row[total] = sum(vals)
        rows.append(row)
    keys = ([total] if total else []) + parts
    rows.append({"label": "Gesamt", **{k: sum(r[k] for r in rows) for k in keys}})
    return rows


def grid(parts: list[str], values: list[list[int]], total: bool = True
         ) -> tuple[ReportDefinition, list[dict[str, Any]]]:
    cols = ([count("t")] if total else []) + [count(k) for k in parts]
    sums = (SumRelation("t", tuple(parts)),) if total else ()
    return defn(cols, sums=sums), table(parts, values, "t" if total else None)


def pattern(out: list[dict[str, Any]]) -> list[str]:
    """Each row as ``label: key key`` of its suppressed cells."""
    return [f"{r['label']}:" + "".join(f" {k}" for k, v in r.items() if v is S) for r in out]


def published(out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: (None if v is S else v) for k, v in r.items()} for r in out]


def assert_safe(out: list[dict[str, Any]], parts: list[str], total: bool = True) -> None:
    keys = (["t"] if total else []) + parts
    sums = [("t", tuple(parts))] if total else []
    assert attack_table(published(out), {k: 0 for k in keys}, sums, "label") == []


def assert_unchanged(rows: list[dict[str, Any]], out: list[dict[str, Any]]) -> None:
    for row, shown in zip(rows, out, strict=True):
        for k, v in shown.items():
            assert v is S or v == row[k]


# --------------------------------------------------------------------------- columns only


def test_nothing_needs_adding() -> None:
    """Two suppressed cells of a column adding up to 3: neither can be bounded below 3."""
    d, rows = grid(["a"], [[10], [2], [1]], total=False)
    out, n = protect(d, rows)
    assert pattern(out) == ["r1:", "r2: a", "r3: a", "Gesamt:"]
    assert n == 2
    assert_safe(out, ["a"], total=False)


def test_no_small_value_no_suppression() -> None:
    d, rows = grid(["a", "b"], [[10, 3], [0, 4]])
    out, n = protect(d, rows)
    assert n == 0 and out == rows


def test_second_cell() -> None:
    """One 1 in a column: the Gesamt row gives it away unless a second cell goes too."""
    d, rows = grid(["a"], [[10], [5], [1]], total=False)
    out, n = protect(d, rows)
    assert pattern(out) == ["r1:", "r2: a", "r3: a", "Gesamt:"]
    assert n == 2
    assert_safe(out, ["a"], total=False)


def test_second_cell_smallest_non_zero_part() -> None:
    """A 0 does not hide anything (its interval reaches no higher); the smallest non-zero does;
    ties by row order."""
    d, rows = grid(["a"], [[0], [7], [4], [1], [4]], total=False)
    out, _ = protect(d, rows)
    assert pattern(out) == ["r1:", "r2:", "r3: a", "r4: a", "r5:", "Gesamt:"]


def test_sum_of_suppressed_parts_below_three() -> None:
    """1 + 1 suppressed: the attacker knows both add up to 2 -> a third cell."""
    d, rows = grid(["a"], [[6], [1], [1], [9]], total=False)
    out, _ = protect(d, rows)
    assert pattern(out) == ["r1: a", "r2: a", "r3: a", "r4:", "Gesamt:"]
    assert_safe(out, ["a"], total=False)


# --------------------------------------------------------------------------- rows and columns


def test_chain_across_rows_and_columns() -> None:
    """r1's 1 needs r1's 4 (row sum), which needs r2's 3 (column a), which needs r2's 5
    (row sum), which column b accepts (1 + 5 >= 3)."""
    d, rows = grid(["a", "b"], [[4, 1], [3, 5], [6, 0]])
    out, n = protect(d, rows)
    assert pattern(out) == ["r1: a b", "r2: a b", "r3:", "Gesamt:"]
    assert n == 4
    assert_safe(out, ["a", "b"])
    assert_unchanged(rows, out)


def _margins_only(d: ReportDefinition, rows: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """What the attacker recovers from the margin rule alone (without the program's rounds)."""
    t = _Table(d, rows)
    hit = t.primary()
    t.close(hit)
    t._margins(hit)
    return attack(t.relations, {c: None if c in hit else t.bounds(c) for c in t.of},
                  [c for c in t.of if c in hit], {c: threshold(t.cols[c[1]]) for c in t.of})


def test_single_link_between_two_groups() -> None:
    """Each relation has two suppressed cells, yet r2's a (1) is the only link between the group
    of rows r1/r2 and the rectangle r3/Gesamt x a/c: Gesamt - r3 in column a gives it (4 - 3).
    The program finds it; r3's b (5) breaks the link."""
    d, rows = grid(["a", "b", "c"], [[0, 2, 0], [1, 4, 0], [3, 5, 1]])
    assert _margins_only(d, rows) == [(1, "a")]
    out, n = protect(d, rows)
    assert pattern(out) == ["r1: t b", "r2: t a b", "r3: a b c", "Gesamt: a c"]
    assert n == 10
    assert_safe(out, ["a", "b", "c"])
    assert_unchanged(rows, out)


def test_cycle_bounded_below_three() -> None:
    """Six suppressed cells in a cycle, two in every row and column with sums >= 3; the
    attacker still bounds r2's c and r3's a to 0..2. One more cell (r2's a) opens the cycle."""
    d, rows = grid(["a", "b", "c"], [[5, 4, 8], [8, 2, 1], [1, 4, 8]])
    assert _margins_only(d, rows) == [(2, "a"), (1, "c")] or \
        sorted(_margins_only(d, rows)) == [(1, "c"), (2, "a")]
    out, n = protect(d, rows)
    assert pattern(out) == ["r1: a c", "r2: a b c", "r3: a b", "Gesamt:"]
    assert n == 7
    assert_safe(out, ["a", "b", "c"])


def test_suppressed_total_needs_a_suppressed_part() -> None:
    """A total of 2 with all parts shown is their sum: a part goes too (the non-zero one)."""
    d, rows = grid(["a", "b"], [[0, 2], [5, 6], [7, 3]])
    out, _ = protect(d, rows)
    assert_safe(out, ["a", "b"])
    assert out[0]["b"] is S


def test_deterministic_and_order_free_of_dict_order() -> None:
    d, rows = grid(["a", "b", "c"], [[0, 2, 0], [1, 4, 0], [3, 5, 1]])
    first = pattern(protect(d, rows)[0])
    shuffled = [dict(reversed(list(r.items()))) for r in rows]
    assert pattern(protect(d, shuffled)[0]) == first


@pytest.mark.parametrize("seed", range(6))
def test_random_tables_attacker_finds_nothing(seed: int) -> None:
    """Random small tables (values 0..8, many 1s and 2s): the attacker recovers nothing, every
    value shown is the true one, every primary cell is suppressed."""
    rng = random.Random(seed)
    for _ in range(25):
        parts = ["a", "b", "c"][:rng.randint(1, 3)]
        total = len(parts) > 1
        values = [[rng.choice([0, 0, 1, 2, 3, 4, 5, 8, 20]) for _ in parts]
                  for _ in range(rng.randint(1, 6))]
        d, rows = grid(parts, values, total)
        out, n = protect(d, rows)
        assert_safe(out, parts, total)
        assert_unchanged(rows, out)
        assert n == sum(v is S for r in out for v in r.values())
        for row, shown in zip(rows, out, strict=True):
            for k in shown:
                if row[k] in (1, 2):
                    assert shown[k] is S


# --------------------------------------------------------------------------- primary, derived


def test_primary_boundaries_and_derived() -> None:
    """Counts 1 and 2 (not 0, 3); money behind 1 or 2 cases; a mean of stocks in (0, 3);
    what is computed from a suppressed cell; a derived sum with its parts."""
    cols = [count("elb"), count("nef"), count("persons"),
            ColumnDef("rate", "r", "decimal", 1, compute="pct(nef, elb)", disclosure="derived"),
            ColumnDef("cost", "c", "decimal", 2, disclosure="money", behind="cases"),
            ColumnDef("avg", "m", "decimal", 1, disclosure="mean", stocks=12),
            ColumnDef("cases", "n", "int", count=True, disclosure="count", hidden=True)]
    d = defn(cols, gesamt=False, sums=(SumRelation("persons", ("elb", "nef"), derived=True),))

    def row(elb: int, nef: int, cases: int, avg: str) -> dict[str, Any]:
        return {"label": "x", "elb": elb, "nef": nef, "persons": elb + nef, "rate": Decimal(1),
                "cost": Decimal("9.99"), "avg": Decimal(avg), "cases": cases}

    out, n = protect(d, [row(10, 0, 0, "0.0"), row(10, 1, 3, "3.0"), row(2, 3, 2, "0.1"),
                         row(9, 9, 1, "2.9")])
    assert [[k for k, v in r.items() if v is S] for r in out] == [
        [], ["nef", "persons", "rate"], ["elb", "persons", "rate", "cost", "avg"],
        ["cost", "avg"]]
    assert n == 10
    assert "cases" not in out[0]  # hidden columns never leave the step


def test_means_of_stocks_across_rows() -> None:
    """A mean of 12 stocks (1.3) next to shown means and the Gesamt mean: the smallest
    non-zero shown mean goes too (the attacker reads n x mean within its rounding)."""
    cols = [ColumnDef("avg", "m", "decimal", 1, disclosure="mean", stocks=12)]
    d = defn(cols)
    rows = [{"label": "A", "avg": Decimal("15.6")}, {"label": "B", "avg": Decimal("3.0")},
            {"label": "C", "avg": Decimal("1.3")}, {"label": "Gesamt", "avg": Decimal("19.9")}]
    out, _ = protect(d, rows)
    assert pattern(out) == ["A:", "B: avg", "C: avg", "Gesamt:"]
    assert attack_table(published(out), {"avg": 12}, [], "label") == []


def test_relation_that_does_not_hold_is_a_fault() -> None:
    from opal.disclosure import DisclosureError

    d, rows = grid(["a", "b"], [[4, 1], [3, 5]])
    rows[0]["t"] = 6
    with pytest.raises(DisclosureError):
        protect(d, rows)


def test_gesamt_only_when_last_row_says_so() -> None:
    """No Gesamt row (an office lead's single office): no column relation."""
    d, rows = grid(["a"], [[10], [1]], total=False)
    out, n = protect(d, rows[:-1])
    assert pattern(out) == ["r1:", "r2: a"] and n == 1


# --------------------------------------------------------------------------- opal check


@pytest.fixture(scope="module")
def real() -> dict[str, ReportDefinition]:
    return load_catalogue().reports


def test_every_controlling_report_declares_its_kinds(real: dict[str, ReportDefinition]) -> None:
    from opal.disclosure import kind_of

    for code in ("R09", "R10", "R11", "R12", "R13", "R14", "R15", "R16"):
        d = real[code]
        assert check_definition(d) == []
        assert all(kind_of(c) for c in d.visible_columns if c.numeric), code
    assert real["R11"].disclosure.sums == (
        SumRelation("integrations", ("svb", "ausbildung", "selbstaendig")),)
    assert real["R16"].disclosure.sums == (SumRelation("persons", ("elb", "nef"), True),)
    assert {c for c in real if real[c].disclosure.gesamt} == {
        "R10", "R11", "R12", "R13", "R14", "R16"}


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: replace(c, count=False, disclosure=None) if c.key == "lzb" else c,
     "R13: column 'lzb': a report under disclosure control declares the disclosure kind"),
    (lambda c: replace(c, disclosure="secret") if c.key == "lzb" else c,
     "R13: column 'lzb': disclosure 'secret' is not one of"),
    (lambda c: replace(c, stocks=None) if c.key == "avg_lzb_12m" else c,
     "R13: column 'avg_lzb_12m': a mean of stocks is decimal and names its stocks"),
    (lambda c: replace(c, behind="k3") if c.key == "k3e1" else c,
     "R13: column 'k3e1': behind names no count column ('k3')"),
])
def test_check_refuses_undeclared(real: dict[str, ReportDefinition], change: Any,
                                  message: str) -> None:
    d = real["R13"]
    bad = replace(d, columns=tuple(change(c) for c in d.columns))
    assert any(p.startswith(message) for p in check_definition(bad)), check_definition(bad)


def test_check_refuses_bad_sums_and_windows(real: dict[str, ReportDefinition]) -> None:
    r11 = real["R11"]
    bad = replace(r11, disclosure=Disclosure(True, (SumRelation("integrations",
                                                                ("svb", "bedarfsdeckend_pct")),)))
    assert "R11: disclosure.sums[0]: 'bedarfsdeckend_pct' is not a visible count, money or " \
           "mean column" in check_definition(bad)
    r15 = real["R15"]
    loose = replace(r15, params=tuple(replace(p, align=None) for p in r15.params))
    problems = check_definition(loose)
    assert "R15: parameter 'from_date': a window of a controlled report must be whole months " \
           "(align)" in problems
    money = replace(r15, columns=tuple(replace(c, behind=None) if c.key == "cost" else c
                                       for c in r15.columns))
    assert "R15: column 'cost': a money column names the count of cases behind it (behind)" \
        in check_definition(money)
