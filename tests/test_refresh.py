"""`opal refresh` publishes a valid export atomically; `opal status` shows what is live.

Covers the happy path, the gates against the live generation (older data date, shrinking
tables), the previous generation kept for rollback, readers across a publish, the lock, the
run record and the command line (exit codes, summary, progress, status output).
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from config import Config
from opal.appdb.schema import refresh_runs
from opal.cli import main
from opal.clock import fixed_clock
from opal.db import app_engine, case_engine, sqlite_path
from opal.refresh import RefreshBusy, RefreshRejected, live_generation, refresh
from tests.conftest import FIXED_NOW
from tests.fixtures.exports import (
    AS_OF,
    EXPORTED_AT,
    base_rows,
    config_env,
    live_snapshot,
    read_rows,
    write_export,
    write_table,
)


def runs(config: Config) -> list[Any]:
    engine = app_engine(config)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(refresh_runs).order_by(refresh_runs.c.id)))
    finally:
        engine.dispose()


def query(config: Config, sql: str) -> list[tuple[Any, ...]]:
    engine = case_engine(config)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def test_refresh_publishes_the_export(config: Config, export_dir: Path) -> None:
    assert live_generation(config) is None
    result = refresh(config, export_dir, clock=fixed_clock(FIXED_NOW))
    assert result.as_of == AS_OF
    assert result.counts["person"] == 12 and result.counts["contact"] == 14
    assert result.total_rows == 121 and result.counts["benefit_payment"] == 4
    live = live_generation(config, counts=True)
    assert live is not None
    assert (live.as_of, live.exported_at, live.published_at) == \
        (AS_OF, EXPORTED_AT, "2026-11-24T06:12:03Z")
    assert live.counts == result.counts
    cheap = live_generation(config)
    assert cheap is not None and cheap.as_of == AS_OF and cheap.counts is None
    # stored forms: day numbers, fte_e4, cost_cents, active_to_day
    ((birth_date, birth_day),) = query(
        config, "SELECT birth_date, birth_day FROM person WHERE customer_no = 'P001'")
    assert (str(birth_date), birth_day) == ("1970-02-28", date(1970, 2, 28).toordinal())
    assert query(config, "SELECT fte_e4 FROM staff ORDER BY staff_id") == \
        [(10000,), (5000,), (7500,), (10000,), (8000,), (1000,), (10000,), (9000,)]
    assert query(config, "SELECT participation_id, cost_cents, active_to_day "
                         "FROM measure_participation WHERE participation_id IN "
                         "('MP01', 'MP04', 'MP08') ORDER BY participation_id") == [
        ("MP01", 120050, date(2026, 12, 31).toordinal()),
        ("MP04", 80000, date(2026, 5, 15).toordinal()),
        ("MP08", None, date(9999, 12, 31).toordinal())]
    assert query(config, "SELECT bg_id, month, month_idx, llu_cents, luh_cents FROM "
                         "benefit_payment WHERE bg_id IN ('B02', 'B04') ORDER BY bg_id") == [
        ("B02", "2026-11", 2026 * 12 + 10, 110468, 68900),
        ("B04", "2025-06", 2025 * 12 + 5, 101200, 0)]
    assert query(config, "SELECT last_name FROM person WHERE customer_no = 'P009'") == \
        [('=Weiß, "Jo" Lena',)]
    (run,) = runs(config)
    assert run.status == "ok" and run.as_of == "2026-11-23" and run.exported_at == EXPORTED_AT
    assert json.loads(run.row_counts) == result.counts
    assert run.published_at is not None and run.finished_at is not None and run.pid


def test_two_refreshes_in_a_row_keep_the_previous_generation(
        config: Config, make_export: Any) -> None:
    refresh(config, make_export("day1"))
    rows = base_rows()
    rows["contact"].append({"contact_id": "C15", "customer_no": "P001", "staff_id": "S01",
                            "contact_date": "2026-11-24", "channel": "TELEFON",
                            "outcome": "WAHRGENOMMEN"})
    result = refresh(config, make_export("day2", rows, as_of="2026-11-24",
                                         exported_at="2026-11-25T01:30:00Z"))
    assert result.counts["contact"] == 15
    live = live_generation(config, counts=True)
    assert live is not None and live.as_of == date(2026, 11, 24) and live.counts == result.counts
    # the previous generation stays for rollback
    if config.case_db_url.startswith("sqlite"):
        prev = sqlite_path(config.case_db_url).with_name("case.db.prev")
        with sqlite3.connect(prev) as db:
            assert db.execute("SELECT count(*) FROM contact").fetchone() == (14,)
        assert not sqlite_path(config.case_db_url).with_name("case.db.next").exists()
    else:
        counted = query(config, f'SELECT count(*) FROM "{config.case_db_schema}_prev".contact')
        assert counted == [(14,)]
    # the same export again is fine (e.g. a re-run after a fix elsewhere)
    assert refresh(config, make_export("day2b", rows, as_of="2026-11-24",
                                       exported_at="2026-11-25T01:30:00Z")).counts == result.counts
    assert [r.status for r in runs(config)] == ["ok", "ok", "ok"]


def test_a_damaged_sqlite_file_counts_as_nothing_live_and_is_replaced(
        sqlite_config: Config, export_dir: Path) -> None:
    live_file = sqlite_path(sqlite_config.case_db_url)
    live_file.write_bytes(b"this is not a database" * 100)
    assert live_generation(sqlite_config) is None
    assert refresh(sqlite_config, export_dir).counts["person"] == 12
    assert live_generation(sqlite_config) is not None


def test_older_data_date_is_rejected(config: Config, make_export: Any) -> None:
    refresh(config, make_export("new", as_of="2026-11-24", exported_at="2026-11-25T01:30:00Z"))
    before = live_snapshot(config)
    with pytest.raises(RefreshRejected) as info:
        refresh(config, make_export("old"))
    assert "manifest.json column as_of: 2026-11-23 is older than the live data date 2026-11-24" \
        in str(info.value)
    assert live_snapshot(config) == before
    assert runs(config)[-1].status == "failed"
    assert "older than the live data date" in runs(config)[-1].message


def test_older_export_of_the_same_data_date_is_rejected(config: Config,
                                                         make_export: Any) -> None:
    refresh(config, make_export("late", exported_at="2026-11-24T03:00:00Z"))
    before = live_snapshot(config)
    with pytest.raises(RefreshRejected) as info:
        refresh(config, make_export("early", exported_at="2026-11-24T01:30:00Z"))
    assert ("manifest.json column exported_at: 2026-11-24T01:30:00Z is older than the live "
            "export of the same data date (2026-11-24T03:00:00Z)") in str(info.value)
    assert live_snapshot(config) == before


def test_shrink_gate(config: Config, make_export: Any, tmp_path: Path) -> None:
    refresh(config, make_export("full"))
    before = live_snapshot(config)
    rows = base_rows()
    rows["contact"] = rows["contact"][:10]  # 14 -> 10: 29 % fewer
    rows["profile"] = rows["profile"][:10]  # 12 -> 10: 17 %, within the limit
    small = make_export("small", rows)
    with pytest.raises(RefreshRejected) as info:
        refresh(config, small)
    message = str(info.value)
    assert "contact.csv: 10 rows against 14 live: shrinks by 29% (limit 20%)" in message
    assert "--accept-shrink" in message
    assert "profile.csv" not in message
    assert live_snapshot(config) == before
    assert refresh(config, small, accept_shrink=True).counts["contact"] == 10


def test_shrink_limit_is_configurable(tmp_path: Path, backend: str, make_export: Any) -> None:
    from tests.conftest import drop_pg_schemas, make_config

    cfg, prefix = make_config(tmp_path, backend, refresh_max_shrink=0.5)
    try:
        refresh(cfg, make_export("full"))
        rows = base_rows()
        rows["contact"] = rows["contact"][:10]
        assert refresh(cfg, make_export("small", rows)).counts["contact"] == 10
    finally:
        if prefix:
            drop_pg_schemas(prefix)


def test_reader_across_a_publish_finishes_on_the_old_generation(
        config: Config, make_export: Any) -> None:
    refresh(config, make_export("day1"))
    sql = "SELECT month FROM d_month ORDER BY month_idx"
    if config.case_db_url.startswith("sqlite"):
        reader: Any = sqlite3.connect(f"file:{sqlite_path(config.case_db_url)}?mode=ro", uri=True)
        cur = reader.execute(sql)
    else:
        reader = psycopg.connect(config.case_db_url.replace("+psycopg", ""))
        reader.execute(f'SET search_path TO "{config.case_db_schema}"')
        cur = reader.cursor(name="in_flight")
        cur.execute(sql)
    assert cur.fetchone() == ("1900-01",)
    # the clock of that later day: a data date after today is refused (issue 20)
    later = fixed_clock(datetime(2026, 12, 24, 6, 0, tzinfo=UTC))
    refresh(config, make_export("day2", as_of="2026-12-23", exported_at="2026-12-24T01:30:00Z"),
            clock=later)
    assert cur.fetchall()[-1] == ("2026-11",)  # the reader in flight finished on the old data
    cur.close()
    reader.close()
    assert query(config, "SELECT max(month) FROM d_month") == [("2026-12",)]


@pytest.fixture
def held_lock(config: Config) -> Iterator[None]:
    with (Path(config.data_dir) / "refresh.lock").open("a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield


def test_second_refresh_is_refused_while_one_runs(config: Config, export_dir: Path,
                                                  held_lock: None) -> None:
    with pytest.raises(RefreshBusy, match="another refresh is running"):
        refresh(config, export_dir)
    assert live_generation(config) is None
    result = CliRunner().invoke(main, ["refresh", str(export_dir)], env=config_env(config))
    assert result.exit_code == 1
    assert "another refresh is running" in result.stderr


@pytest.mark.pg
def test_refresh_from_another_host_is_refused_on_postgresql(tmp_path: Path,
                                                            export_dir: Path) -> None:
    """PostgreSQL only: the advisory lock guards a schema that several hosts may refresh."""
    from tests.conftest import drop_pg_schemas, make_config

    config, prefix = make_config(tmp_path, "pg")
    assert prefix is not None
    try:
        key = f"opal refresh {config.case_db_schema}"
        with psycopg.connect(config.case_db_url.replace("+psycopg", ""),
                             autocommit=True) as other:
            other.execute("SELECT pg_advisory_lock(hashtext(%s))", (key,))
            with pytest.raises(RefreshBusy, match="advisory lock"):
                refresh(config, export_dir)
        assert refresh(config, export_dir).counts["person"] == 12
    finally:
        drop_pg_schemas(prefix)


def test_cli_refresh_and_status(config: Config, export_dir: Path, tmp_path: Path) -> None:
    env = config_env(config)
    runner = CliRunner()
    status = runner.invoke(main, ["status"], env=env)
    assert status.exit_code == 0
    assert "live generation: none yet" in status.stdout
    assert "last failed run: none" in status.stdout

    ok = runner.invoke(main, ["refresh", str(export_dir)], env=env)
    assert ok.exit_code == 0, ok.output
    (line,) = ok.stdout.splitlines()
    assert line.startswith("refresh ok: as_of 2026-11-23, 121 rows in 15 tables, ")
    assert "loading person ..." in ok.stderr and "  person: 12 rows" in ok.stderr
    assert "deriving ..." in ok.stderr and "publishing ..." in ok.stderr

    broken = write_export(tmp_path / "broken")
    rows = read_rows(broken, "person")
    rows[3]["birth_date"] = "2026-13-01"
    write_table(broken, "person", rows)
    bad = runner.invoke(main, ["refresh", str(broken)], env=env)
    assert bad.exit_code == 1
    assert bad.stdout == ""
    assert "rejected, the live data is unchanged" in bad.stderr
    assert "person.csv line 5, column birth_date: '2026-13-01' is not a date (YYYY-MM-DD)" \
        in bad.stderr

    status = runner.invoke(main, ["status"], env=env)
    assert status.exit_code == 0
    out = status.stdout
    assert "live generation: as_of 2026-11-23" in out
    assert f"exported_at:  {EXPORTED_AT}" in out
    assert "published_at: 20" in out
    assert "rows:         121" in out
    assert "    person                        12" in out
    assert "last failed run: " in out and "rejected:" in out
    assert "person.csv line 5, column birth_date: '2026-13-01'" in out


def test_cli_accept_shrink(config: Config, make_export: Any) -> None:
    env = config_env(config)
    runner = CliRunner()
    assert runner.invoke(main, ["refresh", str(make_export("full"))], env=env).exit_code == 0
    rows = base_rows()
    rows["contact"] = rows["contact"][:5]
    small = make_export("small", rows)
    refused = runner.invoke(main, ["refresh", str(small)], env=env)
    assert refused.exit_code == 1 and "shrinks by 64%" in refused.stderr
    accepted = runner.invoke(main, ["refresh", "--accept-shrink", str(small)], env=env)
    assert accepted.exit_code == 0, accepted.output
    live = live_generation(config, counts=True)
    assert live is not None and live.counts is not None and live.counts["contact"] == 5
