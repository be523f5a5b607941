"""Computed columns: a tiny, safe expression language evaluated in exact Fractions.

Allowed: integer constants, row column names, ``+ - * /`` (binary), unary ``-``, parentheses and
the functions below. Any ``None`` input, or a zero denominator, makes the result ``None``.

| function | value |
|---|---|
| ``pct(a, b)`` | ``a / b * 100`` |
| ``change_pct(a, b)`` | ``(a / b - 1) * 100`` |
| ``div(a, b)`` | ``a / b`` (same as ``a / b``; reads better for means of sums) |
| ``mean(x1, ..., xn)`` | arithmetic mean; ``None`` if any argument is ``None`` |

No floats anywhere: results are rounded half away from zero with ``round_half_up``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

Num = Fraction | None


class ComputeError(ValueError):
    """A compute expression uses something outside the allowed language."""


def _div(a: Num, b: Num) -> Num:
    if a is None or b is None or b == 0:
        return None
    return a / b


def _pct(a: Num, b: Num) -> Num:
    q = _div(a, b)
    return None if q is None else q * 100


def _change_pct(a: Num, b: Num) -> Num:
    q = _div(a, b)
    return None if q is None else (q - 1) * 100


def _mean(*xs: Num) -> Num:
    total = Fraction(0)
    for x in xs:
        if x is None:
            return None
        total += x
    return total / len(xs) if xs else None


#: name -> (function, number of arguments or None for one or more)
FUNCTIONS: dict[str, tuple[Callable[..., Num], int | None]] = {
    "pct": (_pct, 2),
    "change_pct": (_change_pct, 2),
    "div": (_div, 2),
    "mean": (_mean, None),
}

Evaluator = Callable[[Mapping[str, Num]], Num]


@dataclass(frozen=True)
class Expression:
    """A parsed, checked expression: its source, the names it reads and its evaluator."""

    source: str
    names: frozenset[str]
    evaluate: Evaluator


def _binop(op: ast.operator, left: Evaluator, right: Evaluator) -> Evaluator:
    if isinstance(op, ast.Div):
        return lambda row: _div(left(row), right(row))

    def run(row: Mapping[str, Num]) -> Num:
        a, b = left(row), right(row)
        if a is None or b is None:
            return None
        if isinstance(op, ast.Add):
            return a + b
        if isinstance(op, ast.Sub):
            return a - b
        return a * b

    return run


def _compile(node: ast.AST, names: set[str]) -> Evaluator:
    if isinstance(node, ast.Expression):
        return _compile(node.body, names)
    if isinstance(node, ast.Constant) and type(node.value) is int:
        value = Fraction(node.value)
        return lambda row: value
    if isinstance(node, ast.Name):
        key = node.id
        names.add(key)
        return lambda row: row.get(key)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        return _binop(node.op, _compile(node.left, names), _compile(node.right, names))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _compile(node.operand, names)

        def neg(row: Mapping[str, Num]) -> Num:
            v = inner(row)
            return None if v is None else -v

        return neg
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.keywords or node.func.id not in FUNCTIONS:
            raise ComputeError(f"unbekannte Funktion {node.func.id!r}")
        func, arity = FUNCTIONS[node.func.id]
        if (arity is None and not node.args) or (arity is not None and len(node.args) != arity):
            raise ComputeError(f"{node.func.id}() mit falscher Zahl von Argumenten")
        args = [_compile(a, names) for a in node.args]
        return lambda row: func(*(a(row) for a in args))
    raise ComputeError(f"nicht erlaubt: {ast.dump(node)[:60]}")


@lru_cache(maxsize=512)
def parse(source: str) -> Expression:
    """Parse and check ``source``; raise ComputeError for anything outside the language."""
    if len(source) > 2000:
        raise ComputeError("Ausdruck zu lang")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ComputeError(f"Syntaxfehler: {exc.msg}") from None
    names: set[str] = set()
    evaluator = _compile(tree, names)
    return Expression(source, frozenset(names), evaluator)


def to_fraction(value: Any) -> Num:
    """Turn an exact SQL value (int, Decimal, bool) into a Fraction; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return Fraction(int(value))
    if isinstance(value, (int, Decimal, Fraction)):
        return Fraction(value)
    if isinstance(value, float):  # never produced by OPAL SQL; exact conversion as a fallback
        return Fraction(Decimal(repr(value)))
    raise TypeError(f"not a number: {type(value).__name__}")


def round_half_up(value: Fraction | Decimal | int, decimals: int) -> Decimal:
    """Round exactly, half away from zero, to ``decimals`` places (never through a float)."""
    frac = Fraction(value)
    scaled = abs(frac) * 10**decimals
    whole = scaled.numerator // scaled.denominator
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    sign = -1 if frac < 0 else 1
    return Decimal(sign * whole).scaleb(-decimals).quantize(Decimal(1).scaleb(-decimals))
