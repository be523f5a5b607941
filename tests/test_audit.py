"""The audit log: one row for every run, denial, invalid call and failure, with exact fields."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from config import Config
from opal.audit import params_json, recent, record
from opal.errors import OpalError
from opal.pipeline import run_report
from tests.fixtures.engine import EngineWorld


def last(world: EngineWorld) -> dict[str, Any]:
    return recent(world.ctx.app_db, 1)[0]


def attempt(world: EngineWorld, code: str, user: str, args: dict[str, str], fmt: str = "json",
            client: str = "cli") -> None:
    try:
        run_report(world.ctx, code, world.actor(user), args, fmt, client=client)
    except OpalError:
        pass


@pytest.mark.parametrize("code,user,args,fmt,outcome,rows,message", [
    ("R91", "cm1", {"n_days": "1"}, "csv", "ok", 7, None),
    ("R92", "ctrl", {}, "json", "ok", 5, None),
    ("R91", "ctrl", {"n_days": "1"}, "json", "denied", None, "Rolle nicht berechtigt"),
    ("R91", "admin", {}, "json", "denied", None, "Rolle nicht berechtigt"),
    ("R91", "cm_gone", {}, "json", "denied", None, "Zuordnung fehlt in den aktuellen Daten"),
    ("R91", "cm1", {"n_days": "0", "_viewer": "T:T1"}, "json", "invalid", None,
     "Parameter: _viewer, n_days"),
    ("R77", "cm1", {}, "json", "invalid", None, "unbekannter Bericht"),
    ("R9\x00<script>", "cm1", {}, "json", "invalid", None, "unbekannter Bericht"),
])
def test_every_call_is_audited(engine_world: EngineWorld, now: datetime, code: str, user: str,
                               args: dict[str, str], fmt: str, outcome: str, rows: int | None,
                               message: str | None) -> None:
    before = len(recent(engine_world.ctx.app_db, 1000))
    attempt(engine_world, code, user, args, fmt, client="10.0.0.7")
    entries = recent(engine_world.ctx.app_db, 1000)
    assert len(entries) == before + 1
    row = entries[0]
    assert {k: row[k] for k in ("username", "role", "action", "report", "format", "outcome",
                                "row_count", "message", "client")} == {
        "username": user, "role": engine_world.actor(user).role, "action": "run",
        "report": code.replace("\x00", "\\u0000")[:40], "format": fmt, "outcome": outcome,
        "row_count": rows,
        "message": message, "client": "10.0.0.7"}
    assert row["ts"] == now.replace(tzinfo=None)
    assert json.loads(row["params"]) == args
    assert row["duration_ms"] >= 0
    # the data date is known once the generation has been read
    expect_as_of = None if message in ("unbekannter Bericht", "Rolle nicht berechtigt") \
        else "2026-11-23"
    assert row["data_as_of"] == expect_as_of


def test_params_are_truncated_and_escaped() -> None:
    raw = params_json({"n_days": "x" * 500, "a\x00b": "\x1b[2J\u202e", "ok": "Müller ＝1"})
    assert raw is not None
    data = json.loads(raw)
    assert data["n_days"] == "x" * 100
    assert data["a\\u0000b"] == "\\u001b[2J\\u202e"
    assert data["ok"] == "Müller ＝1"
    assert params_json(None) is None
    many = params_json({f"k{i}": "v" for i in range(80)})
    assert many is not None and len(json.loads(many)) == 51


def test_record_rejects_unknown_outcome(engine_world: EngineWorld) -> None:
    with pytest.raises(ValueError):
        record(engine_world.ctx.app_db, username="x", role=None, outcome="maybe")


def test_no_personal_data_in_messages(engine_world: EngineWorld) -> None:
    attempt(engine_world, "R91", "cm1", {"n_days": "1"})
    attempt(engine_world, "R92", "ctrl", {"days": "=Summe(A1), Anna"})
    for row in recent(engine_world.ctx.app_db, 10):
        assert "Anna" not in (row["message"] or "")
        assert "K00" not in (row["message"] or "")


def test_an_audit_row_is_on_disk_when_its_commit_returns(sqlite_config: Config) -> None:
    """The SQLite app database keeps its write-ahead log (workers append without blocking
    readers) and syncs it at every commit (FULL, not NORMAL): no audit row lost on power loss."""
    from opal.db import app_engine

    engine = app_engine(sqlite_config)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    engine.dispose()
