"""Parameters: one parser per type, every bad field named together, defaults, junk."""

from __future__ import annotations

from datetime import date

import pytest

from opal.catalogue import Catalogue
from opal.errors import ParameterError
from opal.params import parse_params
from opal.result import ParamValue
from tests.fixtures.engine import mini_catalogue

AS_OF = date(2026, 11, 23)


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return mini_catalogue()


def bad(cat: Catalogue, code: str, args: dict[str, str], **kw: bool) -> dict[str, str]:
    with pytest.raises(ParameterError) as info:
        parse_params(cat.reports[code], args, AS_OF, **kw)
    assert info.value.status == 400
    return info.value.errors


def test_defaults(cat: Catalogue) -> None:
    p = parse_params(cat.reports["R93"], {}, AS_OF)
    # latest complete quarter on 2026-11-23 is Q3; latest complete month is October
    assert p.bind == {"from_date": date(2026, 7, 1).toordinal(),
                      "to_date": date(2026, 9, 30).toordinal(), "only_u25": 0, "sex": "",
                      "month": 2026 * 12 + 9}
    assert p.display == (ParamValue("from_date", "Von", "2026-07-01"),
                         ParamValue("to_date", "Bis", "2026-09-30"),
                         ParamValue("only_u25", "Nur U25", False),
                         ParamValue("sex", "Geschlecht", None),
                         ParamValue("month", "Monat", "2026-10"))
    p = parse_params(cat.reports["R91"], {}, AS_OF)
    assert p.bind == {"n_days": 90, "profile_group": ""}
    assert (p.sort, p.desc, p.page) == (None, False, None)


@pytest.mark.parametrize("value,bind,shown", [
    ("ja", 1, True), ("nein", 0, False), ("1", 1, True), ("0", 0, False), ("true", 1, True),
    ("FALSE", 0, False), ("Ja", 1, True),
])
def test_bool_values(cat: Catalogue, value: str, bind: int, shown: bool) -> None:
    p = parse_params(cat.reports["R93"], {"only_u25": value}, AS_OF)
    assert p.bind["only_u25"] == bind
    assert p.display[2].value is shown


def test_good_values(cat: Catalogue) -> None:
    p = parse_params(cat.reports["R93"], {"from_date": "2025-11-23", "to_date": "2026-11-23",
                                          "sex": "D", "month": "2026-10"}, AS_OF)
    assert p.bind["to_date"] - p.bind["from_date"] == 365
    assert p.bind["sex"] == "D"
    p = parse_params(cat.reports["R91"], {"n_days": " 730 ", "profile_group": "B"}, AS_OF)
    assert p.bind == {"n_days": 730, "profile_group": "B"}
    # a range of exactly max_days (366) and of 0 days are both fine
    parse_params(cat.reports["R93"], {"from_date": "2025-11-22", "to_date": "2026-11-23"}, AS_OF)
    parse_params(cat.reports["R93"], {"from_date": "2026-01-01", "to_date": "2026-01-01"}, AS_OF)


def test_every_bad_field_named_at_once(cat: Catalogue) -> None:
    errors = bad(cat, "R93", {"from_date": "2026-02-30", "to_date": "23.11.2026",
                              "only_u25": "vielleicht", "sex": "X", "month": "2026-13",
                              "_viewer": "S:S9", "_county": "1", "evil": "1"})
    assert set(errors) == {"from_date", "to_date", "only_u25", "sex", "month", "_viewer",
                           "_county", "evil"}
    assert all(isinstance(m, str) and m for m in errors.values())
    errors = bad(cat, "R91", {"n_days": "0", "profile_group": "a"})
    assert errors == {"n_days": "Bitte eine Zahl von 1 bis 730 angeben.",
                      "profile_group": "Bitte einen dieser Werte angeben: A, B, C."}


@pytest.mark.parametrize("value", ["0", "731", "-1", "1.5", "1e3", "zehn", "٣", "99999999999",
                                   "0x10", "+5 5", "5\n", "1_0", "0" * 11])
def test_bad_int(cat: Catalogue, value: str) -> None:
    assert set(bad(cat, "R91", {"n_days": value})) == {"n_days"}


@pytest.mark.parametrize("name", ["_as_of", "_viewer", "_staff_id", "_team_id", "_office_id",
                                  "_county", "_", "_anything"])
def test_reserved_rejected(cat: Catalogue, name: str) -> None:
    assert set(bad(cat, "R91", {name: "x"})) == {name}
    assert set(bad(cat, "R91", {name: ""})) == {name}


@pytest.mark.parametrize("name", ["format", "N_DAYS", "n_days ", "limit", "page2", "sql"])
def test_unknown_rejected(cat: Catalogue, name: str) -> None:
    assert set(bad(cat, "R91", {name: "1"})) == {name}


def test_month_after_as_of(cat: Catalogue) -> None:
    assert set(bad(cat, "R93", {"month": "2026-11"})) == {"month"}
    assert set(bad(cat, "R93", {"month": "2027-01"})) == {"month"}
    # no lower bound: months before the data's history are allowed
    assert parse_params(cat.reports["R93"], {"month": "1850-01"}, AS_OF).display[4].value \
        == "1850-01"
    on_last_day = date(2026, 11, 30)
    parse_params(cat.reports["R93"], {"month": "2026-11"}, on_last_day)


def test_date_max_as_of(cat: Catalogue) -> None:
    errors = bad(cat, "R93", {"from_date": "2026-11-01", "to_date": "2026-11-24"})
    assert set(errors) == {"to_date"}
    # from_date has no such rule of its own; the range rule catches the order
    errors = bad(cat, "R93", {"from_date": "2026-11-24", "to_date": "2026-11-23"})
    assert set(errors) == {"to_date"}


@pytest.mark.parametrize("args,field", [
    ({"from_date": "2026-01-01"}, "to_date"),
    ({"to_date": "2026-01-01"}, "from_date"),
    ({"from_date": "2025-01-01", "to_date": "2026-01-03"}, "to_date"),  # 367 days
])
def test_date_range_rule(cat: Catalogue, args: dict[str, str], field: str) -> None:
    assert set(bad(cat, "R93", args)) == {field}


@pytest.mark.parametrize("value", ["x" * 201, "9\x00", "A\x00", "\ud800", "A\ufffd", "1\u202e",
                                   "A\n", "\x1b[31m"])
def test_junk_values(cat: Catalogue, value: str) -> None:
    errors = bad(cat, "R91", {"profile_group": value, "n_days": value})
    assert set(errors) == {"profile_group", "n_days"}


def test_junk_names_are_escaped(cat: Catalogue) -> None:
    errors = bad(cat, "R91", {"a\x00b": "1", "x" * 500: "1", "\ud800": "1"})
    assert set(errors) == {"a\\u0000b", "x" * 40, "\\ud800"}


def test_sort_desc_page(cat: Catalogue) -> None:
    p = parse_params(cat.reports["R91"], {"sort": "name", "desc": "1", "page": "3"}, AS_OF,
                     paged=True)
    assert (p.sort, p.desc, p.page) == ("name", True, 3)
    # downloads ignore page, whatever it says
    p = parse_params(cat.reports["R91"], {"page": "x"}, AS_OF)
    assert p.page is None
    errors = bad(cat, "R91", {"sort": "u25", "desc": "yes", "page": "0"}, paged=True)
    assert set(errors) == {"sort", "desc", "page"}
    assert set(bad(cat, "R91", {"sort": "name; DROP TABLE x"})) == {"sort"}
    # opal run: rows always in the specified order, so sort/desc/page are unknown
    assert set(bad(cat, "R91", {"sort": "name", "desc": "1", "page": "1"},
                   allow_sort=False)) == {"sort", "desc", "page"}


def test_empty_means_default(cat: Catalogue) -> None:
    p = parse_params(cat.reports["R91"], {"n_days": "", "profile_group": ""}, AS_OF)
    assert p.bind == {"n_days": 90, "profile_group": ""}
