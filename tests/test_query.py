"""run_report: order of checks, scoping, coercion, suppression, sort, row cap, failures."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete

from opal.access import Actor
from opal.appdb.schema import audit_log
from opal.errors import (
    AccessDenied,
    ExportTooLarge,
    ParameterError,
    QueryFailed,
    ReportNotFound,
)
from opal.pipeline import run_report
from opal.query import NoData, shape_rows, sort_rows, suppress_rows
from opal.result import SUPPRESSED
from tests.fixtures.engine import EngineWorld

S = SUPPRESSED


def col(rows: list[dict[str, Any]], key: str) -> list[Any]:
    return [r[key] for r in rows]


def test_case_manager_sees_own_case_load(engine_world: EngineWorld) -> None:
    r = run_report(engine_world.ctx, "R91", engine_world.actor("cm1"), {"n_days": "1"}, "json")
    # never contacted first, then days since contact descending
    assert col(r.rows, "customer_no") == ["K003", "K006", "K002", "K010", "K009", "K001",
                                          "K004"]
    assert r.rows[0] == {"customer_no": "K003", "name": "-Minus, Carla",
                         "case_manager": "Frau Eins", "profile_group": None,
                         "last_contact": None, "days_since_contact": None, "u25": True}
    assert r.rows[1]["last_contact"] == date(2025, 10, 19)  # a date on SQLite too
    assert r.rows[2]["u25"] is False
    assert r.unit == "Fallbestand Frau Eins (S1)"
    assert r.as_of == date(2026, 11, 23)
    assert r.suppressed_cells == 0


@pytest.mark.parametrize("user,expected", [
    ("cm1", ["K002", "K003", "K006"]),
    ("cm2", ["K005"]),                   # the own protected person
    ("tl1", ["K002", "K003", "K006"]),   # team lead: never the protected K005
    ("tl2", []),
])
def test_list_scope(engine_world: EngineWorld, user: str, expected: list[str]) -> None:
    r = run_report(engine_world.ctx, "R91", engine_world.actor(user), {"n_days": "90"}, "json")
    assert sorted(col(r.rows, "customer_no")) == sorted(expected)


def test_optional_code_filters(engine_world: EngineWorld) -> None:
    r = run_report(engine_world.ctx, "R91", engine_world.actor("cm1"),
                   {"n_days": "1", "profile_group": "A"}, "json")
    assert col(r.rows, "customer_no") == ["K009", "K001"]
    assert r.params_json() == {"n_days": 1, "profile_group": "A"}


EXPECTED_R92 = [
    # office, elb, with_contact, contact_rate, avg_days, cost
    ("Nord", 5, 3, Decimal("60.0"), Decimal("40.0"), Decimal("1.83")),
    ("Ost", 0, 0, None, None, Decimal("0.00")),
    ("Süd", 2, 1, Decimal("50.0"), Decimal("102.5"), Decimal("0.84")),
    ("West", 1, 0, Decimal("0.0"), Decimal("400.0"), Decimal("0.19")),
    ("Gesamt", 8, 4, Decimal("50.0"), Decimal("109.3"), Decimal("2.86")),
]
SUPPRESSED_R92 = [
    # with_contact 3: secondary (Gesamt 4 - 3 - 0 - 0 would give Süd's 1); its rate and cost
    ("Nord", 5, S, S, Decimal("40.0"), S),
    ("Ost", 0, 0, None, None, Decimal("0.00")),        # 0 is never suppressed
    ("Süd", S, S, S, S, S),                             # the mean and cost behind 2 persons
    ("West", S, 0, S, S, S),                            # ... behind 1 person
    ("Gesamt", 8, 4, Decimal("50.0"), Decimal("109.3"), Decimal("2.86")),
]


def as_tuples(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(r.values()) for r in rows]


def test_team_lead_aggregate_unsuppressed(engine_world: EngineWorld) -> None:
    r = run_report(engine_world.ctx, "R92", engine_world.actor("tl1"), {}, "json")
    assert as_tuples(r.rows) == EXPECTED_R92
    assert r.suppressed_cells == 0
    assert r.unit == "Team Team Eins (T1)"
    assert type(r.rows[0]["elb"]) is int and type(r.rows[4]["elb"]) is int


def test_controlling_suppression(engine_world: EngineWorld) -> None:
    r = run_report(engine_world.ctx, "R92", engine_world.actor("ctrl"), {}, "json")
    assert as_tuples(r.rows) == SUPPRESSED_R92
    assert r.suppressed_cells == 12
    assert r.unit == "Gesamter Kreis"


@pytest.mark.parametrize("count,suppressed", [(0, False), (1, True), (2, True), (3, False)])
def test_suppression_boundaries(engine_world: EngineWorld, count: int,
                                suppressed: bool) -> None:
    defn = engine_world.ctx.catalogue.reports["R92"]
    raw = [{"office": "X", "elb": 10, "with_contact": count, "days_sum": 5, "days_n": 3,
            "cost_cents": 100}]
    rows, n = suppress_rows(defn, shape_rows(defn, raw), True)
    assert (rows[0]["with_contact"] is S) is suppressed
    assert (rows[0]["contact_rate"] is S) is suppressed
    assert (rows[0]["cost"] is S) is suppressed
    assert n == (3 if suppressed else 0)
    rows, n = suppress_rows(defn, shape_rows(defn, raw), False)
    assert rows[0]["with_contact"] == count and n == 0


def test_sort_and_desc(engine_world: EngineWorld) -> None:
    ctx, tl = engine_world.ctx, engine_world.actor("tl1")
    r = run_report(ctx, "R92", tl, {"sort": "contact_rate", "desc": "1"}, "html", client="web")
    # None last in both directions; the Gesamt row stays last
    assert col(r.rows, "office") == ["Nord", "Süd", "West", "Ost", "Gesamt"]
    assert (r.sort, r.desc) == ("contact_rate", True)
    r = run_report(ctx, "R92", tl, {"sort": "contact_rate"}, "html", client="web")
    assert col(r.rows, "office") == ["West", "Süd", "Nord", "Ost", "Gesamt"]
    r = run_report(ctx, "R91", engine_world.actor("cm1"), {"n_days": "1", "sort": "name"},
                   "csv", client="web")
    assert col(r.rows, "name")[:2] == ["\tTab, Emil", "+Plus, Bernd"]  # code point order


def test_sort_is_stable_with_suppressed_last() -> None:
    rows = [{"k": "a", "v": 2}, {"k": "b", "v": S}, {"k": "c", "v": 1}, {"k": "d", "v": 2},
            {"k": "Gesamt", "v": 0}, {"k": "e", "v": None}]
    assert col(sort_rows(rows, "v", False, "k"), "k") == ["c", "a", "d", "b", "e", "Gesamt"]
    assert col(sort_rows(rows, "v", True, "k"), "k") == ["a", "d", "c", "b", "e", "Gesamt"]


def test_paged_returns_page(engine_world: EngineWorld) -> None:
    r = run_report(engine_world.ctx, "R92", engine_world.actor("tl1"), {"page": "2"}, "html",
                   client="web", paged=True)
    assert r.extra["page"] == 2 and r.row_count == 5  # the portal slices the page


def test_order_of_checks(engine_world: EngineWorld) -> None:
    ctx = engine_world.ctx
    with pytest.raises(ReportNotFound):
        run_report(ctx, "R00", engine_world.actor("admin"), {"_viewer": "x"}, "json")
    # access before parameters: a denied role gets 403 whatever it sends
    with pytest.raises(AccessDenied):
        run_report(ctx, "R91", engine_world.actor("ctrl"), {"n_days": "x", "_viewer": "T:T1"},
                   "json")
    with pytest.raises(ParameterError) as info:
        run_report(ctx, "R91", engine_world.actor("cm1"), {"n_days": "x", "_viewer": "T:T1"},
                   "json")
    assert set(info.value.errors) == {"n_days", "_viewer"}
    with pytest.raises(ParameterError) as info:
        run_report(ctx, "R93", engine_world.actor("tl1"), {}, "pdf")
    assert set(info.value.errors) == {"format"}


@pytest.mark.parametrize("user", ["admin", "norole", "cm_gone", "cm_leistung", "tl_gone"])
def test_denied(engine_world: EngineWorld, user: str) -> None:
    for code in ("R91", "R92", "R93"):
        with pytest.raises(AccessDenied) as info:
            run_report(engine_world.ctx, code, engine_world.actor(user), {}, "json")
        assert info.value.status == 403


def test_export_row_cap(engine_world: EngineWorld) -> None:
    ctx = replace(engine_world.ctx, config=replace(engine_world.config, export_max_rows=4))
    tl = engine_world.actor("tl1")
    with pytest.raises(ExportTooLarge) as info:
        run_report(ctx, "R92", tl, {}, "csv")
    assert info.value.status == 400 and "höchstens 4" in info.value.message
    assert run_report(ctx, "R92", tl, {}, "html").row_count == 5  # the page is not capped
    ctx = replace(ctx, config=replace(engine_world.config, export_max_rows=5))
    assert run_report(ctx, "R92", tl, {}, "csv").row_count == 5


def test_failure_is_an_incident(engine_world: EngineWorld) -> None:
    ctx = engine_world.ctx
    defn = ctx.catalogue.reports["R92"]
    broken = replace(defn, sql="SELECT secret_column FROM no_such_table WHERE 1 = :days")
    ctx.catalogue.reports["R92"] = broken
    try:
        with pytest.raises(QueryFailed) as info:
            run_report(ctx, "R92", engine_world.actor("ctrl"), {}, "json")
    finally:
        ctx.catalogue.reports["R92"] = defn
    err = info.value
    assert err.status == 500 and err.incident_id in err.message
    assert "no_such_table" not in err.message and "secret" not in err.message
    body = err.to_json()
    assert body["ok"] is False and body["incident_id"] == err.incident_id


def test_timeout(engine_world: EngineWorld) -> None:
    ctx = replace(engine_world.ctx, config=replace(engine_world.config, statement_timeout_ms=50))
    defn = ctx.catalogue.reports["R92"]
    slow = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000000)"
            " SELECT 'x' AS office, COUNT(*) AS elb, 0 AS with_contact, 0 AS days_sum,"
            " 0 AS days_n, 0 AS cost_cents FROM n WHERE :days > 0")
    ctx.catalogue.reports["R92"] = replace(defn, sql=slow)
    try:
        with pytest.raises(QueryFailed) as info:
            run_report(ctx, "R92", engine_world.actor("ctrl"), {}, "json")
    finally:
        ctx.catalogue.reports["R92"] = defn
    assert info.value.timeout
    with ctx.app_db.connect() as conn:
        row = conn.execute(audit_log.select().order_by(audit_log.c.id.desc())).first()
    assert row is not None and row.outcome == "error" and row.message.startswith("Zeitlimit")


def test_no_generation(engine_world: EngineWorld) -> None:
    from opal.casedb.schema import d_meta
    from tests.fixtures.engine import writable_case_engine

    writer = writable_case_engine(engine_world.config)
    with writer.begin() as conn:
        conn.execute(delete(d_meta))
    writer.dispose()
    with pytest.raises(NoData) as info:
        run_report(engine_world.ctx, "R92", engine_world.actor("ctrl"), {}, "json")
    assert info.value.status == 503


def test_unknown_user_actor_is_denied(engine_world: EngineWorld) -> None:
    with pytest.raises(AccessDenied):
        run_report(engine_world.ctx, "R92", Actor("ghost", None), {}, "json")


def test_unsuppressed_rows_hold_exactly_the_visible_columns_in_order() -> None:
    """Every report's rows leave the suppress stage (no disclosure control) with the visible
    columns only, in the definition's order, whether hidden or computed columns were there;
    a date from SQLite's text is a date."""
    from opal.catalogue import load_and_check

    catalogue = load_and_check()
    for defn in catalogue.reports.values():
        raw = {c.key: (3 if c.type in ("int", "decimal", "bool") else
                       "2026-12-01" if c.type == "date" else "x")
               for c in defn.columns if not c.compute}
        rows, suppressed = suppress_rows(defn, shape_rows(defn, [raw]), False)
        assert suppressed == 0
        assert list(rows[0]) == [c.key for c in defn.visible_columns], defn.code
        for col in defn.visible_columns:
            if col.type == "date":
                assert rows[0][col.key] == date(2026, 12, 1), (defn.code, col.key)
