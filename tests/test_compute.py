"""Computed columns: the allowed language, exact arithmetic and half-up rounding."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction as F

import pytest

from opal.compute import ComputeError, parse, round_half_up, to_fraction


@pytest.mark.parametrize("value,places,expected", [
    (F(5, 100), 1, "0.1"),          # 0.05 -> 0.1 (half up)
    (F(-5, 100), 1, "-0.1"),        # half away from zero
    (F(15, 100), 1, "0.2"),         # 0.15 is not exact as a float; here it is
    (F(25, 100), 1, "0.3"),
    (F(-25, 100), 1, "-0.3"),
    (F(2675, 1000), 2, "2.68"),     # float round(2.675, 2) gives 2.67
    (F(1, 3), 1, "0.3"),
    (F(2, 3), 1, "0.7"),
    (F(-1, 100), 1, "0.0"),         # never "-0.0"
    (F(0), 1, "0.0"),
    (F(5, 2), 0, "3"),
    (F(-5, 2), 0, "-3"),
    (F(7), 2, "7.00"),
    (F(1, 2) - F(1, 10**30), 0, "0"),  # just below a half
])
def test_round_half_up(value: F, places: int, expected: str) -> None:
    assert str(round_half_up(value, places)) == expected


@pytest.mark.parametrize("expr,row,expected", [
    ("pct(a, b)", {"a": 1, "b": 3}, F(100, 3)),
    ("pct(a, b)", {"a": 1, "b": 0}, None),
    ("pct(a, b)", {"a": None, "b": 3}, None),
    ("change_pct(a, b)", {"a": 110, "b": 100}, F(10)),
    ("change_pct(a, b)", {"a": 90, "b": 100}, F(-10)),
    ("change_pct(a, b)", {"a": 5, "b": 0}, None),
    ("div(a, b)", {"a": 7, "b": 2}, F(7, 2)),
    ("a / b", {"a": 7, "b": 0}, None),
    ("a * 10000 / b", {"a": 3, "b": 15000}, F(2)),
    ("a - b + 1", {"a": 3, "b": 5}, F(-1)),
    ("-a", {"a": 3}, F(-3)),
    ("-a", {"a": None}, None),
    ("a + b", {"a": 1, "b": None}, None),
    ("mean(a, b, c)", {"a": 1, "b": 2, "c": 4}, F(7, 3)),
    ("mean(a, b, c)", {"a": 1, "b": None, "c": 4}, None),
    ("mean(pct(a, b), pct(c, d))", {"a": 1, "b": 2, "c": 1, "d": 4}, F(75, 2)),
    ("mean(pct(a, b), pct(c, d))", {"a": 1, "b": 0, "c": 1, "d": 4}, None),
    ("cents / 100", {"cents": 12345}, F(12345, 100)),
])
def test_evaluate(expr: str, row: dict[str, int | None], expected: F | None) -> None:
    env = {k: to_fraction(v) for k, v in row.items()}
    assert parse(expr).evaluate(env) == expected


def test_names() -> None:
    assert parse("mean(pct(a, b), c / d) - 1").names == {"a", "b", "c", "d"}


@pytest.mark.parametrize("expr", [
    "a ** 2", "a // b", "a % b", "1.5 * a", "'x'", "True", "a.b", "a[0]", "abs(a)",
    "__import__('os')", "pct(a)", "pct(a, b, c)", "mean()", "pct(a, b=c)", "lambda: 1",
    "a if b else c", "a < b", "(a, b)", "", "a +", "f'{a}'", "[a]",
])
def test_rejected(expr: str) -> None:
    with pytest.raises(ComputeError):
        parse(expr)


def test_inputs_are_exact() -> None:
    assert to_fraction(Decimal("0.1")) == F(1, 10)
    assert to_fraction(True) == 1
    assert to_fraction(None) is None
    with pytest.raises(TypeError):
        to_fraction("1")
