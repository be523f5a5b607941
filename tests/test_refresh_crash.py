"""A refresh killed at any stage (SIGKILL) leaves the live data exactly as it was.

The subprocess pauses at a named stage (``OPAL_REFRESH_TEST_PAUSE_AT``) and is killed there; the
next ``status`` or ``refresh`` records the run as failed ("abgebrochen") and the next refresh
cleans up the half-built generation and succeeds.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select as sa_select
from sqlalchemy import text

from config import Config
from opal.appdb.schema import refresh_runs
from opal.cli import main
from opal.db import app_engine, make_engine, sqlite_path
from opal.refresh import refresh
from opal.refresh.publish import PAUSE_ENV
from tests.fixtures.exports import base_rows, config_env, live_snapshot

REPO = Path(__file__).resolve().parents[1]


def start_paused(config: Config, export: Path, stage: str) -> subprocess.Popen[bytes]:
    """Start `opal refresh` in a subprocess and return once it is paused at ``stage``."""
    env = {**os.environ, **config_env(config), PAUSE_ENV: stage}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from opal.cli import main; main()", "refresh", str(export)],
        cwd=REPO, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    seen = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 1)
        if ready:
            chunk = os.read(proc.stderr.fileno(), 4096)
            if not chunk:
                break
            seen += chunk
            if f"PAUSED AT {stage}".encode() in seen:
                return proc
    proc.kill()
    proc.wait()
    raise AssertionError(f"refresh never reached {stage}: {seen.decode(errors='replace')}")


def kill(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.stderr is not None
    proc.stderr.close()


def run_rows(config: Config) -> list[Any]:
    engine = app_engine(config)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa_select(refresh_runs).order_by(refresh_runs.c.id)))
    finally:
        engine.dispose()


def leftover_next(config: Config) -> bool:
    """Is a half-built next generation lying around?"""
    if config.case_db_url.startswith("sqlite"):
        return sqlite_path(config.case_db_url).with_name("case.db.next").exists()
    engine = make_engine(config.case_db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :n"),
                                {"n": config.case_db_schema + "_next"}).first() is not None
    finally:
        engine.dispose()


def newer_export(make_export: Any) -> Path:
    rows = base_rows()
    rows["office"].append({"office_id": "O3", "name": "Jobcenter Weststadt"})
    return make_export("day2", rows, as_of="2026-11-24", exported_at="2026-11-25T01:30:00Z")


@pytest.mark.parametrize("stage", ["load", "derive", "swap"])
def test_killed_refresh_leaves_live_data_and_next_refresh_succeeds(
        config: Config, make_export: Any, stage: str) -> None:
    refresh(config, make_export("day1"))
    before = live_snapshot(config)
    day2 = newer_export(make_export)
    kill(start_paused(config, day2, stage))
    assert live_snapshot(config) == before
    if config.case_db_url.startswith("sqlite") or stage == "swap":
        # (PostgreSQL loads in one transaction: killed before the swap, nothing is left over)
        assert leftover_next(config)
    assert run_rows(config)[-1].status == "running"

    status = CliRunner().invoke(main, ["status"], env=config_env(config))
    assert status.exit_code == 0
    assert "live generation: as_of 2026-11-23" in status.stdout
    assert "last failed run: " in status.stdout and "abgebrochen" in status.stdout
    assert run_rows(config)[-1].status == "failed"

    result = refresh(config, day2)
    assert result.counts["office"] == 3
    assert not leftover_next(config)
    after = live_snapshot(config)
    assert after is not None and after[0].isoformat() == "2026-11-24"
    assert [r.status for r in run_rows(config)] == ["ok", "failed", "ok"]


def test_next_refresh_marks_a_killed_run_failed(config: Config, make_export: Any) -> None:
    day1 = make_export("day1")
    kill(start_paused(config, day1, "load"))
    assert live_snapshot(config) is None
    refresh(config, day1)
    rows = run_rows(config)
    assert [r.status for r in rows] == ["failed", "ok"]
    assert rows[0].message.startswith("abgebrochen")
    assert rows[0].finished_at is not None



def test_killed_at_arbitrary_moments(config: Config, make_export: Any) -> None:
    """Without a hook: whenever the kill lands, live is the old or the complete new generation."""
    refresh(config, make_export("day1"))
    old = live_snapshot(config)
    day2 = newer_export(make_export)
    env = {**os.environ, **config_env(config)}
    new = None
    for delay in (0.3, 0.5, 0.7, 0.9, 1.1, 1.3):
        proc = subprocess.Popen(
            [sys.executable, "-c", "from opal.cli import main; main()", "refresh", str(day2)],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        now = live_snapshot(config)
        assert now is not None
        if now != old:  # it finished before the kill: then it is exactly the new generation
            assert now[0].isoformat() == "2026-11-24" and now[2]["office"] == 3
            new = new or now
            assert now[:3] == new[:3]
    assert refresh(config, day2).counts["office"] == 3
    assert all(r.status in ("ok", "failed") for r in run_rows(config))
