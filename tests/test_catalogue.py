"""The catalogue: loading, placeholders, and every fault kind ``check_catalogue`` must name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from opal.catalogue import (
    CatalogueError,
    check_catalogue,
    load_and_check,
    load_catalogue,
    placeholders,
    split_sql,
)
from tests.fixtures.engine import ENGINE_DATA


@pytest.mark.parametrize("sql,expected", [
    ("SELECT :a, :b_2 FROM t WHERE x = :a", {"a", "b_2"}),
    ("SELECT x::int, y::text FROM t WHERE z = :z", {"z"}),
    ("SELECT ':quoted' , \"col:umn\" FROM t", set()),
    ("SELECT 'it''s :not' || :yes", {"yes"}),
    ("SELECT 1 -- :commented\n, :after", {"after"}),
    ("SELECT /* :block\n :more */ :real", {"real"}),
    ("SELECT a:b", set()),
    ("SELECT :_as_of, :_viewer", {"_as_of", "_viewer"}),
    ("SELECT 1 /* never closed :x", set()),
])
def test_placeholders(sql: str, expected: set[str]) -> None:
    assert placeholders(sql) == expected


def test_split_sql_keeps_literals_escaped() -> None:
    code, exe = split_sql("SELECT 'S:x' -- c :y\nFROM t WHERE v = :v")
    assert ":y" not in exe and ":y" not in code
    assert "'S\\:x'" in exe
    assert exe.endswith("WHERE v = :v")


def test_mini_catalogue_is_clean() -> None:
    cat = load_catalogue(ENGINE_DATA / "reports", ENGINE_DATA / "sql")
    assert [d.code for d in cat] == ["R91", "R92", "R93"]
    assert check_catalogue(cat) == []
    r93 = cat.reports["R93"]
    assert r93.param("to_date").max_date == "as_of"
    assert r93.date_range is not None and r93.date_range.max_days == 366
    assert [c.key for c in cat.reports["R92"].visible_columns] == [
        "office", "elb", "with_contact", "contact_rate", "avg_days", "cost"]


def broken_copy(tmp_path: Path, edits: list[tuple[str, str, str]]) -> tuple[Path, Path]:
    """Copy the mini catalogue and apply (file, old, new) edits; return the two dirs."""
    root = tmp_path / "cat"
    shutil.copytree(ENGINE_DATA, root)
    for rel, old, new in edits:
        path = root / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, (rel, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return root / "reports", root / "sql"


FAULTS = [
    ("undeclared placeholder", ("sql/R91.sql", "WHERE p.is_elb = 1", "WHERE p.is_elb = :ghost"),
     "R91: SQL placeholder :ghost is neither declared nor reserved"),
    ("unused parameter", ("sql/R92.sql", "p.days_since_contact <= :days", "1 = 1"),
     "R92: parameter 'days' is never used in the SQL"),
    ("unknown role", ("reports/R92.toml", '"team_lead", "controlling"', '"team_lead", "boss"'),
     "R92: role 'boss' does not exist or may not see case data"),
    ("admin role", ("reports/R92.toml", '"team_lead", "controlling"', '"admin"'),
     "R92: role 'admin' does not exist or may not see case data"),
    ("unknown format", ("reports/R93.toml", 'formats = ["csv", "json"]', 'formats = ["docx"]'),
     "R93: format 'docx' is not registered"),
    ("hidden sort column", ("reports/R92.toml", 'sort = ["office"', 'sort = ["days_sum"'),
     "R92: sort column 'days_sum' is not a visible column"),
    ("unknown sort column", ("reports/R91.toml", 'sort = ["customer_no"', 'sort = ["nope"'),
     "R91: sort column 'nope' is not a visible column"),
    ("compute does not parse", ("reports/R92.toml", "div(days_sum, days_n)", "days_sum ** 2"),
     "R92: column 'avg_days': compute 'days_sum ** 2'"),
    ("compute reads unknown column", ("reports/R92.toml", "div(days_sum, days_n)",
                                      "div(days_sum, nobody)"),
     "R92: column 'avg_days': compute reads unknown column 'nobody'"),
    ("compute reads a text column", ("reports/R92.toml", "div(days_sum, days_n)",
                                     "div(days_sum, office)"),
     "R92: column 'avg_days': compute reads non-numeric column 'office'"),
    ("default out of range", ("reports/R91.toml", "default = 90", "default = 900"),
     "R91: parameter 'n_days': default 900 outside 1..730"),
    ("code default not a choice", ("reports/R91.toml", "optional = true", 'default = "Z"'),
     "R91: parameter 'profile_group': default 'Z' is not a choice"),
    ("bad date default", ("reports/R93.toml", 'default = "quarter_start"', 'default = "today"'),
     "R93: parameter 'from_date': default must be one of as_of, quarter_start, quarter_end"),
    ("bad month default", ("reports/R93.toml", 'default = "latest"', 'default = "2026-01"'),
     "R93: parameter 'month': default must be \"latest\""),
    ("date_range on a non-date", ("reports/R93.toml", 'to = "to_date"', 'to = "sex"'),
     "R93: date_range: 'sex' is not a date parameter"),
    ("reserved parameter name", ("reports/R91.toml", 'name = "n_days"', 'name = "sort"'),
     "R91: parameter 'sort': invalid or reserved name"),
    ("unknown parameter type", ("reports/R91.toml", 'type = "int"', 'type = "float"'),
     "R91: parameter 'n_days': type 'float' is not one of int, date, month, code, bool"),
    ("unknown column type", ("reports/R91.toml", 'type = "date"', 'type = "datetime"'),
     "R91: column 'last_contact': type 'datetime' is not one of"),
    ("count on a text column", ("reports/R92.toml", 'label = "Dienststelle"',
                                'label = "Dienststelle"\ncount = true'),
     "R92: column 'office': a count column must be int"),
    ("suppress_with unknown column", ("reports/R92.toml", 'suppress_with = ["with_contact"]',
                                      'suppress_with = ["ghost"]'),
     "R92: column 'cost': suppress_with names unknown column 'ghost'"),
    ("controlling on a list", ("reports/R91.toml", 'roles = ["case_manager", "team_lead"]',
                               'roles = ["case_manager", "controlling"]'),
     "R91: controlling may not run a person list"),
    ("list without person columns", ("reports/R91.toml", 'key = "name"', 'key = "full_name"'),
     "R91: a person list starts with customer_no, name, case_manager"),
    ("typo in a key", ("reports/R92.toml", "roles =", "rolse ="), "R92.toml: unknown key 'rolse'"),
    ("code differs from file", ("reports/R92.toml", 'code = "R92"', 'code = "R29"'),
     "R92.toml: code 'R29' does not match the file name"),
    ("TOML syntax", ("reports/R93.toml", 'kind = "aggregate"', 'kind = "aggregate'),
     "R93.toml: cannot be read"),
    ("missing SQL file", ("reports/R93.toml", 'sort = []', 'sort = []\nsql = "R77.sql"'),
     "R93.toml: SQL file R77.sql cannot be read"),
    ("SQL fails", ("sql/R92.sql", "FROM office o", "FROM offize o"),
     "R92: SQL fails on an empty generation"),
    ("SQL misses a column", ("sql/R91.sql", "p.days_since_contact, p.u25",
                             "p.days_since_contact"),
     "R91: SQL does not return column(s) u25"),
    ("required parameter without default", ("reports/R91.toml", "default = 90", ""),
     "R91: default parameters are invalid"),
]


@pytest.mark.parametrize("edit,expected", [(f[1], f[2]) for f in FAULTS],
                         ids=[f[0] for f in FAULTS])
def test_each_fault_is_named(tmp_path: Path, edit: tuple[str, str, str], expected: str) -> None:
    reports, sql = broken_copy(tmp_path, [edit])
    problems = check_catalogue(load_catalogue(reports, sql))
    assert any(p.startswith(expected) for p in problems), problems


def test_every_fault_is_listed_at_once(tmp_path: Path) -> None:
    edits = [f[1] for f in FAULTS if f[1][0] in ("reports/R91.toml",)]
    reports, sql = broken_copy(tmp_path, edits[:3] + [FAULTS[4][1], FAULTS[5][1]])
    with pytest.raises(CatalogueError) as info:
        load_and_check(reports, sql)
    assert len(info.value.problems) >= 5


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError) as info:
        load_and_check(tmp_path / "none", tmp_path / "none")
    assert "no reports directory" in info.value.problems[0]
