"""Refresh faults end to end (security.md §6 tests 21 and 22), on SQLite and PostgreSQL.

tests/test_refresh*.py check each validator message in detail; here every fault goes the whole
way an operator sees it: `opal refresh` exits 1 naming the fault, the live generation is
untouched, the run is recorded failed with that message, `opal status` and /admin/refresh show
it. Also: a report whose generation is swapped while it runs (through ``run_report``) answers
from one generation only.
"""

from __future__ import annotations

import errno
import html as htmllib
import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from config import Config
from opal.access import Actor
from opal.appdb.schema import refresh_runs
from opal.cli import main
from opal.context import Context
from opal.db import sqlite_path
from opal.pipeline import run_report
from opal.refresh import load, refresh
from tests.fixtures.exports import (
    base_rows,
    config_env,
    live_snapshot,
    read_rows,
    write_export,
    write_table,
)
from tests.fixtures.web import Auth, Clock, build_portal, dispose


def truncated(export: Path, _mp: pytest.MonkeyPatch) -> str:
    """The copy of person.csv was cut off mid-line; the manifest is the exporter's."""
    path = export / "person.csv"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return "person.csv: sha256 does not match the manifest"


def missing_column(export: Path, _mp: pytest.MonkeyPatch) -> str:
    rows = read_rows(export, "contact")
    write_table(export, "contact", rows, columns=[c for c in rows[0] if c != "outcome"])
    return "contact.csv line 1, column outcome: column missing from the header"


def changed_checksum(export: Path, _mp: pytest.MonkeyPatch) -> str:
    path = export / "office.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("Nordstadt", "Nordstadf"),
                    encoding="utf-8")
    return "office.csv: sha256 does not match the manifest"


def half_the_rows(export: Path, _mp: pytest.MonkeyPatch) -> str:
    rows = read_rows(export, "contact")
    write_table(export, "contact", rows[: len(rows) // 2])
    return "contact.csv: 7 rows against 14 live: shrinks by 50% (limit 20%)"


def full_disk(_export: Path, mp: pytest.MonkeyPatch) -> str:
    """The disk fills up while the next generation is written (fault injected on its write
    path: the third table's insert fails with ENOSPC, as a full file system would)."""
    real = load.insert_rows
    calls = {"n": 0}

    def insert_rows(conn: Any, table: Any, rows: Any, **options: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(conn, table, rows, **options)

    mp.setattr(load, "insert_rows", insert_rows)
    return "OSError: [Errno 28] No space left on device"


FAULTS: dict[str, Callable[[Path, pytest.MonkeyPatch], str]] = {
    "truncated": truncated, "missing_column": missing_column,
    "changed_checksum": changed_checksum, "half_the_rows": half_the_rows,
    "full_disk": full_disk}


@pytest.fixture
def live_portal(config: Config, clock: Clock) -> Iterator[Flask]:
    """The portal over the published hand-made export (the generation every fault must keep)."""
    app = build_portal(config, clock)
    yield app
    dispose(app)


def no_leftover(config: Config) -> bool:
    if config.case_db_url.startswith("sqlite"):
        return not sqlite_path(config.case_db_url).with_name("case.db.next").exists()
    from sqlalchemy import text

    from opal.db import make_engine

    engine = make_engine(config.case_db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :n"),
                                {"n": config.case_db_schema + "_next"}).first() is None
    finally:
        engine.dispose()


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_keeps_live_data_and_is_shown_to_operator_and_admin(
        config: Config, live_portal: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        fault: str) -> None:
    before = live_snapshot(config)
    assert before is not None
    export = write_export(tmp_path / "next", as_of="2026-11-24",
                          exported_at="2026-11-25T01:30:00Z")
    expected = FAULTS[fault](export, monkeypatch)
    runner, env = CliRunner(), config_env(config)

    result = runner.invoke(main, ["refresh", str(export)], env=env)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert expected in result.stderr
    assert "the live data is unchanged" in result.stderr
    assert live_snapshot(config) == before
    assert no_leftover(config)

    engine = live_portal.extensions["opal"].app_db
    with engine.connect() as conn:
        run = conn.execute(select(refresh_runs).order_by(refresh_runs.c.id.desc())).first()
    assert run is not None
    assert run.status == "failed" and run.finished_at is not None and run.published_at is None
    assert expected in run.message
    assert (run.as_of, run.exported_at) == ("2026-11-24", "2026-11-25T01:30:00Z")

    status = runner.invoke(main, ["status"], env=env)
    assert status.exit_code == 0
    assert "live generation: as_of 2026-11-23" in status.stdout
    assert f"(run {run.id}, " in status.stdout and expected in status.stdout

    admin = live_portal.test_client()
    Auth(admin).login("admin")
    page = htmllib.unescape(admin.get("/admin/refresh").get_data(True))
    assert "Die letzte Datenübernahme ist fehlgeschlagen" in page
    assert f"(Lauf {run.id}," in page and expected in page
    assert "Datenstand: <strong>23.11.2026</strong>" in page  # still the old generation

    # once the export is fixed, the next refresh publishes and the alarm goes away
    monkeypatch.undo()
    fixed = write_export(tmp_path / "fixed", as_of="2026-11-24",
                         exported_at="2026-11-25T01:30:00Z")
    assert runner.invoke(main, ["refresh", str(fixed)], env=env).exit_code == 0
    page = admin.get("/admin/refresh").get_data(True)
    assert "Die letzte Datenübernahme ist fehlgeschlagen" not in page
    assert "Datenstand: <strong>24.11.2026</strong>" in page


def test_a_report_across_a_publish_answers_from_one_generation(
        config: Config, make_export: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The swap lands between the report's first read (d_meta, linkage) and its list query."""
    refresh(config, make_export("day1"))
    rows = base_rows()
    template = next(p for p in rows["person"] if p["customer_no"] == "P001")
    spell = next(s for s in rows["benefit_spell"] if s["customer_no"] == "P001")
    rows["person"].append({**template, "customer_no": "Q0001", "last_name": "Neu"})
    rows["benefit_spell"].append({**spell, "spell_id": "X0001", "customer_no": "Q0001"})
    day2 = make_export("day2", rows, as_of="2026-11-24", exported_at="2026-11-25T01:30:00Z")
    ctx = Context.build(config)
    lead = Actor("tl.nord", "team_lead", None, "T1")
    args = {"n_days": "1"}
    try:
        old = run_report(ctx, "R02", lead, args, "json")
        assert old.as_of == date(2026, 11, 23)
        assert "Q0001" not in [r["customer_no"] for r in old.rows]

        import opal.query

        real = opal.query.parse_params
        swapped: list[bool] = []

        def publish_then_parse(*a: Any, **k: Any) -> Any:
            if not swapped:
                swapped.append(True)
                refresh(config, day2)  # the new generation goes live now
            return real(*a, **k)

        monkeypatch.setattr(opal.query, "parse_params", publish_then_parse)
        during = run_report(ctx, "R02", lead, args, "json")
        assert swapped
        monkeypatch.undo()
        after = run_report(ctx, "R02", lead, args, "json")  # the next request: the new one
        assert after.as_of == date(2026, 11, 24)
        assert "Q0001" in [r["customer_no"] for r in after.rows]
        # one generation, old or new, never the data date of one and the rows of the other
        answers = {(r.as_of, json.dumps(r.rows, default=str)) for r in (old, after)}
        assert (during.as_of, json.dumps(during.rows, default=str)) in answers
    finally:
        ctx.case_db.dispose()
        ctx.app_db.dispose()
